//! An actor cannot publish under another actor's id: an envelope built by
//! hand with `Envelope::new(event, ActorId::new("victim"))` and published
//! through `Context::send` (or `send_child_event`, or `Supervisor::send`)
//! reaches subscribers stamped with the real publisher's id and a fresh
//! event id; only the event and the parent id are taken from it.

mod support;

use maiko::*;
use support::within;
use tokio::sync::mpsc;

#[derive(Event, SelfRouting, Clone, Debug, Hash, PartialEq, Eq)]
enum Msg {
    Trigger,
    Payload,
}

/// What the observer saw of one `Payload`.
#[derive(Debug)]
struct Seen {
    sender: String,
    id: EventId,
    parent: Option<EventId>,
}

/// On `Trigger`, publishes two envelopes forged to come from "victim", and
/// tells the test the ids it forged.
struct Impostor {
    ctx: Context<Msg>,
    forged_ids: mpsc::UnboundedSender<EventId>,
}

impl Actor for Impostor {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        let forged = Envelope::new(Msg::Payload, ActorId::new("victim"));
        let _ = self.forged_ids.send(forged.id());
        self.ctx.send(forged).await?;

        let forged_child = Envelope::new(Msg::Payload, ActorId::new("victim"));
        let _ = self.forged_ids.send(forged_child.id());
        self.ctx.send_child_event(forged_child, envelope.id()).await
    }
}

/// The actor whose name is forged; it publishes nothing.
struct Victim;

impl Actor for Victim {
    type Event = Msg;
}

struct Observer {
    seen: mpsc::UnboundedSender<Seen>,
}

impl Actor for Observer {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        let meta = envelope.meta();
        let _ = self.seen.send(Seen {
            sender: meta.actor_name().to_owned(),
            id: meta.id(),
            parent: meta.parent_id(),
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_the_real_publisher_of_a_forged_envelope() -> Result {
    let (forged_tx, mut forged_ids) = mpsc::unbounded_channel();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Msg, Msg>::default();
    sup.add_actor(
        "impostor",
        |ctx| Impostor {
            ctx,
            forged_ids: forged_tx,
        },
        [Msg::Trigger],
    )?;
    sup.add_actor("victim", |_| Victim, Subscribe::none())?;
    sup.add_actor("observer", |_| Observer { seen: seen_tx }, [Msg::Payload])?;
    sup.start().await?;

    sup.send(Msg::Trigger).await?;
    for (which, expect_parent) in [("send", false), ("send_child_event", true)] {
        let forged_id = within("the impostor", forged_ids.recv()).await.unwrap();
        let payload = within("the observer", seen.recv()).await.unwrap();
        assert_eq!(
            payload.sender, "impostor",
            "{which}: sender as stamped by the runtime"
        );
        assert_ne!(
            payload.id, forged_id,
            "{which}: the runtime gives a fresh event id"
        );
        assert_eq!(
            payload.parent.is_some(),
            expect_parent,
            "{which}: parent id kept"
        );
    }

    // The supervisor cannot publish as an actor either.
    sup.send(Envelope::new(Msg::Payload, ActorId::new("impostor")))
        .await?;
    let payload = within("the observer", seen.recv()).await.unwrap();
    assert_eq!(payload.sender, "supervisor");

    sup.stop().await
}

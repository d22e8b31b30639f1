//! An actor that stops itself with `Context::stop` while the runtime keeps
//! running takes no new events, but handles everything already in its
//! mailbox, then runs `on_shutdown` once and ends; the other actors keep
//! running and the runtime is not stopping.
//!
//! The quitter holds `Job(0)` in its handler while `Quit` and `Job(1)` to
//! `Job(5)` queue up behind it; a second subscriber, registered after it,
//! confirms they were routed (the broker delivers in registration order).

mod support;

use maiko::*;
use support::{Door, Log, within};
use tokio::sync::{mpsc, oneshot};

#[derive(Event, Clone, Debug, PartialEq)]
enum Msg {
    Job(u32),
    Quit,
}

struct Quitter {
    ctx: Context<Msg>,
    log: Log,
    door: Door,
    ended: Option<oneshot::Sender<()>>,
}

impl Actor for Quitter {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        match envelope.event() {
            Msg::Job(0) => self.door.pass().await,
            Msg::Quit => self.ctx.stop()?,
            Msg::Job(_) => {}
        }
        self.log
            .push(format!("quitter handled {:?}", envelope.event()));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("quitter on_shutdown");
        if let Some(ended) = self.ended.take() {
            let _ = ended.send(());
        }
        Ok(())
    }
}

struct Bystander {
    seen: mpsc::UnboundedSender<Msg>,
}

impl Actor for Bystander {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        let _ = self.seen.send(envelope.event().clone());
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_actor_handles_its_mailbox_while_others_keep_running() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let (ended_tx, ended) = oneshot::channel();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Msg>::default();
    let (quitter_log, quitter_door) = (log.clone(), door.clone());
    sup.add_actor(
        "quitter",
        move |ctx| Quitter {
            ctx,
            log: quitter_log,
            door: quitter_door,
            ended: Some(ended_tx),
        },
        [DefaultTopic],
    )?;
    sup.add_actor(
        "bystander",
        move |_| Bystander { seen: seen_tx },
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();

    let queued = [
        Msg::Job(0),
        Msg::Quit,
        Msg::Job(1),
        Msg::Job(2),
        Msg::Job(3),
        Msg::Job(4),
        Msg::Job(5),
    ];
    sup.send(Msg::Job(0)).await?;
    door.arrivals(1).await;
    for msg in &queued[1..] {
        sup.send(msg.clone()).await?;
    }
    for msg in &queued {
        assert_eq!(
            within("the bystander", seen.recv()).await.as_ref(),
            Some(msg)
        );
    }
    door.open();

    within("the quitter's on_shutdown", ended).await.unwrap();
    let mut expected: Vec<String> = queued
        .iter()
        .map(|m| format!("quitter handled {m:?}"))
        .collect();
    expected.push("quitter on_shutdown".to_owned());
    assert_eq!(log.entries(), expected, "whole mailbox, then on_shutdown");

    // The rest of the runtime is still running.
    assert!(!handle.is_stopping());
    for n in 6..8 {
        sup.send(Msg::Job(n)).await?;
        assert_eq!(
            within("the bystander", seen.recv()).await,
            Some(Msg::Job(n))
        );
    }

    let report = sup.shutdown().await;
    assert_eq!(
        log.entries(),
        expected,
        "nothing reached the quitter after it ended"
    );
    let quitter = report.actor("quitter").unwrap();
    assert_eq!(quitter.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!((quitter.routed, quitter.handled), (7, 7), "{report}");
    assert_eq!(report.actor("bystander").unwrap().handled, 9, "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

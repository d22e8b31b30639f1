//! The `Recorder` monitor writes the event flow as JSON Lines in maiko
//! 0.3's shape (`meta` with a numeric `id`, `timestamp`, `actor_id` and
//! `parent_id`, then `event`), plus `receiver` and `topic`; `Recording`
//! loads the file back into the harness's queries, and they give the same
//! answers as the live harness.
#![cfg(all(feature = "recorder", feature = "test-harness"))]

use std::collections::BTreeSet;

use maiko::{
    monitors::Recorder,
    testing::{Harness, Recording},
    *,
};
use serde::{Deserialize, Serialize};

#[derive(Event, Label, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Msg {
    Ping(u32),
    Pong(u32),
}

struct Echo {
    ctx: Context<Msg>,
}

impl Actor for Echo {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        if let Msg::Ping(n) = *envelope.event() {
            self.ctx
                .send_child_event(Msg::Pong(n), envelope.id())
                .await?;
        }
        Ok(())
    }
}

struct Listener;

impl Actor for Listener {
    type Event = Msg;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_loads_back_into_the_same_queries() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("flow.jsonl");

    let mut sup = Supervisor::<Msg>::default();
    let echo = sup.add_actor("echo", |ctx| Echo { ctx }, [DefaultTopic])?;
    let listener = sup.add_actor("listener", |_| Listener, [DefaultTopic])?;
    sup.monitors().add(Recorder::new(&path)?).await;
    let mut test = Harness::new(&mut sup).await;
    sup.start().await?;
    let client = ActorId::new("client");
    let mut pings = Vec::new();
    for n in 0..5 {
        pings.push(test.send_as(&client, Msg::Ping(n)).await?);
    }
    test.settle().await;
    // The recorder's file is complete once the supervisor has stopped.
    sup.stop().await?;

    // The shape of a line.
    let text = std::fs::read_to_string(&path)?;
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert!(first["meta"]["id"].is_number(), "{first}");
    assert!(first["meta"]["timestamp"].is_number(), "{first}");
    assert_eq!(first["meta"]["actor_id"], "client", "{first}");
    assert!(first["meta"]["parent_id"].is_null(), "{first}");
    assert!(first["event"]["Ping"].is_number(), "{first}");
    assert_eq!(first["topic"], "default", "{first}");

    // The same entries, loaded back.
    let recording: Recording<Msg, DefaultTopic> = Recording::load(&path)?;
    let entries = |deliveries: Vec<testing::EventEntry<Msg, DefaultTopic>>| {
        deliveries
            .iter()
            .map(|e| {
                (
                    e.id(),
                    e.sender().clone(),
                    e.receiver().clone(),
                    format!("{:?}", e.payload()),
                )
            })
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(recording.len(), test.event_count());
    assert_eq!(
        entries(recording.events().all_deliveries()),
        entries(test.events().all_deliveries())
    );
    for &ping in &pings {
        assert!(recording.event(ping).was_delivered_to(&echo));
        assert!(
            recording
                .chain(ping)
                .actors()
                .exact(&[&client, &echo, &listener])
        );
        assert_eq!(recording.event(ping).children().count(), 1);
    }
    assert_eq!(recording.events().with_label("Pong").count(), 5);
    let flow = recording.flow().to_mermaid();
    assert!(flow.contains("echo") && flow.contains("listener"), "{flow}");
    Ok(())
}

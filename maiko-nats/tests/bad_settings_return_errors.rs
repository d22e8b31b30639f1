//! Unusable settings are errors from `attach`, never panics, and nothing
//! is registered on the supervisor when they are refused. No server is
//! needed: a client connecting in the background is enough to build the
//! bridges.

use std::time::Duration;

use maiko::*;
use maiko_nats::{
    Error, Inbound, Outbound, RetryPolicy,
    async_nats::{
        self,
        jetstream::{self, consumer::AckPolicy, consumer::pull},
    },
};
use serde::{Deserialize, Serialize};

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Note(u32);

/// A JetStream context whose client connects in the background, to a port
/// where nothing listens.
async fn jetstream() -> jetstream::Context {
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect("127.0.0.1:9")
        .await
        .expect("retrying in the background, the connect returns at once");
    jetstream::new(client)
}

fn subject(_: &Note) -> String {
    "NOTES.any".to_owned()
}

fn is_invalid(result: Result<impl std::fmt::Debug, Error>, needle: &str) {
    match result {
        Err(Error::InvalidConfig(what)) => assert!(what.contains(needle), "{what}"),
        other => panic!("expected InvalidConfig mentioning {needle:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn outbound_settings_are_checked() {
    let js = jetstream().await;
    let mut sup = Supervisor::<Note>::default();
    is_invalid(
        Outbound::new(js.clone(), subject)
            .with_max_in_flight(0)
            .attach(&mut sup, [DefaultTopic]),
        "with_max_in_flight(0)",
    );
    is_invalid(
        Outbound::new(js.clone(), subject)
            .with_retry(RetryPolicy::default().with_max_attempts(0))
            .attach(&mut sup, [DefaultTopic]),
        "with_max_attempts(0)",
    );
    is_invalid(
        Outbound::new(js.clone(), subject)
            .with_retry(
                RetryPolicy::default()
                    .with_backoff(Duration::from_secs(10), Duration::from_secs(1)),
            )
            .attach(&mut sup, [DefaultTopic]),
        "exceeds the cap",
    );
    // Nothing was registered: the default name is still free.
    Outbound::new(js.clone(), subject)
        .attach(&mut sup, [DefaultTopic])
        .expect("usable settings");
    // A second bridge needs a name of its own.
    match Outbound::new(js, subject).attach(&mut sup, [DefaultTopic]) {
        Err(Error::Runtime(maiko::Error::DuplicateActorName(name))) => {
            assert_eq!(name.as_str(), "nats-out");
        }
        other => panic!("expected a duplicate name, got {other:?}"),
    }
}

#[tokio::test]
async fn inbound_settings_are_checked() {
    let mut sup = Supervisor::<Note>::default();
    let inbound = || Inbound::<Note>::new("NOTES", "readers");
    is_invalid(inbound().with_batch(0).attach(&mut sup), "with_batch(0)");
    is_invalid(
        inbound().with_max_in_flight(0).attach(&mut sup),
        "with_max_in_flight(0)",
    );
    is_invalid(
        inbound().with_dedup_window(0).attach(&mut sup),
        "with_dedup_window(0)",
    );
    is_invalid(
        inbound()
            .with_pull_expiry(Duration::from_millis(1))
            .attach(&mut sup),
        "with_pull_expiry",
    );
    is_invalid(
        inbound()
            .with_ack_confirmation(Duration::ZERO, 3)
            .attach(&mut sup),
        "with_ack_confirmation",
    );
    is_invalid(
        Inbound::<Note>::new("", "readers").attach(&mut sup),
        "need names",
    );
    let acking_all = pull::Config {
        ack_policy: AckPolicy::All,
        ..Default::default()
    };
    assert!(matches!(
        inbound().with_consumer_config(acking_all).attach(&mut sup),
        Err(Error::NotExplicitAck { .. })
    ));

    let bridge = inbound().attach(&mut sup).expect("usable settings");
    assert_eq!(bridge.actor_id().as_str(), "nats-in:readers");
}

#[tokio::test]
async fn a_started_supervisor_takes_no_bridge() {
    let js = jetstream().await;
    let mut sup = Supervisor::<Note>::default();
    sup.start().await.unwrap();
    assert!(matches!(
        Outbound::new(js, subject).attach(&mut sup, [DefaultTopic]),
        Err(Error::Runtime(maiko::Error::BrokerAlreadyStarted))
    ));
    assert!(matches!(
        Inbound::<Note>::new("NOTES", "readers").attach(&mut sup),
        Err(Error::Runtime(maiko::Error::BrokerAlreadyStarted))
    ));
    sup.stop().await.unwrap();
}

#[tokio::test]
async fn a_bridge_on_a_supervisor_never_started_reports_nothing_done() {
    let js = jetstream().await;
    let mut sup = Supervisor::<Note>::default();
    let bridge = Outbound::new(js, subject)
        .attach(&mut sup, [DefaultTopic])
        .unwrap();
    drop(sup);
    let report = bridge.finished().await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.published, 0);
}

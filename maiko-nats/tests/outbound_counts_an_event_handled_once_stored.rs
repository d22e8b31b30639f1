//! The outbound bridge counts an event as handled only once the stream has
//! acknowledged it: the message carries the event's id as `Nats-Msg-Id`;
//! while the server is away the event stays unhandled and is retried with
//! the same id, and stored once; a permanent refusal fails the event (it
//! counts as lost, never handled) and is named in the report; and at the
//! shutdown deadline, what is still unconfirmed is named.

mod support;

use std::{future::Future, time::Duration};

use maiko::*;
use maiko_nats::{Outbound, OutboundHandle, RetryPolicy};
use serde::{Deserialize, Serialize};
use support::{NatsServer, connect, make_stream, stored, within};

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Reading {
    sensor: u32,
    padding: String,
}

fn reading(sensor: u32, padding: usize) -> Reading {
    Reading {
        sensor,
        padding: "x".repeat(padding),
    }
}

async fn bridged(
    jetstream: &async_nats::jetstream::Context,
    config: SupervisorConfig,
) -> (Supervisor<Reading>, OutboundHandle) {
    let mut sup = Supervisor::<Reading>::new(config);
    let bridge = Outbound::new(jetstream.clone(), |r: &Reading| {
        format!("READINGS.{}", r.sensor)
    })
    .with_retry(
        RetryPolicy::default().with_backoff(Duration::from_millis(20), Duration::from_millis(200)),
    )
    .attach(&mut sup, [DefaultTopic])
    .unwrap();
    sup.start().await.unwrap();
    (sup, bridge)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn handled_once_stored_under_the_event_id_and_retried_with_it() {
    let mut server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "READINGS").await;
    let (sup, bridge) = bridged(&jetstream, SupervisorConfig::default()).await;

    let first = within(
        "the delivery",
        sup.send_tracked(reading(1, 8)).await.unwrap(),
    )
    .await;
    assert!(first.is_handled(), "{first:?}");
    assert_eq!(bridge.stats().confirmed, 1);

    // The server goes away: an event published now is not handled until
    // the stream has it.
    server.kill();
    let mut second = sup.send_tracked(reading(2, 8)).await.unwrap();
    assert!(
        still_pending(&mut second).await,
        "handled while the server was down"
    );
    server.restart();
    let second = within("the delivery after the restart", second).await;
    assert!(second.is_handled(), "{second:?}");

    let report = within("the stop", sup.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let sent = bridge.finished().await;
    assert!(sent.is_clean(), "{sent}");
    assert_eq!(sent.stats.published, 2, "{sent}");
    assert_eq!(sent.stats.confirmed, 2, "{sent}");

    let stored = stored(&jetstream, "READINGS").await;
    let ids: Vec<Option<String>> = stored.iter().map(|(_, id, _)| id.clone()).collect();
    assert_eq!(
        ids,
        [
            Some(first.event.to_string()),
            Some(second.event.to_string())
        ],
        "each event stored once, under its own id"
    );
    assert_eq!(stored[1].0, "READINGS.2");
}

/// Whether the delivery is still pending (polled once).
async fn still_pending(delivery: &mut Delivery) -> bool {
    std::future::poll_fn(|cx| {
        std::task::Poll::Ready(std::pin::Pin::new(&mut *delivery).poll(cx).is_pending())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn a_refused_publish_is_lost_and_reported_never_handled() {
    let server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "READINGS".into(),
            subjects: vec!["READINGS.>".into()],
            max_message_size: 256,
            ..Default::default()
        })
        .await
        .unwrap();
    let (sup, bridge) = bridged(&jetstream, SupervisorConfig::default()).await;

    let too_big = within(
        "the delivery",
        sup.send_tracked(reading(1, 1000)).await.unwrap(),
    )
    .await;
    assert_eq!((too_big.handled, too_big.lost), (0, 1), "{too_big:?}");
    let fits = within(
        "the delivery",
        sup.send_tracked(reading(2, 8)).await.unwrap(),
    )
    .await;
    assert!(fits.is_handled(), "{fits:?}");

    let report = within("the stop", sup.shutdown()).await;
    let actor = report.actor("nats-out").unwrap();
    assert_eq!((actor.handled, actor.lost), (1, 1), "{report}");
    let sent = bridge.finished().await;
    assert!(!sent.is_clean(), "{sent}");
    assert_eq!((sent.stats.failed, sent.stats.confirmed), (1, 1), "{sent}");
    assert_eq!(sent.failed.len(), 1, "{sent}");
    assert_eq!(sent.failed[0].event, too_big.event, "{sent}");
    assert_eq!(sent.failed[0].subject, "READINGS.1", "{sent}");
    assert_eq!(stored(&jetstream, "READINGS").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn the_deadline_names_the_events_still_unconfirmed() {
    let mut server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "READINGS").await;
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(Duration::from_millis(500))
        .with_shutdown_grace(Duration::from_millis(200));
    let (sup, bridge) = bridged(&jetstream, config).await;

    server.kill();
    let mut deliveries = Vec::new();
    for sensor in 0..3 {
        deliveries.push(sup.send_tracked(reading(sensor, 8)).await.unwrap());
    }
    let report = within("the stop", sup.shutdown()).await;
    assert!(report.deadline_hit, "{report}");
    let actor = report.actor("nats-out").unwrap();
    assert_eq!((actor.handled, actor.abandoned), (0, 3), "{report}");

    let sent = bridge.finished().await;
    let mut abandoned = Vec::new();
    for delivery in deliveries {
        let outcome = within("an abandoned delivery", delivery).await;
        assert_eq!(outcome.abandoned, 1, "{outcome:?}");
        abandoned.push(outcome.event);
    }
    abandoned.sort_unstable();
    assert_eq!(sent.unconfirmed, abandoned, "{sent}");
    assert!(!sent.is_clean());
    assert_eq!(sent.stats.in_flight, 0, "{sent}");
}

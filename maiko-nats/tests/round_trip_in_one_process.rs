//! Two supervisors connected through a stream: everything the producing
//! one accepted is handled by the consuming one, once, and the stream and
//! consumer end with nothing pending. The consuming side also bridges the
//! same subjects out, and does not echo what it received.

mod support;

use std::{collections::HashSet, sync::Arc, time::Duration};

use maiko::*;
use maiko_nats::{Inbound, Outbound};
use serde::{Deserialize, Serialize};
use support::{NEEDS_SERVER, NatsServer, connect, consumer_backlog, make_stream, within};
use tokio::sync::{Mutex, Notify};

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Parcel(u64);

/// Records what it handled and says when it has seen `expected` parcels.
struct Receiver {
    seen: Arc<Mutex<Vec<u64>>>,
    expected: usize,
    all_in: Arc<Notify>,
}

impl Actor for Receiver {
    type Event = Parcel;

    async fn handle_event(&mut self, envelope: &Envelope<Parcel>) -> Result {
        let mut seen = self.seen.lock().await;
        seen.push(envelope.event().0);
        if seen.len() == self.expected {
            self.all_in.notify_one();
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn every_accepted_event_crosses_once() {
    let _ = NEEDS_SERVER;
    let server = NatsServer::start();
    let (client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "PARCELS").await;
    const COUNT: u64 = 2_000;

    // The consuming side: inbound, a receiver, and an outbound bridge on
    // the same subjects (which must not publish what came in).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let all_in = Arc::new(Notify::new());
    let mut consuming = Supervisor::<Parcel>::default();
    let (seen_by, notify) = (Arc::clone(&seen), Arc::clone(&all_in));
    consuming
        .add_actor(
            "receiver",
            move |_| Receiver {
                seen: seen_by,
                expected: COUNT as usize,
                all_in: notify,
            },
            [DefaultTopic],
        )
        .unwrap();
    let inbound = Inbound::new("PARCELS", "receivers")
        .attach(&mut consuming)
        .unwrap();
    let echo = Outbound::new(jetstream.clone(), |_: &Parcel| "PARCELS.echo".to_owned())
        .attach(&mut consuming, [DefaultTopic])
        .unwrap();
    consuming.start().await.unwrap();
    let inbound = inbound.bind(&jetstream).await.unwrap();
    let pulling = tokio::spawn(inbound.run());

    // The producing side.
    let mut producing = Supervisor::<Parcel>::default();
    let outbound = Outbound::new(jetstream.clone(), |p: &Parcel| {
        format!("PARCELS.{}", p.0 % 4)
    })
    .with_max_in_flight(64)
    .attach(&mut producing, [DefaultTopic])
    .unwrap();
    producing.start().await.unwrap();
    for n in 0..COUNT {
        producing.send(Parcel(n)).await.unwrap();
    }
    let report = within("the producer's stop", producing.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let sent = outbound.finished().await;
    assert!(sent.is_clean(), "{sent}");
    assert_eq!(sent.stats.confirmed, COUNT, "{sent}");
    assert_eq!(sent.stats.duplicates, 0, "{sent}");

    within("every parcel to arrive", all_in.notified()).await;
    let report = within("the consumer's stop", consuming.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let received = within("the inbound bridge", pulling).await.unwrap();
    assert!(received.is_clean(), "{received}");
    assert_eq!(received.stats.acked, COUNT, "{received}");
    let echoed = echo.finished().await;
    assert_eq!(echoed.stats.published, 0, "{echoed}");
    assert_eq!(echoed.stats.skipped_inbound, COUNT, "{echoed}");

    let seen = seen.lock().await.clone();
    let distinct: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(seen.len(), COUNT as usize, "handled twice");
    assert_eq!(distinct, (0..COUNT).collect(), "a parcel is missing");
    // One producer, one stream, one consumer process: in order.
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "out of order");
    assert_eq!(
        consumer_backlog(&jetstream, "PARCELS", "receivers").await,
        (0, 0)
    );
    client.flush().await.unwrap();
    let _ = Duration::ZERO;
}

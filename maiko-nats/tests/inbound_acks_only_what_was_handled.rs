//! The inbound bridge acknowledges a message only after every subscriber
//! handled its event; gives back (nak) what was not handled, and what the
//! gate refused during a shutdown, at once; acknowledges redeliveries of
//! what it handled without delivering them twice; terminates payloads it
//! cannot decode (after storing a copy on the dead-letter subject, when
//! one is set); keeps every message it holds alive, whether it is being
//! handled or waiting for room in the supervisor; and holds so few that a
//! stop handles at most `max_in_flight` more messages.

mod support;

use std::{sync::Arc, time::Duration};

use async_nats::jetstream::{self, message::PublishMessage};
use maiko::*;
use maiko_nats::{Inbound, InboundHandle, InboundReport};
use serde::{Deserialize, Serialize};
use support::{NatsServer, connect, consumer_backlog, make_consumer, make_stream, within};
use tokio::sync::{Semaphore, mpsc};

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
struct Task(u32);

/// What a handler does with a task.
#[derive(Clone)]
enum Behaviour {
    /// Handle it at once.
    Handle,
    /// Wait for a permit first (the test hands them out).
    WaitFor(Arc<Semaphore>),
    /// Fail the first attempt of each task (through a deferred
    /// completion), handle the next.
    FailFirst,
    /// Take this long (simulated work).
    Slow(Duration),
}

struct Worker {
    ctx: Context<Task>,
    behaviour: Behaviour,
    seen: mpsc::UnboundedSender<u32>,
    failed: std::collections::HashSet<u32>,
}

impl Actor for Worker {
    type Event = Task;

    async fn handle_event(&mut self, envelope: &Envelope<Task>) -> Result {
        let task = envelope.event().0;
        let _ = self.seen.send(task);
        match &self.behaviour {
            Behaviour::Handle => {}
            Behaviour::WaitFor(permits) => {
                permits.acquire().await.expect("open").forget();
            }
            Behaviour::FailFirst => {
                if self.failed.insert(task) {
                    self.ctx.defer().fail("first attempt fails");
                }
            }
            Behaviour::Slow(work) => tokio::time::sleep(*work).await,
        }
        Ok(())
    }
}

struct Consuming {
    sup: Supervisor<Task>,
    max_in_flight: usize,
    handle: InboundHandle,
    pulling: tokio::task::JoinHandle<InboundReport>,
    seen: mpsc::UnboundedReceiver<u32>,
}

async fn consuming(
    jetstream: &jetstream::Context,
    behaviour: Behaviour,
    settings: impl FnOnce(Inbound<Task>) -> Inbound<Task>,
) -> Consuming {
    consuming_with(jetstream, SupervisorConfig::default(), behaviour, settings).await
}

async fn consuming_with(
    jetstream: &jetstream::Context,
    config: SupervisorConfig,
    behaviour: Behaviour,
    settings: impl FnOnce(Inbound<Task>) -> Inbound<Task>,
) -> Consuming {
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Task>::new(config);
    sup.add_actor(
        "worker",
        move |ctx| Worker {
            ctx,
            behaviour,
            seen: seen_tx,
            failed: Default::default(),
        },
        [DefaultTopic],
    )
    .unwrap();
    let inbound = settings(Inbound::new("TASKS", "workers"))
        .attach(&mut sup)
        .unwrap();
    let max_in_flight = inbound.max_in_flight();
    sup.start().await.unwrap();
    let consumer = inbound.bind(jetstream).await.unwrap();
    let handle = consumer.handle();
    let pulling = tokio::spawn(consumer.run());
    Consuming {
        sup,
        max_in_flight,
        handle,
        pulling,
        seen,
    }
}

impl Consuming {
    async fn next_seen(&mut self) -> u32 {
        within("a task to reach the worker", self.seen.recv())
            .await
            .expect("the worker lives")
    }

    async fn stop(self) -> (ShutdownReport, InboundReport) {
        let report = within("the stop", self.sup.shutdown()).await;
        let inbound = within("the inbound bridge", self.pulling).await.unwrap();
        (report, inbound)
    }
}

async fn publish(jetstream: &jetstream::Context, id: &str, payload: Vec<u8>) -> bool {
    let ack = jetstream
        .send_publish(
            "TASKS.new",
            PublishMessage::build()
                .payload(payload.into())
                .message_id(id),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    !ack.duplicate
}

fn task(n: u32) -> Vec<u8> {
    serde_json::to_vec(&Task(n)).unwrap()
}

async fn setup() -> (NatsServer, async_nats::Client, jetstream::Context) {
    let server = NatsServer::start();
    let (client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "TASKS").await;
    make_consumer(&jetstream, "TASKS", "workers", Duration::from_secs(30)).await;
    (server, client, jetstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn a_message_is_acked_after_its_handler_returns_not_before() {
    let (_server, _client, jetstream) = setup().await;
    let permits = Arc::new(Semaphore::new(0));
    let mut side = consuming(&jetstream, Behaviour::WaitFor(Arc::clone(&permits)), |i| i).await;

    publish(&jetstream, "t1", task(1)).await;
    assert_eq!(side.next_seen().await, 1);
    // The handler is holding the task: delivered, not acknowledged.
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 1)
    );
    permits.add_permits(1);
    let (report, inbound) = side.stop().await;
    assert!(report.is_clean(), "{report}");
    assert!(inbound.is_clean(), "{inbound}");
    assert_eq!((inbound.stats.delivered, inbound.stats.acked), (1, 1));
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn what_was_not_handled_comes_again() {
    let (_server, _client, jetstream) = setup().await;
    let mut side = consuming(&jetstream, Behaviour::FailFirst, |i| i).await;

    publish(&jetstream, "t1", task(1)).await;
    assert_eq!(side.next_seen().await, 1, "the first attempt");
    assert_eq!(side.next_seen().await, 1, "the redelivery");
    let (_, inbound) = side.stop().await;
    assert_eq!(
        (inbound.stats.nacked, inbound.stats.acked),
        (1, 1),
        "{inbound}"
    );
    assert_eq!(inbound.stats.duplicates, 0, "{inbound}");
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn refused_during_the_shutdown_is_given_back_at_once() {
    let (_server, _client, jetstream) = setup().await;
    let permits = Arc::new(Semaphore::new(0));
    // A pull that stays out long after the stop, so that a message
    // published during the drain reaches this process.
    let mut side = consuming(&jetstream, Behaviour::WaitFor(Arc::clone(&permits)), |i| {
        i.with_pull_expiry(Duration::from_secs(5))
    })
    .await;
    publish(&jetstream, "t1", task(1)).await;
    assert_eq!(side.next_seen().await, 1);

    // Stop while the handler holds task 1: the drain waits for it, and
    // task 2 arrives meanwhile.
    let handle = side.sup.handle();
    handle.request_stop();
    publish(&jetstream, "t2", task(2)).await;
    permits.add_permits(1);
    let watch = side.handle.clone();
    let (report, inbound) = side.stop().await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        (inbound.stats.acked, inbound.stats.refused),
        (1, 1),
        "{inbound}"
    );
    assert_eq!(watch.report().as_ref(), Some(&inbound));
    // Task 2 is back on the server, not waiting for an ack wait to expire
    // (the server holds it back only for what is left of the pull that
    // was out, so that it does not bounce back to the stopping process).
    let (pending, awaiting_ack) = consumer_backlog(&jetstream, "TASKS", "workers").await;
    assert_eq!(pending + awaiting_ack as u64, 1);

    // Another process takes it.
    let mut next = consuming(&jetstream, Behaviour::Handle, |i| i).await;
    assert_eq!(next.next_seen().await, 2);
    let (_, inbound) = next.stop().await;
    assert_eq!(inbound.stats.acked, 1, "{inbound}");
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn copies_of_a_handled_message_are_acked_not_delivered() {
    let server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    // A short duplicate window, so that the stream stores a second copy
    // under the same id, as after a publisher's very late retry.
    jetstream
        .create_stream(async_nats::jetstream::stream::Config {
            name: "TASKS".into(),
            subjects: vec!["TASKS.>".into()],
            duplicate_window: Duration::from_millis(100),
            ..Default::default()
        })
        .await
        .unwrap();
    make_consumer(&jetstream, "TASKS", "workers", Duration::from_secs(30)).await;

    async fn store_copy(jetstream: &jetstream::Context) {
        // Retried until the stream's window has passed and it stores the
        // copy instead of discarding it.
        while !publish(jetstream, "same", task(7)).await {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    // Two copies before the consumer starts: the second arrives while the
    // first is being handled.
    store_copy(&jetstream).await;
    store_copy(&jetstream).await;
    let mut side = consuming(&jetstream, Behaviour::Handle, |i| i).await;
    assert_eq!(side.next_seen().await, 7);
    // A third copy after the first was handled: the window knows it.
    store_copy(&jetstream).await;
    publish(&jetstream, "other", task(8)).await;
    assert_eq!(side.next_seen().await, 8, "a copy of 7 was delivered again");

    let (_, inbound) = side.stop().await;
    assert_eq!(
        (inbound.stats.acked, inbound.stats.duplicates),
        (2, 2),
        "{inbound}"
    );
    assert_eq!(inbound.stats.delivered, 2, "{inbound}");
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn an_undecodable_payload_is_terminated() {
    let (_server, _client, jetstream) = setup().await;
    let mut side = consuming(&jetstream, Behaviour::Handle, |i| i).await;
    publish(&jetstream, "garbage", b"not json".to_vec()).await;
    publish(&jetstream, "t3", task(3)).await;
    assert_eq!(side.next_seen().await, 3);
    let (_, inbound) = side.stop().await;
    assert_eq!(
        (inbound.stats.undecodable, inbound.stats.acked),
        (1, 1),
        "{inbound}"
    );
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn an_undecodable_payload_goes_to_the_dead_letter_subject_first() {
    let (_server, _client, jetstream) = setup().await;
    make_stream(&jetstream, "DEAD").await;
    let mut side = consuming(&jetstream, Behaviour::Handle, |i| {
        i.with_dead_letter_subject("DEAD.tasks")
    })
    .await;
    publish(&jetstream, "garbage", b"not json".to_vec()).await;
    publish(&jetstream, "t3", task(3)).await;
    assert_eq!(side.next_seen().await, 3);
    let (_, inbound) = side.stop().await;
    assert_eq!(
        (
            inbound.stats.undecodable,
            inbound.stats.dead_lettered,
            inbound.stats.acked
        ),
        (1, 1, 1),
        "{inbound}"
    );
    assert!(inbound.is_clean(), "{inbound}");
    // Terminated on its stream, stored on the dead-letter subject with why
    // and where from.
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
    let dead = jetstream.get_stream("DEAD").await.unwrap();
    let copy = dead.get_raw_message(1).await.expect("the dead letter");
    assert_eq!(copy.subject.as_str(), "DEAD.tasks");
    assert_eq!(&copy.payload[..], b"not json");
    let header = |name: &str| copy.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(
        header(maiko_nats::DEAD_LETTER_SUBJECT).as_deref(),
        Some("TASKS.new")
    );
    let reason = header(maiko_nats::DEAD_LETTER_REASON).expect("a reason header");
    assert!(reason.contains("expected"), "the codec's error: {reason}");
    assert_eq!(dead.get_info().await.unwrap().state.messages, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn a_handler_slower_than_the_ack_wait_causes_no_redelivery() {
    let server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "TASKS").await;
    let ack_wait = Duration::from_millis(900);
    make_consumer(&jetstream, "TASKS", "workers", ack_wait).await;
    let mut side = consuming(&jetstream, Behaviour::Slow(ack_wait * 3), |i| i).await;

    publish(&jetstream, "t1", task(1)).await;
    assert_eq!(side.next_seen().await, 1);
    let (_, inbound) = side.stop().await;
    assert_eq!(
        (
            inbound.stats.received,
            inbound.stats.acked,
            inbound.stats.duplicates
        ),
        (1, 1, 0),
        "the server delivered it again: {inbound}"
    );
    let consumer: jetstream::consumer::PullConsumer = jetstream
        .get_stream("TASKS")
        .await
        .unwrap()
        .get_consumer("workers")
        .await
        .unwrap();
    assert_eq!(consumer.cached_info().num_redelivered, 0);
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn messages_waiting_for_room_in_the_supervisor_are_kept_alive() {
    let server = NatsServer::start();
    let (_client, jetstream) = connect(&server).await;
    make_stream(&jetstream, "TASKS").await;
    let ack_wait = Duration::from_secs(1);
    make_consumer(&jetstream, "TASKS", "workers", ack_wait).await;
    for n in 1..=6 {
        publish(&jetstream, &format!("t{n}"), task(n)).await;
    }
    // Room for one event in the broker's channel and one in the mailbox,
    // a handler slower than half the ack wait, six messages in flight: the
    // last ones wait in the bridge for longer than the ack wait before
    // they are even published.
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(1)
        .with_default_actor_channel_capacity(1);
    let work = Duration::from_millis(700);
    let mut side = consuming_with(&jetstream, config, Behaviour::Slow(work), |i| {
        i.with_max_in_flight(6)
    })
    .await;
    for _ in 1..=6 {
        side.next_seen().await;
    }
    let (report, inbound) = side.stop().await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        (
            inbound.stats.received,
            inbound.stats.acked,
            inbound.stats.duplicates
        ),
        (6, 6, 0),
        "the server delivered some again: {inbound}"
    );
    assert!(inbound.is_clean(), "{inbound}");
    assert_eq!(
        consumer_backlog(&jetstream, "TASKS", "workers").await,
        (0, 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs nats-server: apt-get install nats-server"]
async fn a_stop_handles_at_most_max_in_flight_more_messages() {
    let (_server, _client, jetstream) = setup().await;
    const TASKS: u32 = 100;
    for n in 1..=TASKS {
        publish(&jetstream, &format!("t{n}"), task(n)).await;
    }
    // The bridge's bound follows the mailboxes: 8 here.
    let config = SupervisorConfig::default().with_default_actor_channel_capacity(8);
    let work = Duration::from_millis(100);
    let mut side = consuming_with(&jetstream, config, Behaviour::Slow(work), |i| i).await;
    let max_in_flight = side.max_in_flight;
    assert_eq!(max_in_flight, 8, "the default is the mailbox capacity");
    for _ in 0..3 {
        side.next_seen().await;
    }
    let stop_asked = std::time::Instant::now();
    side.sup.handle().request_stop();
    let mut seen = side.seen;
    let (report, inbound) = {
        let rest = Consuming {
            seen: mpsc::unbounded_channel().1,
            ..side
        };
        rest.stop().await
    };
    let stop_took = stop_asked.elapsed();
    let mut after_stop = 0;
    while seen.try_recv().is_ok() {
        after_stop += 1;
    }
    let handled = 3 + after_stop;
    println!(
        "stop with {max_in_flight} in flight and {work:?} handlers: {after_stop} handled after \
         the stop, in {stop_took:?}; {inbound}"
    );
    assert!(report.is_clean(), "{report}");
    assert!(inbound.is_clean(), "{inbound}");
    assert!(
        after_stop <= max_in_flight,
        "{after_stop} messages handled after the stop, more than the {max_in_flight} in flight"
    );
    assert_eq!(inbound.stats.acked, handled as u64, "{inbound}");
    // The documented bound: max_in_flight x the handler's time, plus the
    // pull still out (read to its end: at most the pull expiry, 1 s).
    let bound = work * max_in_flight as u32 + Duration::from_secs(1);
    assert!(
        stop_took < bound * 3,
        "the stop took {stop_took:?}, the documented bound is {bound:?}"
    );
    // The rest is back on the server, for another consumer.
    let (pending, awaiting_ack) = consumer_backlog(&jetstream, "TASKS", "workers").await;
    assert_eq!(
        pending + awaiting_ack as u64,
        u64::from(TASKS) - handled as u64
    );
}

//! In a four-stage pipeline (a source producing from `step()`, then three
//! forwarding stages), stopping in the middle of a burst loses nothing:
//! every item the source's publish accepted reaches the last stage, in the
//! order it was accepted (guarantees G1 and G4 of the `maiko::shutdown` guide through three hops of the
//! drain).
//!
//! The last stage holds the first item until the stop has been requested,
//! and the stop comes only once the source has had `IN_FLIGHT` items
//! accepted: so at the stop every one of them is still somewhere in the
//! pipeline (small mailboxes spread them over every stage), and all of them
//! must travel up to three hops during the drain.

mod support;

use std::sync::{Arc, Mutex};

use maiko::*;
use support::{Door, within};
use tokio::sync::Notify;

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Stage {
    First,
    Second,
    Third,
}

#[derive(Event, Clone, Debug)]
struct Item {
    stage: Stage,
    seq: u64,
}

impl Topic<Item> for Stage {
    fn from_event(item: &Item) -> Self {
        item.stage
    }
}

/// Items the source must have had accepted before the stop is requested.
/// Small enough to fit in the pipeline while the last stage holds item 0.
const IN_FLIGHT: usize = 20;

/// Publishes `Item { seq }` for seq = 0, 1, 2, … from `step()`, and records
/// the seqs whose publish returned `Ok`.
struct Source {
    ctx: Context<Item>,
    next: u64,
    accepted: Arc<Mutex<Vec<u64>>>,
    in_flight: Arc<Notify>,
}

impl Actor for Source {
    type Event = Item;

    async fn step(&mut self) -> Result<StepAction> {
        let item = Item {
            stage: Stage::First,
            seq: self.next,
        };
        match self.ctx.send(item).await {
            Ok(()) => {
                let mut accepted = self.accepted.lock().unwrap();
                accepted.push(self.next);
                if accepted.len() == IN_FLIGHT {
                    self.in_flight.notify_one();
                }
                self.next += 1;
                Ok(StepAction::Continue)
            }
            Err(Error::Stopping) => Ok(StepAction::Never),
            Err(other) => Err(other),
        }
    }
}

/// Forwards each item to the next stage.
struct Forwarder {
    ctx: Context<Item>,
    to: Stage,
}

impl Actor for Forwarder {
    type Event = Item;

    async fn handle_event(&mut self, envelope: &Envelope<Item>) -> Result {
        let item = Item {
            stage: self.to,
            seq: envelope.event().seq,
        };
        self.ctx.send_child_event(item, envelope.id()).await
    }
}

/// The last stage: holds item 0 at the door, records every seq it receives.
struct Sink {
    received: Arc<Mutex<Vec<u64>>>,
    door: Door,
}

impl Actor for Sink {
    type Event = Item;

    async fn handle_event(&mut self, envelope: &Envelope<Item>) -> Result {
        let seq = envelope.event().seq;
        if seq == 0 {
            self.door.pass().await;
        }
        self.received.lock().unwrap().push(seq);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_accepted_item_reaches_the_last_stage_in_order() -> Result {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let received = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(Notify::new());
    let door = Door::new();

    let config = SupervisorConfig::default()
        .with_default_actor_channel_capacity(4)
        .with_broker_channel_capacity(4);
    let mut sup = Supervisor::<Item, Stage>::new(config);
    let (source_accepted, source_in_flight) = (Arc::clone(&accepted), Arc::clone(&in_flight));
    sup.add_actor(
        "source",
        |ctx| Source {
            ctx,
            next: 0,
            accepted: source_accepted,
            in_flight: source_in_flight,
        },
        Subscribe::none(),
    )?;
    sup.add_actor(
        "first",
        |ctx| Forwarder {
            ctx,
            to: Stage::Second,
        },
        [Stage::First],
    )?;
    sup.add_actor(
        "second",
        |ctx| Forwarder {
            ctx,
            to: Stage::Third,
        },
        [Stage::Second],
    )?;
    let (sink_received, sink_door) = (Arc::clone(&received), door.clone());
    sup.add_actor(
        "last",
        |_| Sink {
            received: sink_received,
            door: sink_door,
        },
        [Stage::Third],
    )?;
    sup.start().await?;

    door.arrivals(1).await;
    within("the source to fill the pipeline", in_flight.notified()).await;
    let handle = sup.handle();
    handle.request_stop();
    assert!(
        received.lock().unwrap().is_empty(),
        "all in flight at the stop"
    );
    door.open();
    let report = sup.shutdown().await;

    let accepted = accepted.lock().unwrap().clone();
    let received = received.lock().unwrap().clone();
    assert!(accepted.len() >= IN_FLIGHT, "{} accepted", accepted.len());
    assert_eq!(
        received.len(),
        accepted.len(),
        "accepted by the source vs received by the last stage\n{report}"
    );
    assert_eq!(received, accepted, "same items, same order");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

//! Monitoring never loses a record: 100,000 events, each routed under
//! `Block` to two subscribers, through a monitor behind a monitoring queue
//! of only 16 records, so the actors keep waiting for the monitor. Every
//! copy is reported dispatched, delivered and handled exactly once, in that
//! order, and the shutdown report counts no lost record.
#![cfg(feature = "monitoring")]

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use maiko::{monitoring::Monitor, *};

#[derive(Event, Clone, Debug)]
struct Tick;

struct Quiet;

impl Actor for Quiet {
    type Event = Tick;
}

const EVENTS: u32 = 100_000;
const SUBSCRIBERS: usize = 2;

/// Per copy (event, receiver), the last stage reported: 1 dispatched,
/// 2 delivered, 3 handled; and every report out of that order.
#[derive(Clone, Default)]
struct Ledger {
    stages: Arc<Mutex<HashMap<(EventId, ActorId), u8>>>,
    out_of_order: Arc<Mutex<Vec<String>>>,
}

impl Ledger {
    fn advance(&self, id: EventId, receiver: &ActorId, stage: u8) {
        let mut stages = self.stages.lock().unwrap();
        let last = stages.entry((id, receiver.clone())).or_insert(0);
        if *last + 1 != stage {
            self.out_of_order
                .lock()
                .unwrap()
                .push(format!("{id} to {receiver}: stage {stage} after {last}"));
        }
        *last = stage;
    }
}

impl Monitor<Tick> for Ledger {
    fn on_event_dispatched(&self, envelope: &Envelope<Tick>, _: &DefaultTopic, receiver: &ActorId) {
        self.advance(envelope.id(), receiver, 1);
    }

    fn on_event_delivered(&self, envelope: &Envelope<Tick>, _: &DefaultTopic, receiver: &ActorId) {
        self.advance(envelope.id(), receiver, 2);
    }

    fn on_event_handled(&self, envelope: &Envelope<Tick>, _: &DefaultTopic, receiver: &ActorId) {
        self.advance(envelope.id(), receiver, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_events_leave_every_record_with_the_monitor() -> Result {
    let config = SupervisorConfig::default()
        .with_monitoring_channel_capacity(16)
        .with_default_actor_channel_capacity(8);
    let mut sup = Supervisor::<Tick>::new(config);
    for i in 0..SUBSCRIBERS {
        sup.add_actor(&format!("quiet{i}"), |_| Quiet, [DefaultTopic])?;
    }
    let ledger = Ledger::default();
    sup.monitors().add(ledger.clone()).await;
    sup.start().await?;

    for _ in 0..EVENTS {
        sup.send(Tick).await?;
    }
    let report = sup.shutdown().await;

    assert!(report.is_clean(), "{report}");
    assert_eq!(report.monitor_records_lost, 0, "{report}");
    let out_of_order = ledger.out_of_order.lock().unwrap();
    assert!(
        out_of_order.is_empty(),
        "{:?}",
        &out_of_order[..out_of_order.len().min(5)]
    );
    let stages = ledger.stages.lock().unwrap();
    assert_eq!(stages.len(), EVENTS as usize * SUBSCRIBERS);
    let not_handled = stages.values().filter(|&&stage| stage != 3).count();
    assert_eq!(not_handled, 0, "copies not reported handled");
    Ok(())
}

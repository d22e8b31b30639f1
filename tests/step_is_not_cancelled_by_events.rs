//! A `step()` that awaits something runs to completion even when events
//! arrive meanwhile: the events wait in the mailbox until the step returns.
//!
//! Each step takes 100 ms of (paused, virtual) time. While it is in
//! progress the test publishes five events and waits until they have been
//! routed; a second subscriber, registered after the stepper, confirms that
//! (the broker delivers to subscribers in registration order). Then steps
//! entered must equal steps completed, and no event may have been handled
//! while a step was in progress.

mod support;

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use maiko::*;
use support::within;
use tokio::sync::{Notify, mpsc};

#[derive(Event, Clone, Debug)]
struct Tick(u32);

const ROUNDS: u32 = 3;
const EVENTS_PER_ROUND: u32 = 5;
const STEP_TIME: Duration = Duration::from_millis(100);

#[derive(Default)]
struct Counts {
    steps_entered: AtomicU32,
    steps_completed: AtomicU32,
    handled: AtomicU32,
    handled_during_a_step: AtomicU32,
    all_handled: Notify,
}

struct Stepper {
    counts: Arc<Counts>,
    step_entered: mpsc::UnboundedSender<u32>,
}

impl Actor for Stepper {
    type Event = Tick;

    async fn step(&mut self) -> Result<StepAction> {
        let entered = self.counts.steps_entered.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.step_entered.send(entered);
        tokio::time::sleep(STEP_TIME).await; // simulated work
        let completed = self.counts.steps_completed.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(if completed == ROUNDS {
            StepAction::Never
        } else {
            StepAction::Continue
        })
    }

    async fn handle_event(&mut self, _envelope: &Envelope<Tick>) -> Result {
        let counts = &self.counts;
        if counts.steps_entered.load(Ordering::SeqCst)
            != counts.steps_completed.load(Ordering::SeqCst)
        {
            counts.handled_during_a_step.fetch_add(1, Ordering::SeqCst);
        }
        if counts.handled.fetch_add(1, Ordering::SeqCst) + 1 == ROUNDS * EVENTS_PER_ROUND {
            counts.all_handled.notify_one();
        }
        Ok(())
    }
}

/// Tells the test which events the broker has routed.
struct Witness {
    seen: mpsc::UnboundedSender<u32>,
}

impl Actor for Witness {
    type Event = Tick;

    async fn handle_event(&mut self, envelope: &Envelope<Tick>) -> Result {
        let _ = self.seen.send(envelope.event().0);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn events_arriving_during_a_step_wait_until_it_returns() -> Result {
    let counts = Arc::new(Counts::default());
    let (entered_tx, mut step_entered) = mpsc::unbounded_channel();
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Tick>::default();
    let stepper_counts = Arc::clone(&counts);
    sup.add_actor(
        "stepper",
        move |_| Stepper {
            counts: stepper_counts,
            step_entered: entered_tx,
        },
        [DefaultTopic],
    )?;
    sup.add_actor(
        "witness",
        move |_| Witness { seen: seen_tx },
        [DefaultTopic],
    )?;
    sup.start().await?;

    for round in 0..ROUNDS {
        let step = within("a step to start", step_entered.recv()).await;
        assert_eq!(step, Some(round + 1));
        for i in 0..EVENTS_PER_ROUND {
            sup.send(Tick(round * EVENTS_PER_ROUND + i)).await?;
        }
        for i in 0..EVENTS_PER_ROUND {
            let routed = within("the witness", seen.recv()).await;
            assert_eq!(routed, Some(round * EVENTS_PER_ROUND + i));
        }
        assert_eq!(
            counts.steps_completed.load(Ordering::SeqCst),
            round,
            "the events reached the mailbox while step {} was in progress",
            round + 1
        );
    }
    within("every event to be handled", counts.all_handled.notified()).await;
    let report = sup.shutdown().await;

    assert_eq!(
        counts.steps_entered.load(Ordering::SeqCst),
        ROUNDS,
        "{report}"
    );
    assert_eq!(
        counts.steps_completed.load(Ordering::SeqCst),
        ROUNDS,
        "{report}"
    );
    assert_eq!(
        counts.handled_during_a_step.load(Ordering::SeqCst),
        0,
        "events were handled while a step was suspended"
    );
    assert!(report.is_clean(), "{report}");
    assert_eq!(
        report.actor("stepper").unwrap().handled,
        u64::from(ROUNDS * EVENTS_PER_ROUND)
    );
    Ok(())
}

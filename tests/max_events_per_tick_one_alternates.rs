//! `max_events_per_tick` is honoured for every value from 1 up: with a limit
//! of N and a `step()` that always wants to run again, at most N events are
//! handled between two steps. With 1 the actor alternates strictly between
//! one event and one step.
//!
//! Thirty events are waiting in the mailbox when the actor starts; the actor
//! writes `E` per event and `S` per step into a shared trace.

mod support;

use std::sync::{Arc, Mutex};

use maiko::*;
use support::within;
use tokio::sync::Notify;

#[derive(Event, Clone, Debug)]
struct Job;

const TOTAL: usize = 30;

#[derive(Default)]
struct Trace {
    events_and_steps: Mutex<String>,
    all_handled: Notify,
}

impl Trace {
    fn handled(&self) -> usize {
        self.events_and_steps.lock().unwrap().matches('E').count()
    }
}

struct Busy {
    trace: Arc<Trace>,
}

impl Actor for Busy {
    type Event = Job;

    async fn handle_event(&mut self, _envelope: &Envelope<Job>) -> Result {
        self.trace.events_and_steps.lock().unwrap().push('E');
        if self.trace.handled() == TOTAL {
            self.trace.all_handled.notify_one();
        }
        Ok(())
    }

    async fn step(&mut self) -> Result<StepAction> {
        self.trace.events_and_steps.lock().unwrap().push('S');
        Ok(if self.trace.handled() == TOTAL {
            StepAction::Never
        } else {
            StepAction::Continue
        })
    }
}

/// Runs `TOTAL` queued events through an actor with this limit; returns the
/// trace.
async fn trace_with_limit(limit: usize) -> Result<String> {
    let trace = Arc::new(Trace::default());
    let mut sup = Supervisor::<Job>::default();
    let busy_trace = Arc::clone(&trace);
    sup.build_actor("busy", move |_| Busy { trace: busy_trace })
        .topics([DefaultTopic])
        .with_config(|c| c.with_max_events_per_tick(limit))
        .build()?;
    for _ in 0..TOTAL {
        sup.send(Job).await?; // waits in the supervisor's channel until start
    }
    sup.start().await?;
    within("every event to be handled", trace.all_handled.notified()).await;
    sup.stop().await?;
    let trace = trace.events_and_steps.lock().unwrap().clone();
    Ok(trace)
}

/// Lengths of the runs of events between steps.
fn runs_of_events(trace: &str) -> Vec<usize> {
    trace
        .split('S')
        .map(str::len)
        .filter(|&run| run > 0)
        .collect()
}

fn assert_limit_honoured(trace: &str, limit: usize) {
    let runs = runs_of_events(trace);
    assert_eq!(runs.iter().sum::<usize>(), TOTAL, "trace {trace}");
    assert!(
        runs.iter().all(|&run| run <= limit),
        "more than {limit} events between two steps: trace {trace}"
    );
    assert_eq!(
        runs.iter().max(),
        Some(&limit),
        "events were waiting, so the limit is reached: trace {trace}"
    );
    assert!(
        trace.ends_with('S'),
        "a step follows the last event: trace {trace}"
    );
}

#[tokio::test]
async fn a_limit_of_one_alternates_event_and_step() -> Result {
    let trace = trace_with_limit(1).await?;
    assert_limit_honoured(&trace, 1);
    assert!(
        !trace.contains("EE"),
        "two events without a step between: {trace}"
    );
    Ok(())
}

#[tokio::test]
async fn a_limit_of_three_handles_at_most_three_between_steps() -> Result {
    let trace = trace_with_limit(3).await?;
    assert_limit_honoured(&trace, 3);
    Ok(())
}

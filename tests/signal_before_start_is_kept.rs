//! `SupervisorHandle::stop_on_signal`, taken at the top of `main`: a SIGTERM
//! that arrives while the service is still setting up (before
//! `run_until_signal` is called, before `start`) does not kill the process;
//! it requests the stop, and the supervisor, once run, drains what it had
//! accepted and ends at once with a clean report.
//!
//! One test in this binary: it signals its own process.

#![cfg(unix)]

mod support;

use maiko::*;
use support::{Tally, within};

#[derive(Event, Clone, Debug)]
struct Job;

struct Worker {
    handled: Tally,
}

impl Actor for Worker {
    type Event = Job;

    async fn handle_event(&mut self, _: &Envelope<Job>) -> Result {
        self.handled.add_one();
        Ok(())
    }
}

#[tokio::test]
async fn a_sigterm_during_setup_starts_the_same_drain() -> Result {
    let mut sup = Supervisor::<Job>::default();
    let handle = sup.handle();
    handle.stop_on_signal();
    // Accepted before the signal: it must be handled all the same.
    sup.send(Job).await?;

    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    within("the signal to request the stop", handle.stopping()).await;

    // The rest of the setup goes on; publishing is refused from now on.
    let handled = Tally::new();
    let counted = handled.clone();
    sup.add_actor(
        "worker",
        move |_| Worker { handled: counted },
        [DefaultTopic],
    )?;
    assert!(sup.send(Job).await.is_err());

    let report = within("run_until_signal to end", sup.run_until_signal()).await;
    assert!(report.is_clean(), "{report}");
    let worker = report.actor("worker").expect("worker");
    assert_eq!((worker.routed, worker.handled), (1, 1), "{report}");
    handled.reaches(1).await;
    assert_eq!(report.rejected, 1);
    Ok(())
}

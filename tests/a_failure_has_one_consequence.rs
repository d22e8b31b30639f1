//! What an actor failing for good does, the same everywhere: a panic goes
//! through `on_error` (which may swallow it); a failure that is propagated
//! stops the supervisor under `join`, `run_until_signal` and in a group,
//! draining the rest and reporting it, unless
//! `SupervisorConfig::with_stop_on_failure(false)` keeps the rest running;
//! and a supervisor started with no actors runs until it is stopped.

mod support;

use maiko::*;
use support::{Tally, poll_once, send_until_refused, until, within};

#[derive(Event, Clone, Debug)]
struct Order(u32);

/// Panics on order 3; swallows the panic if `forgiving`.
struct Ledger {
    forgiving: bool,
    handled: Tally,
}

impl Actor for Ledger {
    type Event = Order;

    async fn handle_event(&mut self, envelope: &Envelope<Order>) -> Result {
        if envelope.event().0 == 3 {
            panic!("order 3 is poison");
        }
        self.handled.add_one();
        Ok(())
    }

    fn on_error(&mut self, error: Error) -> Result {
        match error {
            Error::Panicked(_) if self.forgiving => Ok(()),
            other => Err(other),
        }
    }
}

/// Counts every order.
struct Audit {
    handled: Tally,
}

impl Actor for Audit {
    type Event = Order;

    async fn handle_event(&mut self, _: &Envelope<Order>) -> Result {
        self.handled.add_one();
        Ok(())
    }
}

fn supervisor(config: SupervisorConfig, forgiving: bool) -> (Supervisor<Order>, Tally, Tally) {
    let mut sup = Supervisor::<Order>::new(config);
    let (ledger, audit) = (Tally::new(), Tally::new());
    let handled = ledger.clone();
    sup.add_actor(
        "ledger",
        move |_| Ledger { forgiving, handled },
        [DefaultTopic],
    )
    .expect("ledger");
    let handled = audit.clone();
    sup.add_actor("audit", move |_| Audit { handled }, [DefaultTopic])
        .expect("audit");
    (sup, ledger, audit)
}

#[tokio::test]
async fn a_panic_goes_through_on_error_which_may_swallow_it() -> Result {
    let (mut sup, ledger, _) = supervisor(SupervisorConfig::default(), true);
    sup.start().await?;
    for n in 1..=5 {
        sup.send(Order(n)).await?;
    }
    ledger.reaches(4).await;
    let report = sup.shutdown().await;
    let actor = report.actor("ledger").expect("ledger");
    assert_eq!(
        (actor.routed, actor.handled, actor.lost),
        (5, 5, 0),
        "{report}"
    );
    assert_eq!(actor.outcome, ActorOutcome::Completed, "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test]
async fn a_failure_stops_the_supervisor_under_join() {
    let (sup, _, _) = supervisor(SupervisorConfig::default(), false);
    let handle = sup.handle();
    let joined = tokio::spawn(sup.join());
    // Refused once the failure has stopped the supervisor.
    send_until_refused(&handle, (1..=5).map(Order)).await;
    let result = within("join to end after the failure", joined)
        .await
        .expect("join task");
    assert!(
        matches!(&result, Err(Error::ActorFailed { actor, .. }) if actor.as_str() == "ledger"),
        "{result:?}"
    );
    let report = handle.stopped().await;
    let ledger = report.actor("ledger").expect("ledger");
    assert!(matches!(
        ledger.outcome,
        ActorOutcome::Failed(Error::Panicked(_))
    ));
    // The rest drained: every order the audit was routed, it handled.
    let audit = report.actor("audit").expect("audit");
    assert_eq!(audit.handled, audit.routed, "{report}");
    assert!(
        report.actors.iter().all(ActorReport::is_balanced),
        "{report}"
    );
}

#[tokio::test]
async fn a_failure_stops_the_supervisor_under_run_until_signal() {
    let (sup, _, _) = supervisor(SupervisorConfig::default(), false);
    let handle = sup.handle();
    let running = tokio::spawn(sup.run_until_signal());
    // Refused once the failure has stopped the supervisor.
    send_until_refused(&handle, (1..=5).map(Order)).await;
    let report = within("run_until_signal to end after the failure", running)
        .await
        .expect("run task");
    let ledger = report.actor("ledger").expect("ledger");
    assert!(
        matches!(ledger.outcome, ActorOutcome::Failed(Error::Panicked(_))),
        "{report}"
    );
    assert!(!report.is_clean());
}

#[tokio::test]
async fn a_failure_stops_the_whole_group() -> Result {
    let (member, _, _) = supervisor(SupervisorConfig::default(), false);
    let mut group = ShutdownGroup::new();
    let orders = group.add("orders", member);
    let (quiet, _, _) = supervisor(SupervisorConfig::default(), true);
    group.add("quiet", quiet);
    let handle = group.handle();
    group.start().await?;
    // Refused once the failure has stopped the supervisor.
    send_until_refused(&orders, (1..=5).map(Order)).await;
    let report = within("the group to stop after the failure", handle.stopped()).await;
    let (_, orders_report) = &report.members[0];
    let ledger = orders_report.actor("ledger").expect("ledger");
    assert!(
        matches!(ledger.outcome, ActorOutcome::Failed(_)),
        "{report:?}"
    );
    // The other member was stopped too, with nothing of its own to drain.
    assert!(report.members[1].1.is_clean(), "{report:?}");
    Ok(())
}

#[tokio::test]
async fn with_stop_on_failure_false_the_rest_keeps_running() -> Result {
    let config = SupervisorConfig::default().with_stop_on_failure(false);
    let (sup, _, audit) = supervisor(config, false);
    let handle = sup.handle();
    let mut joined = Box::pin(sup.join());
    assert!(poll_once(&mut joined).await.is_pending());
    for n in 1..=10 {
        handle.send(Order(n)).await.expect("still running");
    }
    audit.reaches(10).await;
    // The ledger's task has ended, failed: the failure has been announced
    // (before the ending is recorded), so a stop would be on its way.
    until("the ledger to have failed", || {
        let state = handle.snapshot().actor("ledger")?.state.clone();
        matches!(state, ActorState::Ended(ActorOutcome::Failed(_))).then_some(())
    })
    .await;
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(!handle.is_stopping(), "the failure stopped the supervisor");
    assert!(poll_once(&mut joined).await.is_pending());
    handle.send(Order(11)).await.expect("still running");
    handle.request_stop();
    let result = within("join to end after the stop", joined).await;
    assert!(
        matches!(result, Err(Error::ActorFailed { .. })),
        "{result:?}"
    );
    let report = handle.stopped().await;
    let ledger = report.actor("ledger").expect("ledger");
    // Orders 1 and 2 handled, 3 lost to the panic, the rest lost to the
    // failed actor: counted, never silent.
    assert_eq!((ledger.routed, ledger.handled), (11, 2), "{report}");
    assert_eq!(ledger.lost, 9, "{report}");
    assert_eq!(report.actor("audit").expect("audit").handled, 11);
    Ok(())
}

#[tokio::test]
async fn a_supervisor_started_empty_runs_until_stopped() -> Result {
    let sup = Supervisor::<Order>::default();
    let handle = sup.handle();
    let mut joined = Box::pin(sup.join());
    for _ in 0..100 {
        assert!(poll_once(&mut joined).await.is_pending());
        tokio::task::yield_now().await;
    }
    assert!(!handle.is_stopping());
    handle.request_stop();
    within("an empty supervisor to stop", joined).await?;
    assert!(handle.stopped().await.is_clean());
    Ok(())
}

//! Unusable input is answered with the documented `Error` variant, never a
//! panic: zero channel capacities (`ZeroCapacity`, naming the setting), a
//! zero events-per-tick limit (`InvalidConfig`), a duplicate or empty actor
//! name (`DuplicateActorName`, `EmptyActorName`, also for a name of only
//! whitespace), and registering or
//! starting after `start()` (`BrokerAlreadyStarted`). A registration that
//! is refused by `add_actor` does not call the factory, and the supervisor
//! stays usable after a refused registration.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use maiko::*;

#[derive(Event, Clone, Debug)]
struct Job;

struct Worker;

impl Actor for Worker {
    type Event = Job;
}

/// A factory that records whether it was called.
fn factory(called: &Arc<AtomicBool>) -> impl FnOnce(Context<Job>) -> Worker {
    let called = Arc::clone(called);
    move |_| {
        called.store(true, Ordering::SeqCst);
        Worker
    }
}

/// Every entry point of a supervisor built with `config` reports `expected`.
async fn assert_config_refused(config: SupervisorConfig, expected: Error) {
    assert_eq!(config.validate(), Err(expected.clone()));
    assert_eq!(
        Supervisor::<Job>::try_new(config.clone()).err(),
        Some(expected.clone())
    );

    let mut sup = Supervisor::<Job>::new(config);
    let called = Arc::new(AtomicBool::new(false));
    assert_eq!(
        sup.add_actor("worker", factory(&called), [DefaultTopic]),
        Err(expected.clone())
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "factory called for a refused actor"
    );
    assert_eq!(sup.send(Job).await, Err(expected.clone()));
    assert_eq!(sup.start().await, Err(expected.clone()));
    // Stopping a supervisor that could never start says why, too.
    assert_eq!(sup.stop().await, Err(expected.clone()));
}

#[tokio::test]
async fn zero_broker_channel_capacity_is_refused() {
    let config = SupervisorConfig::default().with_broker_channel_capacity(0);
    assert_config_refused(config, Error::ZeroCapacity("broker_channel_capacity")).await;
}

#[tokio::test]
async fn zero_default_actor_channel_capacity_is_refused() {
    let config = SupervisorConfig::default().with_default_actor_channel_capacity(0);
    assert_config_refused(
        config,
        Error::ZeroCapacity("default_actor_channel_capacity"),
    )
    .await;
}

#[tokio::test]
async fn zero_default_max_events_per_tick_is_refused() {
    let config = SupervisorConfig::default().with_default_max_events_per_tick(0);
    let error = config.validate().unwrap_err();
    assert!(matches!(error, Error::InvalidConfig(_)), "{error:?}");
    assert_config_refused(config, error).await;
}

#[tokio::test]
async fn zero_actor_channel_capacity_is_refused_by_build() -> Result {
    let mut sup = Supervisor::<Job>::default();
    let refused = sup
        .build_actor("worker", |_| Worker)
        .topics([DefaultTopic])
        .channel_capacity(0)
        .build();
    assert_eq!(refused, Err(Error::ZeroCapacity("channel_capacity")));
    let refused = sup
        .build_actor("worker", |_| Worker)
        .with_config(|c| c.with_channel_capacity(0))
        .build();
    assert_eq!(refused, Err(Error::ZeroCapacity("channel_capacity")));

    // Nothing was registered: the name is still free.
    sup.add_actor("worker", |_| Worker, [DefaultTopic])?;
    sup.start().await?;
    sup.stop().await
}

#[tokio::test]
async fn zero_actor_max_events_per_tick_is_refused_by_build() -> Result {
    let mut sup = Supervisor::<Job>::default();
    let refused = sup
        .build_actor("worker", |_| Worker)
        .topics([DefaultTopic])
        .with_config(|c| c.with_max_events_per_tick(0))
        .build();
    assert!(
        matches!(refused, Err(Error::InvalidConfig(_))),
        "{refused:?}"
    );
    sup.start().await?;
    sup.stop().await
}

#[tokio::test]
async fn duplicate_actor_name_is_refused() -> Result {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("worker", |_| Worker, [DefaultTopic])?;

    let called = Arc::new(AtomicBool::new(false));
    assert_eq!(
        sup.add_actor("worker", factory(&called), [DefaultTopic]),
        Err(Error::DuplicateActorName(ActorId::new("worker")))
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "factory called for a refused actor"
    );
    assert_eq!(
        sup.build_actor("worker", |_| Worker).build(),
        Err(Error::DuplicateActorName(ActorId::new("worker")))
    );

    sup.add_actor("other", |_| Worker, [DefaultTopic])?;
    sup.start().await?;
    sup.stop().await
}

#[tokio::test]
async fn empty_actor_name_is_refused() -> Result {
    let mut sup = Supervisor::<Job>::default();
    let called = Arc::new(AtomicBool::new(false));
    assert_eq!(
        sup.add_actor("", factory(&called), [DefaultTopic]),
        Err(Error::EmptyActorName)
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "factory called for a refused actor"
    );
    assert_eq!(
        sup.build_actor("", |_| Worker)
            .topics([DefaultTopic])
            .build(),
        Err(Error::EmptyActorName)
    );
    for blank in [" ", "\t", " \n "] {
        assert_eq!(
            sup.add_actor(blank, factory(&called), [DefaultTopic]),
            Err(Error::EmptyActorName),
            "{blank:?}"
        );
    }
    assert!(
        !called.load(Ordering::SeqCst),
        "factory called for a refused actor"
    );
    sup.start().await?;
    sup.stop().await
}

#[tokio::test]
async fn a_snapshot_after_the_end_says_every_actor_ended() -> Result {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("worker", |_| Worker, [DefaultTopic])?;
    let handle = sup.handle();
    sup.start().await?;
    sup.send(Job).await?;
    sup.stop().await?;
    let after = handle.snapshot();
    let worker = after.actor("worker").expect("registered");
    assert_eq!(worker.doing, "ended", "{after}");
    assert_eq!(worker.state, ActorState::Ended(ActorOutcome::Completed));
    Ok(())
}

#[tokio::test]
async fn refusals_after_the_report_are_still_counted_live() -> Result {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("worker", |_| Worker, [DefaultTopic])?;
    let handle = sup.handle();
    sup.start().await?;
    handle.request_stop();
    assert!(handle.send(Job).await.is_err());
    let report = handle.stopped().await;
    assert_eq!(report.rejected, 1, "{report}");
    for _ in 0..3 {
        assert!(handle.send(Job).await.is_err());
    }
    assert_eq!(handle.snapshot().rejected, 4);
    assert_eq!(
        handle.stopped().await.rejected,
        1,
        "the report stays as made"
    );
    drop(sup);
    Ok(())
}

#[tokio::test]
async fn registering_after_start_is_refused() -> Result {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("early", |_| Worker, [DefaultTopic])?;
    sup.start().await?;

    let called = Arc::new(AtomicBool::new(false));
    assert_eq!(
        sup.add_actor("late", factory(&called), [DefaultTopic]),
        Err(Error::BrokerAlreadyStarted)
    );
    assert!(
        !called.load(Ordering::SeqCst),
        "factory called for a refused actor"
    );
    assert_eq!(
        sup.build_actor("late", |_| Worker)
            .topics([DefaultTopic])
            .build(),
        Err(Error::BrokerAlreadyStarted)
    );

    // The running supervisor is unaffected.
    sup.send(Job).await?;
    let report = sup.shutdown().await;
    assert_eq!(report.actors.len(), 1, "{report}");
    assert_eq!(report.actor("early").unwrap().handled, 1, "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test]
async fn starting_twice_is_refused() -> Result {
    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("worker", |_| Worker, [DefaultTopic])?;
    sup.start().await?;
    assert_eq!(sup.start().await, Err(Error::BrokerAlreadyStarted));

    sup.send(Job).await?;
    let report = sup.shutdown().await;
    assert_eq!(report.actor("worker").unwrap().handled, 1, "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

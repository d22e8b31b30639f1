//! `SupervisorHandle::add_actor` and `stop_actor`: an actor added while the
//! supervisor runs receives every event published after the add returned,
//! and is drained and reported like any other; a stopped actor is routed
//! nothing published after the call began, handles what its mailbox held,
//! runs `on_shutdown` once, and its report is returned and kept. Bad calls
//! are errors: an unknown or stopped actor, a name in use, an add after a
//! stop request (the factory is not called then).

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use maiko::*;
use support::{Door, Log, Tally, within};

#[derive(Event, Clone, Debug)]
struct Job(u32);

/// Logs every job it handles and its `on_shutdown`; may hold job 0.
struct Worker {
    name: &'static str,
    log: Log,
    door: Option<Door>,
    handled: Tally,
}

impl Actor for Worker {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let n = envelope.event().0;
        if n == 0
            && let Some(door) = &self.door
        {
            door.pass().await;
        }
        self.log.push(format!("{} {n}", self.name));
        self.handled.add_one();
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

fn worker(name: &'static str, log: &Log, door: Option<Door>, handled: &Tally) -> Worker {
    Worker {
        name,
        log: log.clone(),
        door,
        handled: handled.clone(),
    }
}

fn handled_by(log: &Log, name: &str) -> Vec<u32> {
    log.of(name)
        .iter()
        .filter_map(|entry| entry.rsplit(' ').next()?.parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_actor_gets_every_event_published_after_the_add() -> Result {
    let log = Log::new();
    let (first, late) = (Tally::new(), Tally::new());
    let mut sup = Supervisor::<Job>::default();
    let (l, t) = (log.clone(), first.clone());
    sup.add_actor(
        "first",
        move |_| worker("first", &l, None, &t),
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();
    for n in 1..=50 {
        handle.send(Job(n)).await.map_err(Error::from)?;
    }
    let (l, t) = (log.clone(), late.clone());
    let id = handle
        .add_actor(
            "late",
            move |_| worker("late", &l, None, &t),
            [DefaultTopic],
        )
        .await?;
    assert_eq!(id.as_str(), "late");
    for n in 51..=100 {
        handle.send(Job(n)).await.map_err(Error::from)?;
    }
    let report = within("the stop", sup.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    let got = handled_by(&log, "late");
    // Everything published after the add, in order; nothing twice. An
    // event published before may or may not reach it.
    assert!(got.ends_with(&(51..=100).collect::<Vec<_>>()), "{got:?}");
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{got:?}");
    assert_eq!(
        report.actor("late").expect("late").handled,
        got.len() as u64
    );
    assert_eq!(log.count("late on_shutdown"), 1);
    assert_eq!(report.actor("first").expect("first").handled, 100);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_actor_drains_its_mailbox_and_reports() -> Result {
    let log = Log::new();
    let door = Door::new();
    let (gone, stays) = (Tally::new(), Tally::new());
    let mut sup = Supervisor::<Job>::default();
    let (l, d, t) = (log.clone(), door.clone(), gone.clone());
    sup.add_actor(
        "gone",
        move |_| worker("gone", &l, Some(d), &t),
        [DefaultTopic],
    )?;
    let (l, t) = (log.clone(), stays.clone());
    sup.add_actor(
        "stays",
        move |_| worker("stays", &l, None, &t),
        [DefaultTopic],
    )?;
    sup.start().await?;
    let handle = sup.handle();
    for n in 0..=5 {
        handle.send(Job(n)).await.map_err(Error::from)?;
    }
    // "gone" holds job 0; jobs 1 to 5 wait in its mailbox.
    door.arrivals(1).await;
    stays.reaches(6).await;
    let stopping = tokio::spawn({
        let handle = handle.clone();
        async move { handle.stop_actor(&ActorId::new("gone")).await }
    });
    // Published after the stop began (the routing table without it is in
    // place once the actor is asked to stop): not routed to "gone".
    support::until("gone to be stopping", || {
        let snapshot = handle.snapshot();
        let gone = snapshot
            .actors
            .iter()
            .find(|a| a.actor.as_str() == "gone")?;
        (gone.state == ActorState::Stopping).then_some(())
    })
    .await;
    for n in 6..=9 {
        handle.send(Job(n)).await.map_err(Error::from)?;
    }
    door.open();
    let report = within("stop_actor", stopping).await.expect("task")?;
    assert_eq!(report.actor.as_str(), "gone");
    assert_eq!((report.routed, report.handled), (6, 6), "{report:?}");
    assert_eq!(report.outcome, ActorOutcome::Completed);
    assert_eq!(handled_by(&log, "gone"), [0, 1, 2, 3, 4, 5]);
    assert_eq!(log.count("gone on_shutdown"), 1);

    // The supervisor runs on, and the name is free again.
    stays.reaches(10).await;
    let (l, t) = (log.clone(), Tally::new());
    handle
        .add_actor(
            "gone",
            move |_| worker("again", &l, None, &t),
            [DefaultTopic],
        )
        .await?;
    let final_report = within("the stop", sup.shutdown()).await;
    assert!(final_report.is_clean(), "{final_report}");
    let kept: Vec<&ActorReport> = final_report
        .actors
        .iter()
        .filter(|a| a.actor.as_str() == "gone")
        .collect();
    assert_eq!(kept.len(), 2, "{final_report}");
    assert_eq!(kept[0].handled, 6, "{final_report}");
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn bad_calls_are_errors() -> Result {
    let log = Log::new();
    let mut sup = Supervisor::<Job>::default();
    let handle = sup.handle();
    // Before the start: added as by the supervisor; nothing to stop yet.
    let (l, t) = (log.clone(), Tally::new());
    handle
        .add_actor(
            "early",
            move |_| worker("early", &l, None, &t),
            [DefaultTopic],
        )
        .await?;
    assert_eq!(
        handle.stop_actor(&ActorId::new("early")).await.unwrap_err(),
        Error::ActorNotRunning(ActorId::new("early"))
    );
    sup.start().await?;
    let (l, t) = (log.clone(), Tally::new());
    assert_eq!(
        handle
            .add_actor("early", move |_| worker("x", &l, None, &t), [DefaultTopic])
            .await
            .unwrap_err(),
        Error::DuplicateActorName(ActorId::new("early"))
    );
    let (l, t) = (log.clone(), Tally::new());
    assert_eq!(
        handle
            .add_actor("  ", move |_| worker("x", &l, None, &t), [DefaultTopic])
            .await
            .unwrap_err(),
        Error::EmptyActorName
    );
    assert_eq!(
        handle
            .stop_actor(&ActorId::new("nobody"))
            .await
            .unwrap_err(),
        Error::ActorNotRunning(ActorId::new("nobody"))
    );
    handle.stop_actor(&ActorId::new("early")).await?;
    assert_eq!(
        handle.stop_actor(&ActorId::new("early")).await.unwrap_err(),
        Error::ActorNotRunning(ActorId::new("early"))
    );

    // After a stop request the factory is not called.
    handle.request_stop();
    let called = Arc::new(AtomicBool::new(false));
    let c = Arc::clone(&called);
    let (l, t) = (log.clone(), Tally::new());
    let refused = handle
        .add_actor(
            "too-late",
            move |_| {
                c.store(true, Ordering::SeqCst);
                worker("too-late", &l, None, &t)
            },
            [DefaultTopic],
        )
        .await;
    assert_eq!(refused.unwrap_err(), Error::Stopping);
    assert!(!called.load(Ordering::SeqCst));
    let report = within("the stop", sup.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn a_supervisor_started_empty_takes_actors_later_and_outlives_them() -> Result {
    let log = Log::new();
    let mut sup = Supervisor::<Job>::default();
    sup.start().await?;
    let handle = sup.handle();
    let handled = Tally::new();
    let (l, t) = (log.clone(), handled.clone());
    let id = handle
        .add_restartable(
            "only",
            move |_| worker("only", &l, None, &t),
            [DefaultTopic],
            RestartPolicy::on_failure(),
        )
        .await?;
    handle.send(Job(1)).await.map_err(Error::from)?;
    handled.reaches(1).await;
    // Stopping its only actor does not end the supervisor.
    let stopped = handle.stop_actor(&id).await?;
    assert_eq!(stopped.handled, 1);
    assert!(!handle.is_stopping());
    let (l, t) = (log.clone(), handled.clone());
    handle
        .add_actor(
            "next",
            move |_| worker("next", &l, None, &t),
            [DefaultTopic],
        )
        .await?;
    handle.send(Job(2)).await.map_err(Error::from)?;
    handled.reaches(2).await;
    let report = within("the stop", sup.shutdown()).await;
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.actor("next").expect("next").handled, 1);
    Ok(())
}

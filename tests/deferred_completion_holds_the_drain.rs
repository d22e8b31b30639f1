//! A handler that defers its event (`ctx.defer()`) returns at once and the
//! actor goes on, but the event counts as unhandled until the `Completion`
//! is settled: the shutdown's drain waits for it, a tracked delivery stays
//! pending, and the report counts it as handled, lost (failed or dropped
//! completion) or abandoned (still out at the deadline), always balanced.

mod support;

use std::time::Duration;

use maiko::*;
use support::{poll_once, within};
use tokio::sync::mpsc;

#[derive(Event, Clone, Debug)]
struct Ack(u32);

/// Defers every event and hands the completion to the test.
struct Deferring {
    ctx: Context<Ack>,
    completions: mpsc::UnboundedSender<(u32, Completion)>,
}

impl Actor for Deferring {
    type Event = Ack;

    async fn handle_event(&mut self, envelope: &Envelope<Ack>) -> Result {
        let completion = self.ctx.defer();
        assert!(completion.is_live());
        assert!(
            !self.ctx.defer().is_live(),
            "a second defer for one event must be inert"
        );
        let _ = self.completions.send((envelope.event().0, completion));
        Ok(())
    }

    async fn on_start(&mut self) -> Result {
        assert!(
            !self.ctx.defer().is_live(),
            "a defer outside a handler must be inert"
        );
        Ok(())
    }
}

async fn deferring(
    config: SupervisorConfig,
) -> Result<(Supervisor<Ack>, mpsc::UnboundedReceiver<(u32, Completion)>)> {
    let (completions, taken) = mpsc::unbounded_channel();
    let mut sup = Supervisor::<Ack>::new(config);
    sup.add_actor(
        "deferring",
        move |ctx| Deferring { ctx, completions },
        [DefaultTopic],
    )?;
    sup.start().await?;
    Ok((sup, taken))
}

async fn next(taken: &mut mpsc::UnboundedReceiver<(u32, Completion)>) -> (u32, Completion) {
    within("a deferred completion", taken.recv())
        .await
        .expect("the actor is alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_waits_for_every_completion() -> Result {
    let (sup, mut taken) = deferring(SupervisorConfig::default()).await?;
    let handle = sup.handle();

    let mut first = sup.send_tracked(Ack(1)).await?;
    sup.send(Ack(2)).await?;
    let (_, one) = next(&mut taken).await;
    // The actor went on to the second event while the first is deferred.
    let (_, two) = next(&mut taken).await;
    assert!(poll_once(&mut first).await.is_pending());

    let stop = tokio::spawn(async move { sup.stop().await });
    within("the stop to start", handle.stopping()).await;
    // Nothing is left in the mailbox: the two completions are all that
    // holds the drain open.
    let snapshot = handle.snapshot();
    assert_eq!(snapshot.in_flight, 2, "{snapshot:?}");
    assert!(!snapshot.finished, "{snapshot:?}");
    assert!(
        handle.send(Ack(3)).await.is_err(),
        "accepted after the stop"
    );

    one.complete();
    let outcome = within("the tracked delivery", first).await;
    assert_eq!((outcome.handled, outcome.is_handled()), (1, true));
    assert_eq!(handle.snapshot().in_flight, 1);
    assert!(!handle.snapshot().finished);

    two.complete();
    within("the stop", stop).await.expect("the stop task")?;
    let report = handle.stopped().await;
    let actor = report.actor("deferring").unwrap();
    assert_eq!((actor.routed, actor.handled), (2, 2), "{report}");
    assert!(report.is_clean(), "{report}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_or_dropped_completion_counts_as_lost() -> Result {
    let (sup, mut taken) = deferring(SupervisorConfig::default()).await?;

    let failed = sup.send_tracked(Ack(1)).await?;
    let dropped = sup.send_tracked(Ack(2)).await?;
    let handled = sup.send_tracked(Ack(3)).await?;
    let (_, one) = next(&mut taken).await;
    let (_, two) = next(&mut taken).await;
    let (_, three) = next(&mut taken).await;
    one.fail("the remote side said no");
    drop(two);
    three.complete();

    let failed = within("the failed one", failed).await;
    assert_eq!((failed.handled, failed.lost), (0, 1));
    let dropped = within("the dropped one", dropped).await;
    assert_eq!((dropped.handled, dropped.lost), (0, 1));
    assert!(within("the completed one", handled).await.is_handled());

    let report = sup.shutdown().await;
    let actor = report.actor("deferring").unwrap();
    assert_eq!(
        (actor.routed, actor.handled, actor.lost),
        (3, 1, 2),
        "{report}"
    );
    assert!(actor.is_balanced(), "{report}");
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_completion_still_out_at_the_deadline_is_abandoned() -> Result {
    let timeout = Duration::from_secs(3);
    let config = SupervisorConfig::default()
        .with_shutdown_timeout(timeout)
        .with_shutdown_grace(Duration::from_secs(1));
    let (sup, mut taken) = deferring(config).await?;

    let held = sup.send_tracked(Ack(1)).await?;
    let (_, completion) = next(&mut taken).await;
    let started = tokio::time::Instant::now();
    let report = sup.shutdown().await;
    assert!(
        started.elapsed() >= timeout,
        "did not wait for the completion"
    );
    assert!(report.deadline_hit, "{report}");
    let actor = report.actor("deferring").unwrap();
    assert_eq!(
        (actor.routed, actor.handled, actor.abandoned),
        (1, 0, 1),
        "{report}"
    );
    assert!(actor.is_balanced(), "{report}");

    // Settled after the report: abandoned, as the report said.
    drop(completion);
    let outcome = within("the held delivery", held).await;
    assert_eq!((outcome.handled, outcome.abandoned), (0, 1));
    Ok(())
}

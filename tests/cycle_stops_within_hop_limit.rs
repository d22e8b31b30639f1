//! Two actors answering each other forever (a cycle never becomes quiet)
//! still stop promptly and deterministically: after the stop request, each
//! answer carries one more hop, and the answer past the drain hop limit is
//! refused. So at most `hop limit + 1` events are handled after the stop,
//! the deadline is never involved, and no (virtual) time passes.
//!
//! The test runs on paused time on one thread: a hidden wait on the 30 s
//! shutdown deadline would show up as virtual time passing, and reading the
//! counter right after the stop request, with no await in between, is exact.

mod support;

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use maiko::*;
use support::within;
use tokio::{sync::Notify, time::Instant};

#[derive(Event, SelfRouting, Clone, Debug, Hash, PartialEq, Eq)]
enum Ball {
    Ping,
    Pong,
}

const HOP_LIMIT: u32 = 5;
/// Bounces before the stop is requested.
const WARMUP: u64 = 200;
/// Safety cap: a player stops answering after this many bounces in all, so
/// that a runtime without a working hop limit fails this test instead of
/// spinning forever (paused time cannot advance while the cycle is busy).
const CAP: u64 = 20_000;

#[derive(Default)]
struct Counts {
    handled: AtomicU64,
    refused: AtomicU64,
    warm: Notify,
}

struct Player {
    ctx: Context<Ball>,
    counts: Arc<Counts>,
}

impl Actor for Player {
    type Event = Ball;

    async fn handle_event(&mut self, envelope: &Envelope<Ball>) -> Result {
        let handled = self.counts.handled.fetch_add(1, Ordering::SeqCst) + 1;
        if handled == WARMUP {
            self.counts.warm.notify_one();
        }
        if handled >= CAP {
            return Ok(());
        }
        let answer = match envelope.event() {
            Ball::Ping => Ball::Pong,
            Ball::Pong => Ball::Ping,
        };
        match self.ctx.send_child_event(answer, envelope.id()).await {
            Err(Error::Stopping) => {
                self.counts.refused.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            other => other,
        }
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn ping_pong_ends_after_at_most_hop_limit_plus_one_events() -> Result {
    let counts = Arc::new(Counts::default());
    let config = SupervisorConfig::default().with_drain_hop_limit(HOP_LIMIT);
    let mut sup = Supervisor::<Ball, Ball>::new(config);
    let (ping_counts, pong_counts) = (Arc::clone(&counts), Arc::clone(&counts));
    sup.add_actor(
        "ping",
        |ctx| Player {
            ctx,
            counts: ping_counts,
        },
        [Ball::Pong],
    )?;
    sup.add_actor(
        "pong",
        |ctx| Player {
            ctx,
            counts: pong_counts,
        },
        [Ball::Ping],
    )?;
    sup.start().await?;
    let handle = sup.handle();
    let started = Instant::now();

    sup.send(Ball::Ping).await?;
    within("the ball to bounce a while", counts.warm.notified()).await;
    handle.request_stop();
    let at_stop = counts.handled.load(Ordering::SeqCst);
    let report = sup.shutdown().await;
    let after_stop = counts.handled.load(Ordering::SeqCst) - at_stop;

    // The one ball in play at the stop has hop 0. If it was waiting in a
    // channel, it is handled (1) and answered at hops 1..=HOP_LIMIT, each
    // handled (HOP_LIMIT), and the answer at hop HOP_LIMIT + 1 is refused:
    // HOP_LIMIT + 1 events. If its handler had already counted it and was
    // inside its publish at the stop, one fewer.
    let limit = u64::from(HOP_LIMIT);
    assert!(
        (limit..=limit + 1).contains(&after_stop),
        "{after_stop} events handled after the stop with a hop limit of {HOP_LIMIT}\n{report}"
    );
    assert_eq!(
        counts.refused.load(Ordering::SeqCst),
        1,
        "exactly one answer refused"
    );
    assert!(!report.deadline_hit, "{report}");
    assert_eq!(
        Instant::now(),
        started,
        "virtual time passed: something waited on a timer\n{report}"
    );
    assert!(report.is_clean(), "{report}");
    let in_report: u64 = report.actors.iter().map(|a| a.handled).sum();
    assert_eq!(in_report, counts.handled.load(Ordering::SeqCst), "{report}");
    Ok(())
}

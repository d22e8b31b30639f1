//! Two actors, each waiting for room in the other's full mailbox under
//! `OverflowPolicy::Block`, deadlock when the supervisor is told to keep
//! waiting in a cycle (`CyclePolicy::Wait`; the default breaks it). `stop()`
//! still returns at the shutdown timeout plus the grace, and the report
//! names the cycle and says both were stuck publishing. Runs under paused
//! time.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use maiko::*;
use tokio::{sync::Notify, time::Instant};

#[derive(Event, Clone, Debug, Hash, PartialEq, Eq)]
enum Ball {
    ToA,
    ToB,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, Label)]
enum Side {
    A,
    B,
}

impl Topic<Ball> for Side {
    fn from_event(event: &Ball) -> Self {
        match event {
            Ball::ToA => Side::A,
            Ball::ToB => Side::B,
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        self.label()
    }
}

/// Answers every ball with two balls to the other side, so the mailboxes
/// fill up and both players end up waiting on each other.
struct Player {
    ctx: Context<Ball>,
    answer: Ball,
    volleys: Arc<AtomicU64>,
    busy: Arc<Notify>,
}

impl Actor for Player {
    type Event = Ball;

    async fn handle_event(&mut self, _envelope: &Envelope<Ball>) -> Result {
        if self.volleys.fetch_add(1, Ordering::SeqCst) == 1 {
            self.busy.notify_one();
        }
        self.ctx.send(self.answer.clone()).await?;
        self.ctx.send(self.answer.clone()).await
    }
}

#[tokio::test(start_paused = true)]
async fn block_cycle_ends_at_the_deadline() {
    let timeout = Duration::from_secs(10);
    let grace = Duration::from_millis(200);
    let config = SupervisorConfig::default()
        .with_broker_channel_capacity(1)
        .with_default_actor_channel_capacity(1)
        .with_shutdown_timeout(timeout)
        .with_shutdown_grace(grace)
        .with_cycle_policy(CyclePolicy::Wait);
    let mut sup = Supervisor::<Ball, Side>::new(config);
    let volleys = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(Notify::new());
    for (name, topic, answer) in [("a", Side::A, Ball::ToB), ("b", Side::B, Ball::ToA)] {
        let (volleys, busy) = (Arc::clone(&volleys), Arc::clone(&busy));
        sup.add_actor(
            name,
            move |ctx| Player {
                ctx,
                answer,
                volleys,
                busy,
            },
            [topic],
        )
        .unwrap();
    }
    sup.start().await.unwrap();
    sup.send(Ball::ToA).await.unwrap();
    busy.notified().await;

    let stop_requested = Instant::now();
    let report = sup.shutdown().await;
    let took = stop_requested.elapsed();

    assert!(took >= timeout + grace && took < timeout + grace + Duration::from_millis(10));
    assert!(report.deadline_hit, "{report}");
    assert!(
        report.cycles == ["a -> topic 'B' -> b -> topic 'A' -> a"]
            || report.cycles == ["b -> topic 'A' -> a -> topic 'B' -> b"],
        "{report}"
    );
    for name in ["a", "b"] {
        let player = report.actor(name).unwrap();
        assert_eq!(player.outcome, ActorOutcome::Aborted, "{report}");
        let doing = player.stuck_in.as_deref().unwrap_or_default();
        assert!(doing.contains("blocked publishing to topic"), "{report}");
        assert!(player.is_balanced(), "{report}");
    }
    assert!(report.into_result().is_err());
}

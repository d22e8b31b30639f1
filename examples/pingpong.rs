//! Two actors bouncing an event forever, with the event as its own topic
//! (`#[derive(SelfRouting)]`), and an observer counting every bounce.
//!
//! A cycle like this never becomes quiet, yet `stop()` returns at once: while
//! the runtime drains, each answer carries one more hop, and past the drain
//! hop limit the gate refuses it.

use std::sync::Arc;

use maiko::*;
use tokio::sync::Notify;

#[derive(Event, SelfRouting, Label, Clone, Debug, Hash, PartialEq, Eq)]
enum PingPong {
    Ping,
    Pong,
}

/// Answers `Ping` with `Pong` and `Pong` with `Ping`.
struct Player {
    ctx: Context<PingPong>,
}

impl Actor for Player {
    type Event = PingPong;

    async fn handle_event(&mut self, envelope: &Envelope<Self::Event>) -> Result {
        let answer = match envelope.event() {
            PingPong::Ping => PingPong::Pong,
            PingPong::Pong => PingPong::Ping,
        };
        // During the drain this is refused past the hop limit; the `?` then
        // ends this handler without failing the actor.
        self.ctx.send_child_event(answer, envelope.id()).await
    }
}

/// Counts both kinds of event, and says when it has seen a thousand.
struct Counter {
    seen: u64,
    thousand: Arc<Notify>,
}

impl Actor for Counter {
    type Event = PingPong;

    async fn handle_event(&mut self, envelope: &Envelope<Self::Event>) -> Result {
        self.seen += 1;
        if self.seen == 1_000 {
            self.thousand.notify_one();
        }
        if self.seen <= 4 {
            println!(
                "{} from {}",
                envelope.event().label(),
                envelope.meta().actor_name()
            );
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        println!("counter saw {} events in all", self.seen);
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result {
    let mut sup = Supervisor::<PingPong, PingPong>::default();
    sup.add_actor("ping", |ctx| Player { ctx }, [PingPong::Pong])?;
    sup.add_actor("pong", |ctx| Player { ctx }, [PingPong::Ping])?;
    let thousand = Arc::new(Notify::new());
    let signal = Arc::clone(&thousand);
    sup.add_actor(
        "counter",
        |_| Counter {
            seen: 0,
            thousand: signal,
        },
        [PingPong::Ping, PingPong::Pong],
    )?;

    sup.start().await?;
    sup.send(PingPong::Ping).await?;

    // Let the ball fly a thousand times, then stop in the middle of a rally.
    thousand.notified().await;

    let report = sup.shutdown().await;
    print!("{report}");
    report.into_result()
}

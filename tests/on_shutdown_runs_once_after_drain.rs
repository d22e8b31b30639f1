//! `on_shutdown` runs exactly once for every actor, and only after the actor
//! has handled everything that was in its mailbox when the stop was
//! requested (guarantee G5 of the `maiko::shutdown` guide).
//!
//! Three actors each hold the first event in their handler while 49 more
//! pile up behind it (in the mailbox, and for the actor with a 4-slot
//! mailbox also in the broker); the stop is requested, the handlers are let
//! go, and the shared log must show, per actor, all 50 events in order and
//! then exactly one `on_shutdown`.

mod support;

use maiko::*;
use support::{Door, Log};

#[derive(Event, Clone, Debug)]
struct Job(u32);

const JOBS: u32 = 50;

struct Recorder {
    name: String,
    log: Log,
    door: Door,
}

impl Actor for Recorder {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let Job(n) = *envelope.event();
        if n == 0 {
            self.door.pass().await;
        }
        self.log.push(format!("{} handled {n}", self.name));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_runs_once_after_the_whole_mailbox() -> Result {
    let log = Log::new();
    let door = Door::new();
    let recorder = |name: &str| {
        let (name, log, door) = (name.to_owned(), log.clone(), door.clone());
        move |_ctx: Context<Job>| Recorder { name, log, door }
    };

    let mut sup = Supervisor::<Job>::default();
    sup.add_actor("a", recorder("a"), [DefaultTopic])?;
    sup.add_actor("b", recorder("b"), [DefaultTopic])?;
    sup.build_actor("c", recorder("c"))
        .topics([DefaultTopic])
        .channel_capacity(4)
        .build()?;
    sup.start().await?;
    let handle = sup.handle();

    for n in 0..JOBS {
        sup.send(Job(n)).await?;
    }
    // Every actor is inside the handler of Job(0); the rest is queued.
    door.arrivals(3).await;
    handle.request_stop();
    assert!(
        log.entries().is_empty(),
        "nothing handled before the door opened"
    );
    door.open();

    let report = sup.shutdown().await;
    assert!(report.is_clean(), "{report}");

    for name in ["a", "b", "c"] {
        let mut expected: Vec<String> = (0..JOBS).map(|n| format!("{name} handled {n}")).collect();
        expected.push(format!("{name} on_shutdown"));
        assert_eq!(
            log.of(&format!("{name} ")),
            expected,
            "actor {name}: every queued event, in order, then on_shutdown once"
        );
        let actor = report.actor(name).unwrap();
        assert_eq!(
            (actor.routed, actor.handled),
            (u64::from(JOBS), u64::from(JOBS))
        );
    }
    Ok(())
}

//! The overflow scenario shared by the `Drop` and `Fail` policy tests: a
//! subscriber with a one-slot mailbox holds `Job(0)` in its handler while
//! `Job(1)` to `Job(4)` arrive, so `Job(1)` fills the slot and the later
//! jobs find it full. A second subscriber, `witness`, sees every job.

use maiko::*;
use tokio::sync::mpsc;

use super::{Door, Log, within};

#[derive(Event, Clone, Debug)]
pub struct Job(pub u32);

/// How many jobs the scenario publishes.
pub const JOBS: u32 = 5;

struct Slow {
    log: Log,
    door: Door,
}

impl Actor for Slow {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let Job(n) = *envelope.event();
        if n == 0 {
            self.door.pass().await;
        }
        self.log.push(format!("slow handled {n}"));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("slow on_shutdown");
        Ok(())
    }
}

/// The topic of the `Drop` policy's scenarios.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Lossy;

impl Topic<Job> for Lossy {
    fn from_event(_job: &Job) -> Self {
        Lossy
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Drop
    }
}

/// Registered after `slow` (and any other subscriber), so when it has seen
/// a job the broker has already tried to deliver that job to the others.
pub struct Witness {
    pub seen: mpsc::UnboundedSender<u32>,
}

impl Actor for Witness {
    type Event = Job;

    async fn handle_event(&mut self, envelope: &Envelope<Job>) -> Result {
        let _ = self.seen.send(envelope.event().0);
        Ok(())
    }
}

/// What the scenario ends with.
pub struct Outcome {
    /// What `stop()` returned.
    pub stopped: Result,
    /// The report, from a handle.
    pub report: ShutdownReport,
    /// What `slow` logged, in order.
    pub log: Vec<String>,
}

/// Run the scenario on `topic` (whose policy is under test) and stop.
pub async fn overflow_one_slot_mailbox<T: Topic<Job>>(topic: T) -> Result<Outcome> {
    let (log, door) = (Log::new(), Door::new());
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    // Under `OverflowPolicy::Fail` the overflow fails `slow`; keep the
    // supervisor running so the later jobs are still accepted.
    let mut sup =
        Supervisor::<Job, T>::new(SupervisorConfig::default().with_stop_on_failure(false));
    let (slow_log, slow_door) = (log.clone(), door.clone());
    sup.build_actor("slow", move |_| Slow {
        log: slow_log,
        door: slow_door,
    })
    .topics([topic.clone()])
    .channel_capacity(1)
    .build()?;
    sup.add_actor("witness", move |_| Witness { seen: seen_tx }, [topic])?;
    sup.start().await?;
    let handle = sup.handle();

    sup.send(Job(0)).await?;
    door.arrivals(1).await; // Job(0) is out of the mailbox, in the handler
    for n in 1..JOBS {
        sup.send(Job(n)).await?;
    }
    for n in 0..JOBS {
        assert_eq!(within("the witness", seen.recv()).await, Some(n));
    }
    door.open();

    let stopped = sup.stop().await;
    let report = handle.stopped().await;
    Ok(Outcome {
        stopped,
        report,
        log: log.entries(),
    })
}

//! Memory probes: live heap bytes per idle actor and per queued event, and
//! the live total while actors are added and stopped (churn), read from the
//! counting allocator while it counts.

use std::future::Future;

use maiko_benches::{
    BACKLOG, current_thread, kameo_peer, maiko_now, maiko_old,
    memory::{CHURN_BLOCK, IDLE_ACTORS, churn_samples},
    ractor_peer, tokio_base,
};
use tokio::runtime::Runtime;

use crate::{
    alloc::live_bytes,
    tables::{KAMEO, MAIKO, MAIKO_OLD, RACTOR},
};

/// The plain-tokio row of the memory table.
pub const TOKIO_TASK: &str = "tokio task + bounded mpsc";

/// One system's memory figures, in bytes.
pub struct Memory {
    pub system: &'static str,
    pub idle_actor: f64,
    pub queued_event: f64,
}

/// Run a probe twice and keep the second figure, so one-time allocations
/// (the runtime's first timers, thread-locals) are not charged to a system.
fn twice<Fut>(rt: &Runtime, probe: impl Fn() -> Fut) -> f64
where
    Fut: Future<Output = f64>,
{
    rt.block_on(probe());
    rt.block_on(probe())
}

/// Probe every system; the allocator must still be counting.
pub fn memory() -> Vec<Memory> {
    let rt = current_thread();
    let mut rows = Vec::new();
    let mut probe = |system, idle_actor: f64, queued_event: f64| {
        println!(
            "  memory {system:<36} {idle_actor:>10.0} B/idle actor {queued_event:>10.0} B/queued event"
        );
        rows.push(Memory {
            system,
            idle_actor,
            queued_event,
        });
    };
    probe(
        MAIKO,
        twice(&rt, || maiko_now::idle_actor_bytes(IDLE_ACTORS, live_bytes)),
        twice(&rt, || maiko_now::queued_event_bytes(BACKLOG, live_bytes)),
    );
    probe(
        MAIKO_OLD,
        twice(&rt, || maiko_old::idle_actor_bytes(IDLE_ACTORS, live_bytes)),
        twice(&rt, || maiko_old::queued_event_bytes(BACKLOG, live_bytes)),
    );
    probe(
        TOKIO_TASK,
        twice(&rt, || tokio_base::idle_task_bytes(IDLE_ACTORS, live_bytes)),
        twice(&rt, || tokio_base::queued_event_bytes(BACKLOG, live_bytes)),
    );
    probe(
        KAMEO,
        twice(&rt, || {
            kameo_peer::idle_actor_bytes(IDLE_ACTORS, live_bytes)
        }),
        twice(&rt, || kameo_peer::queued_event_bytes(BACKLOG, live_bytes)),
    );
    probe(
        RACTOR,
        twice(&rt, || {
            ractor_peer::idle_actor_bytes(IDLE_ACTORS, live_bytes)
        }),
        twice(&rt, || ractor_peer::queued_event_bytes(BACKLOG, live_bytes)),
    );
    rows
}

/// The churn probe's readings: live heap bytes after so many cycles of
/// adding and stopping an actor.
pub struct Churn {
    /// `(cycles, live bytes)`, ascending.
    pub samples: Vec<(u64, usize)>,
}

impl Churn {
    /// The live bytes after `cycles` cycles, if read then.
    pub fn at(&self, cycles: u64) -> Option<usize> {
        self.samples
            .iter()
            .find(|(c, _)| *c == cycles)
            .map(|(_, bytes)| *bytes)
    }

    /// Growth per added-and-stopped actor, in bytes, from the reading at
    /// [`CHURN_BLOCK`] cycles to the last one.
    pub fn growth_per_actor(&self) -> Option<f64> {
        let from = self.at(CHURN_BLOCK)?;
        let &(cycles, to) = self.samples.last()?;
        (cycles > CHURN_BLOCK).then(|| (to as f64 - from as f64) / (cycles - CHURN_BLOCK) as f64)
    }
}

/// The churn probe on maiko, on a current-thread runtime; the allocator
/// must still be counting.
pub fn churn() -> Churn {
    let rt = current_thread();
    let cycles = churn_samples();
    let bytes = rt.block_on(maiko_now::churn_bytes(&cycles, live_bytes));
    let churn = Churn {
        samples: cycles.into_iter().zip(bytes).collect(),
    };
    for (cycles, bytes) in &churn.samples {
        println!("  churn {cycles:>7} actors added and stopped: {bytes:>10} B live");
    }
    if let Some(growth) = churn.growth_per_actor() {
        println!("  churn growth {growth:.1} B per actor added and stopped");
    }
    churn
}

//! Several brokers in one service: an ingest supervisor with two brokers,
//! and an audit supervisor fed by a bridge, stopped mid-flow as one.
//!
//! - The ingest supervisor routes commands (`Block`: nothing lost) on a
//!   broker of their own, and telemetry (`Drop`: the newest reading wins)
//!   on another. When the executor stalls on a command, commands wait, and
//!   telemetry keeps flowing: the brokers do not hold each other up.
//! - Every command the executor carries out is forwarded, with
//!   `Context::forward`, to the audit supervisor, a different event type.
//! - One `ShutdownGroup::shutdown()` stops both while producers are still
//!   sending: the producers are refused from then on, and every command
//!   accepted before, and every audit entry forwarded during the drain, is
//!   handled. The audit ledger, added last, closes last.
//!
//! It prints what each stage accepted and handled, and the group's report;
//! the exit status is 0 only if the shutdown was clean and every stage
//! handled what it accepted.
//!
//! ```sh
//! cargo run --example multi_broker
//! ```

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering::SeqCst},
    },
    time::Duration,
};

use maiko::*;
use tokio::sync::Notify;

#[derive(Event, Clone, Debug)]
enum Ingest {
    Command(u64),
    Telemetry(u64),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum IngestTopic {
    Commands,
    Telemetry,
}

impl Topic<Ingest> for IngestTopic {
    fn from_event(event: &Ingest) -> Self {
        match event {
            Ingest::Command(_) => Self::Commands,
            Ingest::Telemetry(_) => Self::Telemetry,
        }
    }

    fn overflow_policy(&self) -> OverflowPolicy {
        match self {
            Self::Commands => OverflowPolicy::Block,
            Self::Telemetry => OverflowPolicy::Drop,
        }
    }

    fn broker(&self) -> &'static str {
        match self {
            Self::Commands => "commands",
            Self::Telemetry => "telemetry",
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Self::Commands => "commands".into(),
            Self::Telemetry => "telemetry".into(),
        }
    }
}

#[derive(Event, Clone, Debug)]
struct AuditEntry {
    command: u64,
}

/// The figures the example prints.
#[derive(Default)]
struct Figures {
    commands_accepted: AtomicU64,
    commands_handled: AtomicU64,
    telemetry_accepted: AtomicU64,
    telemetry_handled: AtomicU64,
    telemetry_during_stall: AtomicU64,
    audits_forwarded: AtomicU64,
    audits_forwarded_while_draining: AtomicU64,
    audits_handled: AtomicU64,
    /// The highest telemetry reading seen.
    latest_reading: AtomicU64,
    stalled: AtomicBool,
    /// Told when enough commands were accepted to stop mid-flow.
    enough: Notify,
}

/// The command on which the executor stalls, and for how long.
const STALL_AT: u64 = 50;
const STALL: Duration = Duration::from_millis(200);
/// Stop once this many commands were accepted.
const STOP_AFTER: u64 = 400;

/// Carries out commands and forwards an audit entry for each.
struct Executor {
    ctx: Context<Ingest>,
    audit: SupervisorHandle<AuditEntry>,
    figures: Arc<Figures>,
}

impl Actor for Executor {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        let Ingest::Command(n) = *envelope.event() else {
            return Ok(());
        };
        if n == STALL_AT {
            // A slow downstream call, as simulated work.
            self.figures.stalled.store(true, SeqCst);
            tokio::time::sleep(STALL).await;
            self.figures.stalled.store(false, SeqCst);
        }
        self.ctx
            .forward(&self.audit, AuditEntry { command: n })
            .await?;
        self.figures.audits_forwarded.fetch_add(1, SeqCst);
        if self.ctx.is_stopping() {
            self.figures
                .audits_forwarded_while_draining
                .fetch_add(1, SeqCst);
        }
        self.figures.commands_handled.fetch_add(1, SeqCst);
        Ok(())
    }
}

/// Watches telemetry.
struct Dashboard {
    figures: Arc<Figures>,
}

impl Actor for Dashboard {
    type Event = Ingest;

    async fn handle_event(&mut self, envelope: &Envelope<Ingest>) -> Result {
        if let Ingest::Telemetry(reading) = *envelope.event() {
            self.figures.latest_reading.fetch_max(reading, SeqCst);
        }
        self.figures.telemetry_handled.fetch_add(1, SeqCst);
        if self.figures.stalled.load(SeqCst) {
            self.figures.telemetry_during_stall.fetch_add(1, SeqCst);
        }
        Ok(())
    }
}

/// The audit trail: the last to close. Entries arrive in command order.
struct Ledger {
    figures: Arc<Figures>,
    next: u64,
}

impl Actor for Ledger {
    type Event = AuditEntry;

    async fn handle_event(&mut self, envelope: &Envelope<AuditEntry>) -> Result {
        let command = envelope.event().command;
        assert_eq!(command, self.next, "audit entries out of order");
        self.next += 1;
        self.figures.audits_handled.fetch_add(1, SeqCst);
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        let entries = self.figures.audits_handled.load(SeqCst);
        println!("ledger: closed after {entries} entries, once the ingest side had finished");
        Ok(())
    }
}

/// Send `make(n)` for n = 0, 1, ... every `every`, until refused.
async fn produce(
    handle: SupervisorHandle<Ingest>,
    every: Duration,
    make: fn(u64) -> Ingest,
    accepted: impl Fn(u64),
) {
    let mut ticks = tokio::time::interval(every);
    for n in 0.. {
        ticks.tick().await;
        match handle.send(make(n)).await {
            Ok(()) => accepted(n),
            // The group is stopping: a service would answer 503 here.
            Err(refused) if refused.is_stopping() => break,
            Err(other) => panic!("unexpected: {other}"),
        }
    }
}

#[tokio::main]
async fn main() {
    let figures = Arc::new(Figures::default());

    let mut audit = Supervisor::<AuditEntry>::default();
    let ledger_figures = Arc::clone(&figures);
    audit
        .add_actor(
            "ledger",
            move |_| Ledger {
                figures: ledger_figures,
                next: 0,
            },
            [DefaultTopic],
        )
        .expect("a valid actor");

    let mut ingest = Supervisor::<Ingest, IngestTopic>::default();
    let (to_audit, executor_figures) = (audit.handle(), Arc::clone(&figures));
    ingest
        .add_actor(
            "executor",
            move |ctx| Executor {
                ctx,
                audit: to_audit,
                figures: executor_figures,
            },
            [IngestTopic::Commands],
        )
        .expect("a valid actor");
    let dashboard_figures = Arc::clone(&figures);
    ingest
        .build_actor("dashboard", move |_| Dashboard {
            figures: dashboard_figures,
        })
        .topics([IngestTopic::Telemetry])
        .channel_capacity(1024)
        .build()
        .expect("a valid actor");

    // The ingest side first, the audit trail after it: it closes last.
    let mut group = ShutdownGroup::new().with_shutdown_timeout(Duration::from_secs(10));
    let ingest = group.add("ingest", ingest);
    group.add("audit", audit);
    group.start().await.expect("start the group");

    let command_figures = Arc::clone(&figures);
    let commands = tokio::spawn(produce(
        ingest.clone(),
        Duration::from_micros(500),
        Ingest::Command,
        move |n| {
            command_figures.commands_accepted.fetch_add(1, SeqCst);
            if n + 1 == STOP_AFTER {
                command_figures.enough.notify_one();
            }
        },
    ));
    let telemetry_figures = Arc::clone(&figures);
    let telemetry = tokio::spawn(produce(
        ingest,
        Duration::from_millis(1),
        Ingest::Telemetry,
        move |_| {
            telemetry_figures.telemetry_accepted.fetch_add(1, SeqCst);
        },
    ));

    // Mid-flow: commands and telemetry are still being sent.
    figures.enough.notified().await;
    println!("stopping the group with both producers still sending");
    let report = group.shutdown().await;
    commands.await.expect("the command producer");
    telemetry.await.expect("the telemetry producer");

    let f = &figures;
    let rows = [
        (
            "ingest",
            "commands (Block)",
            &f.commands_accepted,
            &f.commands_handled,
        ),
        (
            "ingest",
            "telemetry (Drop)",
            &f.telemetry_accepted,
            &f.telemetry_handled,
        ),
        (
            "audit",
            "audit entries (bridge)",
            &f.audits_forwarded,
            &f.audits_handled,
        ),
    ];
    println!();
    println!(
        "{:<8} {:<24} {:>9} {:>9}",
        "member", "stage", "accepted", "handled"
    );
    let mut every_stage_complete = true;
    for (member, stage, accepted, handled) in rows {
        let (accepted, handled) = (accepted.load(SeqCst), handled.load(SeqCst));
        every_stage_complete &= accepted == handled;
        println!("{member:<8} {stage:<24} {accepted:>9} {handled:>9}");
    }
    println!(
        "\nwhile the executor stalled for {STALL:?} on command {STALL_AT}, telemetry kept \
         flowing on its own broker: {} readings handled meanwhile (latest reading {})",
        f.telemetry_during_stall.load(SeqCst),
        f.latest_reading.load(SeqCst)
    );
    println!(
        "after the stop, {} audit entries crossed from ingest to audit during the drain, \
         and every one was handled",
        f.audits_forwarded_while_draining.load(SeqCst)
    );
    println!("\n{report}");
    let clean = report.is_clean() && every_stage_complete;
    std::process::exit(if clean { 0 } else { 1 });
}

//! Two supervisors of different event types in one `ShutdownGroup` stop as
//! one: a single stop request refuses publishes from outside into either
//! member, every event accepted before it is handled, everything handlers
//! forward from one member to the other during the drain is handled too,
//! and the members close in the order they were added (the audit trail,
//! added last, runs `on_shutdown` after the ingest side has finished).

mod support;

use maiko::*;
use support::{Door, Log, within};

#[derive(Event, Clone, Debug, PartialEq, Eq)]
struct Command(u32);

#[derive(Event, Clone, Debug, PartialEq, Eq)]
struct AuditEntry {
    command: u32,
    /// The id of the command it records (its parent).
    source: Option<EventId>,
}

/// Validates commands and forwards an audit entry for each; holds the
/// first command at the door.
struct Validator {
    ctx: Context<Command>,
    audit: SupervisorHandle<AuditEntry>,
    door: Door,
    log: Log,
}

impl Actor for Validator {
    type Event = Command;

    async fn handle_event(&mut self, envelope: &Envelope<Command>) -> Result {
        let Command(n) = *envelope.event();
        if n == 0 {
            self.door.pass().await;
        }
        let entry = AuditEntry {
            command: n,
            source: Some(envelope.id()),
        };
        self.ctx.forward(&self.audit, entry).await?;
        self.log.push(format!("validated {n}"));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("validator on_shutdown");
        Ok(())
    }
}

/// Records audit entries, and checks each links to its command.
struct Trail {
    log: Log,
}

impl Actor for Trail {
    type Event = AuditEntry;

    async fn handle_event(&mut self, envelope: &Envelope<AuditEntry>) -> Result {
        let entry = envelope.event();
        assert_eq!(
            envelope.meta().parent_id(),
            entry.source,
            "a forwarded event keeps a link to its source event"
        );
        assert_eq!(envelope.meta().actor_name(), "validator");
        self.log.push(format!("audited {}", entry.command));
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push("trail on_shutdown");
        Ok(())
    }
}

const COMMANDS: u32 = 10;

struct Rig {
    group: ShutdownGroup,
    ingest: SupervisorHandle<Command>,
    audit: SupervisorHandle<AuditEntry>,
    door: Door,
    log: Log,
}

/// Ingest (the validator) added first, audit (the trail) second.
fn rig() -> Rig {
    let (door, log) = (Door::new(), Log::new());
    let mut audit_sup = Supervisor::<AuditEntry>::default();
    let trail_log = log.clone();
    audit_sup
        .add_actor("trail", move |_| Trail { log: trail_log }, [DefaultTopic])
        .unwrap();
    let mut ingest_sup = Supervisor::<Command>::default();
    let audit_for_validator = audit_sup.handle();
    let (validator_door, validator_log) = (door.clone(), log.clone());
    ingest_sup
        .add_actor(
            "validator",
            move |ctx| Validator {
                ctx,
                audit: audit_for_validator,
                door: validator_door,
                log: validator_log,
            },
            [DefaultTopic],
        )
        .unwrap();

    let mut group = ShutdownGroup::new();
    let ingest = group.add("ingest", ingest_sup);
    let audit = group.add("audit", audit_sup);
    Rig {
        group,
        ingest,
        audit,
        door,
        log,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stop_drains_both_members_and_what_crosses_between_them() {
    let Rig {
        mut group,
        ingest,
        audit,
        door,
        log,
    } = rig();
    group.start().await.unwrap();

    // Every command accepted; the validator holds the first, so the rest
    // (and every audit entry) are still to come when the stop arrives.
    for n in 0..COMMANDS {
        ingest.send(Command(n)).await.unwrap();
    }
    door.arrivals(1).await;
    // A stop from one member's handle stops the whole group.
    audit.request_stop();
    assert!(ingest.is_stopping() && group.handle().is_stopping());

    // From outside, both members refuse now, and hand the event back.
    let refused = ingest.send(Command(99)).await.unwrap_err();
    assert!(refused.is_stopping());
    assert_eq!(refused.into_event(), Command(99));
    let late = AuditEntry {
        command: 99,
        source: None,
    };
    assert!(audit.send(late).await.unwrap_err().is_stopping());

    door.open();
    let report = within("the group shutdown", group.shutdown()).await;

    // Everything accepted, and everything forwarded during the drain, was
    // handled; nothing refused was.
    let validated: Vec<String> = (0..COMMANDS).map(|n| format!("validated {n}")).collect();
    let audited: Vec<String> = (0..COMMANDS).map(|n| format!("audited {n}")).collect();
    assert_eq!(log.of("validated"), validated);
    assert_eq!(log.of("audited"), audited);

    // The audit trail, added last, closed after the ingest side finished.
    let entries = log.entries();
    let at = |entry: &str| entries.iter().position(|e| e == entry).unwrap();
    assert!(
        at("validator on_shutdown") < at("trail on_shutdown"),
        "{entries:?}"
    );
    assert!(
        at(&format!("audited {}", COMMANDS - 1)) < at("trail on_shutdown"),
        "{entries:?}"
    );

    assert!(report.is_clean(), "{report}");
    let ingest_report = report.member("ingest").unwrap();
    let audit_report = report.member("audit").unwrap();
    assert_eq!(
        ingest_report.actor("validator").unwrap().handled,
        u64::from(COMMANDS)
    );
    assert_eq!(
        audit_report.actor("trail").unwrap().handled,
        u64::from(COMMANDS)
    );
    assert_eq!((ingest_report.rejected, audit_report.rejected), (1, 1));
    // Each member's handle sees its own part of the report.
    assert_eq!(&audit.stopped().await, audit_report);
}

/// Bounces an event to the other member until its hops run out.
struct Bouncer<E: Event, F: Event> {
    ctx: Context<E>,
    other: SupervisorHandle<F>,
    convert: fn(&E) -> Option<F>,
    log: Log,
}

impl<E: Event, F: Event> Actor for Bouncer<E, F> {
    type Event = E;

    async fn handle_event(&mut self, envelope: &Envelope<E>) -> Result {
        self.log.push(self.ctx.actor_name().to_owned());
        if let Some(next) = (self.convert)(envelope.event()) {
            self.ctx.forward(&self.other, next).await?;
        }
        Ok(())
    }
}

#[derive(Event, Clone, Debug)]
struct Ping(u32);

#[derive(Event, Clone, Debug)]
struct Pong(u32);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feedback_loop_between_members_ends_at_the_drain_hop_limit() {
    const HOPS: u32 = 8;
    let log = Log::new();
    let mut pings = Supervisor::<Ping>::default();
    let mut pongs = Supervisor::<Pong>::default();
    let (to_pongs, to_pings) = (pongs.handle(), pings.handle());
    let ping_log = log.clone();
    pings
        .add_actor(
            "ping",
            move |ctx| Bouncer {
                ctx,
                other: to_pongs,
                convert: |Ping(n)| Some(Pong(n + 1)),
                log: ping_log,
            },
            [DefaultTopic],
        )
        .unwrap();
    let pong_log = log.clone();
    pongs
        .add_actor(
            "pong",
            move |ctx| Bouncer {
                ctx,
                other: to_pings,
                convert: |Pong(n)| Some(Ping(n + 1)),
                log: pong_log,
            },
            [DefaultTopic],
        )
        .unwrap();
    let mut group = ShutdownGroup::new().with_drain_hop_limit(HOPS);
    let pings = group.add("pings", pings);
    group.add("pongs", pongs);

    // An endless exchange across the two members, accepted before the
    // start and stopped before anything ran: the first event has drain
    // depth 0, each forward during the drain one more, and the forward
    // past the limit is refused.
    pings.send(Ping(0)).await.unwrap();
    group.handle().request_stop();
    let report = within("the group shutdown", group.shutdown()).await;

    // It ended by the hop limit, not by the deadline, and cleanly.
    assert!(!report.deadline_hit, "{report}");
    assert!(report.is_clean(), "{report}");
    assert_eq!(log.entries().len() as u32, HOPS + 1, "{:?}", log.entries());
    let handled: u64 = report
        .members
        .iter()
        .flat_map(|(_, r)| &r.actors)
        .map(|a| a.handled)
        .sum();
    assert_eq!(handled, u64::from(HOPS + 1), "{report}");
    let all_balanced = report
        .members
        .iter()
        .all(|(_, r)| r.actors.iter().all(ActorReport::is_balanced));
    assert!(all_balanced, "{report}");
    // The refused forward is counted by the member it was meant for.
    assert_eq!(
        report.members.iter().map(|(_, r)| r.rejected).sum::<u64>(),
        1
    );
}

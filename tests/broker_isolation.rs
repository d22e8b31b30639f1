//! A topic held up under `Block` stalls only its own broker: with commands
//! and telemetry on two brokers, telemetry keeps flowing while a command
//! subscriber is stuck; with both on one broker, the same telemetry waits
//! behind the stuck command (which shows the first check can fail).
//!
//! The supervisor publishes three commands and then one telemetry event.
//! The commander holds the first command until the test opens its door;
//! its mailbox (one slot) takes the second, and the third keeps the
//! commands' routing loop waiting for room. Every step is awaited on a
//! signal, never on time.

mod support;

use std::sync::Arc;

use maiko::*;
use support::{Door, Log, within};
use tokio::sync::Notify;

#[derive(Event, Clone, Debug)]
enum Signal {
    Command(u32),
    /// Telemetry, routed by the broker named here.
    Telemetry(&'static str),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Route {
    Command,
    Telemetry(&'static str),
}

const COMMANDS: &str = "commands";

impl Topic<Signal> for Route {
    fn from_event(event: &Signal) -> Self {
        match event {
            Signal::Command(_) => Route::Command,
            Signal::Telemetry(broker) => Route::Telemetry(broker),
        }
    }

    fn broker(&self) -> &'static str {
        match self {
            Route::Command => COMMANDS,
            Route::Telemetry(broker) => broker,
        }
    }

    fn name(&self) -> std::borrow::Cow<'static, str> {
        match self {
            Route::Command => "commands".into(),
            Route::Telemetry(_) => "telemetry".into(),
        }
    }
}

/// Holds its first command at the door.
struct Commander {
    door: Door,
    log: Log,
}

impl Actor for Commander {
    type Event = Signal;

    async fn handle_event(&mut self, envelope: &Envelope<Signal>) -> Result {
        if let Signal::Command(n) = envelope.event() {
            if *n == 0 {
                self.door.pass().await;
            }
            self.log.push(format!("command {n}"));
        }
        Ok(())
    }
}

/// Records telemetry and tells the test.
struct Watcher {
    log: Log,
    seen: Arc<Notify>,
}

impl Actor for Watcher {
    type Event = Signal;

    async fn handle_event(&mut self, _envelope: &Envelope<Signal>) -> Result {
        self.log.push("telemetry");
        self.seen.notify_one();
        Ok(())
    }
}

struct Rig {
    sup: Supervisor<Signal, Route>,
    door: Door,
    log: Log,
    seen: Arc<Notify>,
    telemetry_broker: &'static str,
}

/// Commander on commands (mailbox of one), watcher on telemetry, which
/// uses `telemetry_broker`.
fn rig(telemetry_broker: &'static str) -> Rig {
    let (door, log, seen) = (Door::new(), Log::new(), Arc::new(Notify::new()));
    let mut sup = Supervisor::<Signal, Route>::default();
    let (commander_door, commander_log) = (door.clone(), log.clone());
    sup.build_actor("commander", move |_| Commander {
        door: commander_door,
        log: commander_log,
    })
    .topics([Route::Command])
    .channel_capacity(1)
    .build()
    .unwrap();
    let (watcher_log, watcher_seen) = (log.clone(), Arc::clone(&seen));
    sup.add_actor(
        "watcher",
        move |_| Watcher {
            log: watcher_log,
            seen: watcher_seen,
        },
        [Route::Telemetry(telemetry_broker)],
    )
    .unwrap();
    Rig {
        sup,
        door,
        log,
        seen,
        telemetry_broker,
    }
}

/// Hold command 0 in the handler, command 1 in the mailbox, command 2 in
/// the routing loop, then publish telemetry.
async fn stall_commands_then_publish_telemetry(rig: &Rig) {
    rig.sup.send(Signal::Command(0)).await.unwrap();
    rig.door.arrivals(1).await;
    for n in 1..=2 {
        rig.sup.send(Signal::Command(n)).await.unwrap();
    }
    rig.sup
        .send(Signal::Telemetry(rig.telemetry_broker))
        .await
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn telemetry_on_its_own_broker_flows_while_a_command_subscriber_is_stuck() {
    let mut rig = rig("telemetry");
    rig.sup.start().await.unwrap();
    stall_commands_then_publish_telemetry(&rig).await;

    // Delivered while command 0 is still held at the door.
    within("telemetry past the stuck commands", rig.seen.notified()).await;
    rig.door.open();
    let report = within("the shutdown", rig.sup.shutdown()).await;

    assert_eq!(
        rig.log.entries(),
        ["telemetry", "command 0", "command 1", "command 2"]
    );
    assert!(report.is_clean(), "{report}");
    let names: Vec<&str> = report.brokers.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["default", "commands", "telemetry"], "{report}");
}

#[tokio::test(flavor = "current_thread")]
async fn telemetry_sharing_the_commands_broker_waits_behind_the_stuck_command() {
    let mut rig = rig(COMMANDS);
    rig.sup.start().await.unwrap();
    stall_commands_then_publish_telemetry(&rig).await;

    // The telemetry is queued behind command 2 in the same routing loop,
    // which waits for room in the commander's mailbox: it can only be
    // delivered after the commander has let command 0 go.
    rig.door.open();
    within("telemetry after the commands", rig.seen.notified()).await;
    let report = within("the shutdown", rig.sup.shutdown()).await;

    let log = rig.log.entries();
    let position = |entry: &str| log.iter().position(|e| e == entry).unwrap();
    assert!(
        position("command 0") < position("telemetry"),
        "telemetry overtook the stuck command: {log:?}"
    );
    assert!(report.is_clean(), "{report}");
    let names: Vec<&str> = report.brokers.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["default", "commands"], "{report}");
}

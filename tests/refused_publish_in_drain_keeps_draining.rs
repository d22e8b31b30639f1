//! A handler whose publish is refused during the drain gets
//! `Error::Stopping`, and its actor keeps draining: every event that was in
//! its mailbox is still handled, and the actor ends normally (guarantee G5 of the `maiko::shutdown` guide:
//! "a rejected publish inside a handler during the drain never kills the
//! actor or loses the rest of its mailbox").
//!
//! The publish is refused two ways: by strict shutdown (the gate closes at
//! the stop request) and by the drain hop limit (a chain of events published
//! after the stop grows one hop too long).

mod support;

use maiko::*;
use support::{Door, Log};

#[derive(Event, Clone, Debug)]
enum Msg {
    Job(u32),
    Echo(u32),
    Echo2(u32),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Kind {
    Job,
    Echo,
    Echo2,
}

impl Topic<Msg> for Kind {
    fn from_event(event: &Msg) -> Self {
        match event {
            Msg::Job(_) => Kind::Job,
            Msg::Echo(_) => Kind::Echo,
            Msg::Echo2(_) => Kind::Echo2,
        }
    }
}

const JOBS: u32 = 20;

/// Answers every event with the next one (`Job` -> `Echo` -> `Echo2`) and
/// logs whether the answer was accepted. Holds `Job(0)` at the door.
struct Answerer {
    name: &'static str,
    ctx: Context<Msg>,
    log: Log,
    door: Door,
    /// Propagate a refused publish with `?` instead of handling it.
    propagate: bool,
}

impl Actor for Answerer {
    type Event = Msg;

    async fn handle_event(&mut self, envelope: &Envelope<Msg>) -> Result {
        let answer = match *envelope.event() {
            Msg::Job(0) => {
                self.door.pass().await;
                Msg::Echo(0)
            }
            Msg::Job(n) => Msg::Echo(n),
            Msg::Echo(n) => Msg::Echo2(n),
            Msg::Echo2(_) => return Ok(()),
        };
        let n = match answer {
            Msg::Job(n) | Msg::Echo(n) | Msg::Echo2(n) => n,
        };
        self.log.push(format!("{} handling {n}", self.name));
        if self.propagate {
            self.ctx.send(answer).await?;
            self.log.push(format!("{} {n} accepted", self.name));
            return Ok(());
        }
        match self.ctx.send(answer).await {
            Ok(()) => self.log.push(format!("{} {n} accepted", self.name)),
            Err(Error::Stopping) => self.log.push(format!("{} {n} refused", self.name)),
            Err(other) => panic!("unexpected publish error {other}"),
        }
        Ok(())
    }

    async fn on_shutdown(&mut self) -> Result {
        self.log.push(format!("{} on_shutdown", self.name));
        Ok(())
    }
}

fn answerer(
    name: &'static str,
    log: &Log,
    door: &Door,
    propagate: bool,
) -> impl FnOnce(Context<Msg>) -> Answerer {
    let (log, door) = (log.clone(), door.clone());
    move |ctx| Answerer {
        name,
        ctx,
        log,
        door,
        propagate,
    }
}

/// The log a drain of all `JOBS` events by `name` produces when each answer
/// gets `outcome`.
fn drained(name: &str, outcome: &str) -> Vec<String> {
    let mut expected = Vec::new();
    for n in 0..JOBS {
        expected.push(format!("{name} handling {n}"));
        expected.push(format!("{name} {n} {outcome}"));
    }
    expected.push(format!("{name} on_shutdown"));
    expected
}

/// Queue `JOBS` jobs behind a handler held at the door, request the stop,
/// open the door, and return what `stop()` said and the report.
async fn queue_then_stop(
    mut sup: Supervisor<Msg, Kind>,
    door: &Door,
) -> Result<(Result, ShutdownReport)> {
    sup.start().await?;
    let handle = sup.handle();
    for n in 0..JOBS {
        sup.send(Msg::Job(n)).await?;
    }
    door.arrivals(1).await;
    handle.request_stop();
    door.open();
    let stopped = sup.stop().await;
    Ok((stopped, handle.stopped().await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_shutdown_refuses_handler_publishes_and_the_mailbox_still_drains() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let config = SupervisorConfig::default().with_strict_shutdown(true);
    let mut sup = Supervisor::<Msg, Kind>::new(config);
    sup.add_actor("relay", answerer("relay", &log, &door, false), [Kind::Job])?;

    let (stopped, report) = queue_then_stop(sup, &door).await?;

    assert_eq!(log.of("relay"), drained("relay", "refused"));
    let relay = report.actor("relay").unwrap();
    assert_eq!(relay.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(
        (relay.routed, relay.handled, relay.lost),
        (20, 20, 0),
        "{report}"
    );
    assert!(report.rejected >= u64::from(JOBS), "{report}");
    assert_eq!(stopped, Ok(()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hop_limit_refuses_the_second_hop_and_the_mailbox_still_drains() -> Result {
    let (log, door) = (Log::new(), Door::new());
    // Jobs were accepted before the stop (hop 0); their Echo answers are
    // hop 1 (admitted), the Echo2 answers to those would be hop 2 (refused).
    let config = SupervisorConfig::default().with_drain_hop_limit(1);
    let mut sup = Supervisor::<Msg, Kind>::new(config);
    sup.add_actor("relay", answerer("relay", &log, &door, false), [Kind::Job])?;
    sup.add_actor(
        "echoer",
        answerer("echoer", &log, &door, false),
        [Kind::Echo],
    )?;

    let (stopped, report) = queue_then_stop(sup, &door).await?;

    assert_eq!(log.of("relay"), drained("relay", "accepted"));
    assert_eq!(log.of("echoer"), drained("echoer", "refused"));
    let echoer = report.actor("echoer").unwrap();
    assert_eq!(echoer.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(
        (echoer.routed, echoer.handled, echoer.lost),
        (20, 20, 0),
        "{report}"
    );
    assert!(report.is_clean(), "{report}");
    assert_eq!(stopped, Ok(()));
    Ok(())
}

/// The common `ctx.send(..).await?` in a handler: the refusal comes back out
/// of `handle_event` as `Err(Error::Stopping)`. That is the runtime saying
/// "no more new work", not the actor failing, so it must not kill the actor
/// and lose the rest of its mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_propagated_with_question_mark_does_not_kill_the_actor() -> Result {
    let (log, door) = (Log::new(), Door::new());
    let config = SupervisorConfig::default().with_strict_shutdown(true);
    let mut sup = Supervisor::<Msg, Kind>::new(config);
    sup.add_actor("relay", answerer("relay", &log, &door, true), [Kind::Job])?;

    let (stopped, report) = queue_then_stop(sup, &door).await?;

    let mut expected: Vec<String> = (0..JOBS).map(|n| format!("relay handling {n}")).collect();
    expected.push("relay on_shutdown".to_owned());
    assert_eq!(
        log.of("relay"),
        expected,
        "every queued job reaches the handler\n{report}"
    );
    let relay = report.actor("relay").unwrap();
    assert_eq!(relay.lost, 0, "{report}");
    assert_eq!(relay.outcome, ActorOutcome::Completed, "{report}");
    assert_eq!(stopped, Ok(()));
    Ok(())
}

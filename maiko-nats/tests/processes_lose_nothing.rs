//! End to end, with processes: a producer (`e2e_producer`: an actor
//! publishing jobs, an outbound bridge) and two consumers (`e2e_consumer`:
//! an inbound bridge on one shared durable consumer, and a pipeline that
//! journals each job with an fsync) run against a real `nats-server -js`,
//! under load, while the test stops and kills them at random moments.
//!
//! Checked after each run:
//!
//! - every job whose publish returned `Ok` in a producer (its accepted
//!   file) is in some consumer's journal;
//! - no job whose publish was refused is in a journal;
//! - with SIGTERM only, no job is in the journals twice (exactly once
//!   across graceful stops); with kill -9 and server restarts, at least
//!   once;
//! - the durable consumer ends with nothing pending and nothing awaiting
//!   an acknowledgement.
//!
//! The moments are drawn from a seeded generator: the seed is printed, and
//! `MAIKO_NATS_E2E_SEED=...` replays a run; `MAIKO_NATS_E2E_MOMENTS`
//! changes how many moments a run has. Readiness is a `ready` line from
//! each process; completion is the `recorded KEY` lines the consumers
//! print after each fsync.

#![cfg(unix)]

mod support;

use std::{
    collections::{HashMap, HashSet},
    fs,
    path::PathBuf,
    thread,
    time::{Duration, Instant},
};

use support::{
    NatsServer, admin_runtime, connect, consumer_backlog, make_consumer, make_stream,
    process::{
        CHILD_TIMEOUT, Proc, Recorded, example, journaled, start_consumer, stop_cleanly, tally,
    },
    seed_from_env,
};

const STREAM: &str = "JOBS";
const CONSUMER: &str = "workers";

/// The processes of one run, and what they leave behind.
struct Run {
    url: String,
    dir: tempfile::TempDir,
    producer_bin: PathBuf,
    producer: Option<Proc>,
    producer_runs: u32,
    consumers: HashMap<&'static str, Proc>,
    consumer_starts: u32,
    journals: Vec<PathBuf>,
    recorded: Recorded,
}

impl Run {
    fn new(server: &NatsServer) -> Self {
        Self {
            url: server.url(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            producer_bin: example("e2e_producer"),
            producer: None,
            producer_runs: 0,
            consumers: HashMap::new(),
            consumer_starts: 0,
            journals: Vec::new(),
            recorded: Recorded::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn start_producer(&mut self) {
        self.producer_runs += 1;
        let run = format!("p{}", self.producer_runs);
        let args = [
            "--url".into(),
            self.url.clone(),
            "--stream".into(),
            STREAM.into(),
            "--run".into(),
            run.clone(),
            "--accepted".into(),
            self.path(&format!("{run}.accepted")).display().to_string(),
            "--refused".into(),
            self.path(&format!("{run}.refused")).display().to_string(),
            "--per-ms".into(),
            "2".into(),
        ];
        let producer = Proc::spawn(&run, &self.producer_bin, &args, None);
        producer.wait_for("ready");
        self.producer = Some(producer);
    }

    /// SIGTERM the producer and wait for a clean exit.
    fn stop_producer(&mut self) {
        stop_cleanly(self.producer.take().expect("a producer runs"));
    }

    fn start_consumer(&mut self, slot: &'static str) {
        self.consumer_starts += 1;
        let journal = self.path(&format!("journal-{slot}-{}", self.consumer_starts));
        let label = format!("consumer {slot}#{}", self.consumer_starts);
        let consumer = start_consumer(
            &label,
            &self.url,
            STREAM,
            CONSUMER,
            &journal,
            &[],
            &self.recorded,
        );
        self.journals.push(journal);
        self.consumers.insert(slot, consumer);
    }

    /// SIGTERM a consumer and wait for a clean exit.
    fn stop_consumer(&mut self, slot: &'static str) {
        stop_cleanly(self.consumers.remove(slot).expect("that consumer runs"));
    }

    /// kill -9 a consumer.
    fn kill_consumer(&mut self, slot: &'static str) {
        self.consumers
            .remove(slot)
            .expect("that consumer runs")
            .kill();
    }

    fn keys(&self, suffix: &str) -> Vec<String> {
        (1..=self.producer_runs)
            .flat_map(|n| {
                let text = fs::read_to_string(self.path(&format!("p{n}.{suffix}")))
                    .expect("a producer's file");
                text.lines().map(str::to_owned).collect::<Vec<_>>()
            })
            .collect()
    }

    /// Wait until every key in `wanted` has been recorded by a consumer.
    fn wait_recorded(&mut self, wanted: &HashSet<String>) {
        let consumers = &self.consumers;
        self.recorded.wait_until(
            |keys| wanted.is_subset(keys),
            || {
                let stderr: Vec<String> = consumers
                    .values()
                    .map(|c| format!("{}:\n{}", c.label, c.stderr()))
                    .collect();
                stderr.join("\n")
            },
        );
    }
}

/// A random moment: let the load run this long before the next signal.
fn moment(rng: &mut fastrand::Rng) {
    thread::sleep(Duration::from_millis(rng.u64(40..400)));
}

struct Verdict {
    accepted: usize,
    refused: usize,
    journaled: usize,
    twice: usize,
}

/// Check the journals against the producers' files.
fn verify(run: &Run) -> Verdict {
    let accepted: HashSet<String> = run.keys("accepted").into_iter().collect();
    let refused: HashSet<String> = run.keys("refused").into_iter().collect();
    let lines = journaled(&run.journals);
    let counts = tally(lines.iter().map(String::as_str));
    let journaled: HashSet<&str> = counts.keys().copied().collect();
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|k| !journaled.contains(k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} accepted jobs are in no journal, e.g. {:?}",
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>()
    );
    let handled_refused: Vec<&String> = refused
        .iter()
        .filter(|k| journaled.contains(k.as_str()))
        .collect();
    assert!(
        handled_refused.is_empty(),
        "refused jobs were handled: {handled_refused:?}"
    );
    let strangers: Vec<&&str> = journaled
        .iter()
        .filter(|k| !accepted.contains(**k))
        .collect();
    assert!(
        strangers.is_empty(),
        "journaled jobs that no producer accepted: {:?}",
        strangers.iter().take(5).collect::<Vec<_>>()
    );
    Verdict {
        accepted: accepted.len(),
        refused: refused.len(),
        journaled: lines.len(),
        twice: counts.values().filter(|&&n| n > 1).count(),
    }
}

fn moments_from_env(default: usize) -> usize {
    std::env::var("MAIKO_NATS_E2E_MOMENTS")
        .ok()
        .map(|v| v.parse().expect("MAIKO_NATS_E2E_MOMENTS is a count"))
        .unwrap_or(default)
}

#[test]
#[ignore = "needs nats-server: apt-get install nats-server"]
fn sigterm_at_random_moments_loses_nothing_and_repeats_nothing() {
    let seed = seed_from_env("MAIKO_NATS_E2E_SEED");
    let moments = moments_from_env(14);
    println!("graceful run: MAIKO_NATS_E2E_SEED={seed} moments={moments}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();

    let server = NatsServer::start();
    let admin = admin_runtime();
    let (_client, jetstream) = admin.block_on(connect(&server));
    admin.block_on(async {
        make_stream(&jetstream, STREAM).await;
        make_consumer(&jetstream, STREAM, CONSUMER, Duration::from_secs(30)).await;
    });

    let mut run = Run::new(&server);
    run.start_consumer("a");
    run.start_consumer("b");
    run.start_producer();
    let mut producer_stops = 0;
    for n in 0..moments {
        moment(&mut rng);
        if n % 5 == 4 {
            // The producer, at a random moment: everything it accepted is
            // stored before it exits; a new one takes over.
            run.stop_producer();
            producer_stops += 1;
            run.start_producer();
        } else {
            let slot = if rng.bool() { "a" } else { "b" };
            run.stop_consumer(slot);
            run.start_consumer(slot);
        }
    }
    moment(&mut rng);
    run.stop_producer();
    producer_stops += 1;

    let accepted: HashSet<String> = run.keys("accepted").into_iter().collect();
    run.wait_recorded(&accepted);
    run.stop_consumer("a");
    run.stop_consumer("b");

    let verdict = verify(&run);
    assert_eq!(
        verdict.twice, 0,
        "with graceful stops only, no job may be handled twice"
    );
    let backlog = admin.block_on(consumer_backlog(&jetstream, STREAM, CONSUMER));
    assert_eq!(backlog, (0, 0), "pending and awaiting acknowledgement");
    println!(
        "graceful run: seed {seed}: {moments} moments ({producer_stops} producer stops), \
         accepted {}, refused {}, journaled {}, twice {}, in {:.1?}",
        verdict.accepted,
        verdict.refused,
        verdict.journaled,
        verdict.twice,
        started.elapsed()
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Blow {
    KillConsumer,
    TermConsumer,
    RestartServer,
}

#[test]
#[ignore = "needs nats-server: apt-get install nats-server"]
fn kills_and_server_restarts_lose_nothing() {
    let seed = seed_from_env("MAIKO_NATS_E2E_SEED");
    let moments = moments_from_env(12);
    println!("crash run: MAIKO_NATS_E2E_SEED={seed} moments={moments}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let started = Instant::now();

    let mut server = NatsServer::start();
    let admin = admin_runtime();
    let (_client, jetstream) = admin.block_on(connect(&server));
    // A short ack wait, so that what a killed consumer held comes back
    // soon.
    admin.block_on(async {
        make_stream(&jetstream, STREAM).await;
        make_consumer(&jetstream, STREAM, CONSUMER, Duration::from_secs(3)).await;
    });

    let mut run = Run::new(&server);
    run.start_consumer("a");
    run.start_consumer("b");
    run.start_producer();

    // Each kind at least once, in a random order, then random ones, with
    // at most three server restarts (each stalls the consumers' pulls).
    let mut blows = vec![Blow::KillConsumer, Blow::TermConsumer, Blow::RestartServer];
    rng.shuffle(&mut blows);
    while blows.len() < moments {
        let restarts = blows.iter().filter(|b| **b == Blow::RestartServer).count();
        blows.push(match rng.u8(0..3) {
            0 => Blow::KillConsumer,
            1 if restarts < 3 => Blow::RestartServer,
            _ => Blow::TermConsumer,
        });
    }
    for blow in &blows {
        moment(&mut rng);
        let slot = if rng.bool() { "a" } else { "b" };
        match blow {
            Blow::KillConsumer => {
                run.kill_consumer(slot);
                run.start_consumer(slot);
            }
            Blow::TermConsumer => {
                run.stop_consumer(slot);
                run.start_consumer(slot);
            }
            Blow::RestartServer => server.restart(),
        }
    }
    moment(&mut rng);
    run.stop_producer();

    let accepted: HashSet<String> = run.keys("accepted").into_iter().collect();
    run.wait_recorded(&accepted);
    // What a killed consumer had taken but not acknowledged comes back
    // after the ack wait, possibly as a duplicate of a job already
    // recorded: wait until the server has nothing left for the consumers,
    // asking it again after each answer.
    let deadline = Instant::now() + CHILD_TIMEOUT;
    loop {
        let backlog = admin.block_on(consumer_backlog(&jetstream, STREAM, CONSUMER));
        if backlog == (0, 0) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the consumer still has {backlog:?} (pending, awaiting ack)"
        );
        thread::sleep(Duration::from_millis(100));
    }
    run.stop_consumer("a");
    run.stop_consumer("b");

    let verdict = verify(&run);
    let backlog = admin.block_on(consumer_backlog(&jetstream, STREAM, CONSUMER));
    assert_eq!(backlog, (0, 0), "pending and awaiting acknowledgement");
    println!(
        "crash run: seed {seed}: {} moments {blows:?}, accepted {}, refused {}, journaled {}, \
         handled more than once {}, in {:.1?}",
        blows.len(),
        verdict.accepted,
        verdict.refused,
        verdict.journaled,
        verdict.twice,
        started.elapsed()
    );
}

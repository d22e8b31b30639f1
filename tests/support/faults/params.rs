//! What a fault trial is made of, all drawn from its seed.

use std::{fmt, time::Duration};

use super::LANES;

/// Most events one producer sends.
const MAX_EVENTS_PER_PRODUCER: u32 = 120;

/// The shutdown timeout of a trial whose deadline is not meant to be hit:
/// far more than any drain here needs, so hitting it means something
/// stalled.
pub const LONG_TIMEOUT: Duration = Duration::from_secs(3);

/// A producer task.
#[derive(Clone, Debug)]
pub struct ProducerSpec {
    /// Events it tries to send.
    pub events: u32,
    /// Up to this many yields before each send.
    pub max_yields: u8,
}

/// How a restartable subscriber is restarted.
#[derive(Clone, Copy, Debug)]
pub struct Restart {
    /// `RestartPolicy::max_restarts`, within a window longer than a trial.
    pub max_restarts: u32,
    /// Whether the budget is too large to run out in a trial.
    pub generous: bool,
    /// `RestartPolicy::retry_event`.
    pub retries: u32,
    /// `RestartPolicy::backoff`, if any.
    pub backoff: Option<(Duration, Duration)>,
}

/// A subscriber.
#[derive(Clone, Debug)]
pub struct SubSpec {
    /// Its actor name.
    pub name: String,
    /// Its lanes; `None` subscribes with `Subscribe::all()`.
    pub lanes: Option<Vec<u8>>,
    /// How it is restarted; `None` for one added with `add_actor`.
    pub restart: Option<Restart>,
    /// An event fails at its first attempt if its hash is a multiple of
    /// this (0: never).
    pub fail_every: u64,
    /// An event fails at every attempt if (another part of) its hash is a
    /// multiple of this (0: never).
    pub always_every: u64,
    /// The handler yields up to this many times per event.
    pub slowness: u8,
    /// Added through a handle once the producers have had this many sends
    /// accepted (`None`: registered before the start).
    pub added_after: Option<u64>,
    /// Stopped with `stop_actor` once the producers have had this many
    /// sends accepted.
    pub stopped_after: Option<u64>,
}

impl SubSpec {
    /// Whether it takes events of `lane`.
    pub fn takes(&self, lane: u8) -> bool {
        self.lanes
            .as_ref()
            .is_none_or(|lanes| lanes.contains(&lane))
    }
}

/// Everything random about one trial.
#[derive(Clone, Debug)]
pub struct Params {
    /// The seed it was drawn from.
    pub seed: u64,
    pub producers: Vec<ProducerSpec>,
    pub broker_capacity: usize,
    /// Every actor's mailbox (`with_default_actor_channel_capacity`).
    pub mailbox: usize,
    pub per_tick: usize,
    pub stop_on_failure: bool,
    pub shutdown_timeout: Duration,
    /// Whether the timeout is a short one, meant to be hit now and then.
    pub short_deadline: bool,
    pub subs: Vec<SubSpec>,
    /// `request_stop` once the producers have had this many sends accepted
    /// (or when they are all done).
    pub stop_after: u64,
}

/// A capacity from 1 to 64, log-uniform so that tiny ones are common.
fn capacity(rng: &mut fastrand::Rng) -> usize {
    let high = 1usize << rng.u32(0..=6);
    rng.usize((high / 2).max(1)..=high)
}

fn restart(rng: &mut fastrand::Rng) -> Restart {
    let generous = rng.u8(0..6) != 0;
    Restart {
        max_restarts: if generous { 100_000 } else { rng.u32(1..=4) },
        generous,
        retries: [0, 1, 1, 1, 2][rng.usize(0..5)],
        backoff: (rng.u8(0..4) == 0).then(|| {
            let first = Duration::from_micros(rng.u64(50..=500));
            (first, Duration::from_micros(rng.u64(1_000..=3_000)))
        }),
    }
}

fn lanes(rng: &mut fastrand::Rng) -> Option<Vec<u8>> {
    if rng.u8(0..5) == 0 {
        return None;
    }
    let mut chosen: Vec<u8> = (0..LANES).filter(|_| rng.bool()).collect();
    if chosen.is_empty() {
        chosen.push(rng.u8(0..LANES));
    }
    Some(chosen)
}

fn restartable(rng: &mut fastrand::Rng, name: String) -> SubSpec {
    SubSpec {
        name,
        lanes: lanes(rng),
        restart: Some(restart(rng)),
        fail_every: rng.u64(3..=15),
        always_every: if rng.bool() { 0 } else { rng.u64(15..=60) },
        slowness: if rng.bool() { 0 } else { rng.u8(1..=6) },
        added_after: None,
        stopped_after: None,
    }
}

/// One that fails for good on its first failure, at a random point.
fn brittle(rng: &mut fastrand::Rng, name: String) -> SubSpec {
    SubSpec {
        name,
        lanes: lanes(rng),
        restart: None,
        fail_every: rng.u64(10..=200),
        always_every: 0,
        slowness: if rng.bool() { 0 } else { rng.u8(1..=6) },
        added_after: None,
        stopped_after: None,
    }
}

impl Params {
    /// Draw the parameters of one trial from `seed`.
    pub fn draw(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let producers: Vec<ProducerSpec> = (0..rng.usize(1..=4))
            .map(|_| ProducerSpec {
                events: rng.u32(10..=MAX_EVENTS_PER_PRODUCER),
                max_yields: if rng.bool() { 0 } else { rng.u8(1..=4) },
            })
            .collect();
        let total: u64 = producers.iter().map(|p| u64::from(p.events)).sum();
        let broker_capacity = capacity(&mut rng);
        let mailbox = capacity(&mut rng);
        let per_tick = rng.usize(1..=8);
        let stop_on_failure = rng.bool();
        let short_deadline = rng.u8(0..4) == 0;
        let shutdown_timeout = if short_deadline {
            Duration::from_micros(rng.u64(500..=5_000))
        } else {
            LONG_TIMEOUT
        };

        // Past `total`: after every producer is done.
        let stop_after = rng.u64(0..=total + total / 4);
        // Most adds and stops come before the stop request, some after.
        let moment = |rng: &mut fastrand::Rng, from: u64| {
            let until = if rng.u8(0..5) == 0 {
                total
            } else {
                stop_after.min(total)
            };
            rng.u64(from.min(until)..=until).max(from)
        };

        let mut subs: Vec<SubSpec> = (0..rng.usize(2..=4))
            .map(|i| restartable(&mut rng, format!("flaky{i}")))
            .collect();
        if rng.bool() {
            subs.push(brittle(&mut rng, "brittle".to_owned()));
        }
        for i in 0..rng.usize(0..=3) {
            let mut sub = if rng.u8(0..6) == 0 {
                brittle(&mut rng, format!("added-brittle{i}"))
            } else {
                restartable(&mut rng, format!("added{i}"))
            };
            sub.added_after = Some(moment(&mut rng, 0));
            subs.push(sub);
        }
        for sub in &mut subs {
            if rng.u8(0..4) == 0 {
                let from = sub.added_after.unwrap_or(0);
                sub.stopped_after = Some(moment(&mut rng, from));
            }
        }
        Self {
            seed,
            producers,
            broker_capacity,
            mailbox,
            per_tick,
            stop_on_failure,
            shutdown_timeout,
            short_deadline,
            subs,
            stop_after,
        }
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "seed {:#018x}: broker capacity {}, mailbox {}, per tick {}, stop_on_failure {}, \
             shutdown timeout {:?}, stop after {} accepted",
            self.seed,
            self.broker_capacity,
            self.mailbox,
            self.per_tick,
            self.stop_on_failure,
            self.shutdown_timeout,
            self.stop_after
        )?;
        for (i, p) in self.producers.iter().enumerate() {
            writeln!(
                f,
                "  producer{i}: {} events, yields<={}",
                p.events, p.max_yields
            )?;
        }
        for s in &self.subs {
            let restart = match &s.restart {
                Some(r) => format!(
                    "restartable(max {}, retries {}, backoff {:?})",
                    r.max_restarts, r.retries, r.backoff
                ),
                None => "not restartable".to_owned(),
            };
            writeln!(
                f,
                "  {}: lanes {:?}, {restart}, fail 1/{} once, 1/{} always, slow {}, \
                 added after {:?}, stopped after {:?}",
                s.name,
                s.lanes,
                s.fail_every,
                s.always_every,
                s.slowness,
                s.added_after,
                s.stopped_after
            )?;
        }
        Ok(())
    }
}

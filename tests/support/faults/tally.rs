//! What the trials exercised, summed over a run: so that a passing run
//! shows it did inject failures, restart during the drain, add and stop
//! actors, and hit the deadline.

use std::{fmt, sync::atomic::Ordering};

use maiko::*;

use super::trial::{Observed, Presence};

/// Counts over one or more trials.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub trials: u64,
    pub failed_trials: u64,
    pub accepted: u64,
    pub handled: u64,
    pub restarts: u64,
    /// Instances started after the stop request.
    pub restarts_in_drain: u64,
    pub letters_failed: u64,
    pub letters_actor_failed: u64,
    pub letters_abandoned: u64,
    pub added: u64,
    pub add_refused: u64,
    pub stopped: u64,
    pub stop_refused: u64,
    pub deadline_hit: u64,
}

impl Tally {
    /// The counts of one trial.
    pub fn of(seen: &Observed) -> Self {
        let mut tally = Self {
            trials: 1,
            accepted: seen.sent.iter().map(|s| s.len() as u64).sum(),
            deadline_hit: u64::from(seen.report.deadline_hit),
            ..Self::default()
        };
        for actor in &seen.report.actors {
            tally.handled += actor.handled;
            tally.restarts += u64::from(actor.restarts);
        }
        for record in &seen.records {
            tally.restarts_in_drain +=
                u64::from(record.starts_while_stopping.load(Ordering::SeqCst));
        }
        for letter in &seen.letters {
            match letter.reason() {
                DeadReason::Failed(_) => tally.letters_failed += 1,
                DeadReason::ActorFailed => tally.letters_actor_failed += 1,
                DeadReason::Abandoned => tally.letters_abandoned += 1,
                _ => {}
            }
        }
        for presence in &seen.presence {
            match presence {
                Presence::Added { .. } => tally.added += 1,
                Presence::Refused(_) => tally.add_refused += 1,
                Presence::Initial => {}
            }
        }
        for call in seen.stops.iter().flatten() {
            if call.result.is_ok() {
                tally.stopped += 1;
            } else {
                tally.stop_refused += 1;
            }
        }
        tally
    }

    pub fn add(&mut self, other: &Self) {
        self.trials += other.trials;
        self.failed_trials += other.failed_trials;
        self.accepted += other.accepted;
        self.handled += other.handled;
        self.restarts += other.restarts;
        self.restarts_in_drain += other.restarts_in_drain;
        self.letters_failed += other.letters_failed;
        self.letters_actor_failed += other.letters_actor_failed;
        self.letters_abandoned += other.letters_abandoned;
        self.added += other.added;
        self.add_refused += other.add_refused;
        self.stopped += other.stopped;
        self.stop_refused += other.stop_refused;
        self.deadline_hit += other.deadline_hit;
    }
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} trials ({} failed): {} events accepted, {} copies handled, {} restarts \
             ({} instances started during the drain); dead letters: {} Failed, \
             {} ActorFailed, {} Abandoned; actors added {} (refused {}), stopped {} \
             (refused {}); deadline hit in {} trials",
            self.trials,
            self.failed_trials,
            self.accepted,
            self.handled,
            self.restarts,
            self.restarts_in_drain,
            self.letters_failed,
            self.letters_actor_failed,
            self.letters_abandoned,
            self.added,
            self.add_refused,
            self.stopped,
            self.stop_refused,
            self.deadline_hit
        )
    }
}

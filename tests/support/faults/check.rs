//! Comparing what a fault trial accepted with what its subscribers handled
//! and what reached the dead letters.
//!
//! Per subscriber and producer, `L` is the producer's accepted events on
//! the subscriber's lanes, in order, and `R` the ones the subscriber
//! handled (its handler returned `Ok`) or has a dead letter for. Then:
//!
//! - no event is in `R` twice: never handled twice, never two letters,
//!   never handled and a letter;
//! - `R` holds only events of `L`, and is one run of consecutive events of
//!   `L` (routing is in order and an actor enters and leaves the routing
//!   table once), with gaps only for interrupted handlers;
//! - a subscriber registered before the start has the run from `L`'s first
//!   event; one added while running has at least every event whose publish
//!   started after its `add_*` returned `Ok`; one that was not stopped has
//!   the run to `L`'s last event (unless routing tasks were aborted at the
//!   deadline, which leaves the tail unrouted); one stopped with
//!   `stop_actor` has no event whose publish started after the call began;
//! - the handled ones are in `L`'s order;
//! - each event's outcome is one the rule, the restart policy and the
//!   report allow: handled only if the rule lets some attempt succeed;
//!   `Failed` only if an attempt failed, with the error of the last failed
//!   attempt, after exactly `retry_event + 1` attempts (1 for an event that
//!   fails once) unless the actor failed for good; `ActorFailed` only if the
//!   actor failed for good, and after every event of that producer it
//!   handled; `Abandoned` only if the deadline was hit; never `Dropped`
//!   (every topic blocks);
//!
//! and per actor: its report balances, counts as handled what its handlers
//! returned `Ok` for, has as many dead letters as `dropped + lost +
//! abandoned`, counts a restart per failure (but the last, if it failed for
//! good), fails for good exactly when the rule and its budget say so (or
//! at the deadline), runs one `on_shutdown` per instance started, and the
//! report `stop_actor` returned is its entry in the final report. Besides,
//! no send that began after `request_stop` returned was accepted, and a
//! trial whose long shutdown timeout was hit has stalled.

use std::collections::HashMap;

use maiko::*;

use super::{
    Ev, Fate, Key, Params, Record, SubSpec, failure_text, fate, panics,
    params::LONG_TIMEOUT,
    trial::{Observed, Presence, Sent},
};

/// Problems printed per subscriber before the rest are only counted.
const SHOWN_PER_SUBSCRIBER: usize = 6;

/// The problems of one trial; empty if it passed.
pub fn check(params: &Params, seen: &Observed) -> Vec<String> {
    let mut problems = seen.notes.clone();
    let report = &seen.report;
    if !params.short_deadline && report.deadline_hit {
        problems.push(format!(
            "the drain hit the {LONG_TIMEOUT:?} shutdown timeout: it stalled\n{report}"
        ));
    }
    for (p, sent) in seen.sent.iter().enumerate() {
        if let Some(late) = sent.iter().find(|s| s.start > seen.stop_tick) {
            problems.push(format!(
                "producer{p}: seq {} was accepted although its send began after \
                 request_stop returned",
                late.seq
            ));
        }
    }

    let mut letters: HashMap<&str, Vec<&DeadLetter<Ev>>> = HashMap::new();
    for letter in &seen.letters {
        letters
            .entry(letter.actor().as_str())
            .or_default()
            .push(letter);
    }
    for (i, spec) in params.subs.iter().enumerate() {
        let mine = letters.remove(spec.name.as_str()).unwrap_or_default();
        let mut found = Vec::new();
        match &seen.presence[i] {
            Presence::Refused(_) => {
                if report.actor(&spec.name).is_some() || !mine.is_empty() {
                    found.push("refused by add_*, yet in the report or the letters".to_owned());
                }
            }
            presence => Subscriber {
                params,
                seen,
                index: i,
                spec,
                record: &seen.records[i],
                letters: &mine,
                added: match presence {
                    Presence::Added { tick } => Some(*tick),
                    _ => None,
                },
            }
            .check(&mut found),
        }
        if !found.is_empty() {
            let more = found.len().saturating_sub(SHOWN_PER_SUBSCRIBER);
            found.truncate(SHOWN_PER_SUBSCRIBER);
            if more > 0 {
                found.push(format!("... and {more} more"));
            }
            problems.extend(found.into_iter().map(|f| format!("{}: {f}", spec.name)));
        }
    }
    for (actor, rest) in letters {
        problems.push(format!(
            "{} dead letters for {actor}, which is no subscriber",
            rest.len()
        ));
    }
    if !problems.is_empty() {
        problems.push(format!("report:\n{report}"));
    }
    problems
}

/// Whether two reports of one actor say the same of its events and its
/// end (what it was stuck in is left out: the final report may know more).
fn same_figures(a: &ActorReport, b: &ActorReport) -> bool {
    let figures = |r: &ActorReport| {
        (
            r.routed,
            r.handled,
            r.dropped,
            r.lost,
            r.abandoned,
            r.interrupted,
            r.outcome.clone(),
            r.restarts,
        )
    };
    a.actor == b.actor && figures(a) == figures(b)
}

/// What one subscriber's checks need.
struct Subscriber<'a> {
    params: &'a Params,
    seen: &'a Observed,
    index: usize,
    spec: &'a SubSpec,
    record: &'a Record,
    letters: &'a [&'a DeadLetter<Ev>],
    /// The tick taken once it was added, if it was added while running.
    added: Option<u64>,
}

impl Subscriber<'_> {
    fn check(&self, found: &mut Vec<String>) {
        let report = &self.seen.report;
        let Some(entry) = report.actor(&self.spec.name) else {
            found.push("missing from the report".to_owned());
            return;
        };
        let handled = self.record.handled.lock().unwrap().clone();
        self.check_report(entry, handled.len(), found);
        let failed_for_good = matches!(entry.outcome, ActorOutcome::Failed(_));

        // Every outcome of every event, and no event twice.
        let mut outcomes: HashMap<Key, Option<&DeadReason>> = HashMap::new();
        for &key in &handled {
            if outcomes.insert(key, None).is_some() {
                found.push(format!("{key:?} handled twice"));
            }
        }
        for letter in self.letters {
            let event = letter.event();
            let key = (event.producer, event.seq);
            match outcomes.insert(key, Some(letter.reason())) {
                Some(None) => found.push(format!(
                    "{key:?} handled and also a dead letter ({})",
                    letter.reason()
                )),
                Some(Some(_)) => found.push(format!("{key:?} has two dead letters")),
                None => {}
            }
        }
        for (&key, outcome) in &outcomes {
            if let Some(problem) = self.wrong_outcome(key, *outcome, failed_for_good) {
                found.push(format!("{key:?}: {problem}"));
            }
        }
        self.check_order(&handled, found);
        self.check_runs(&outcomes, entry, found);
    }

    /// The report of the actor against its record and its letters.
    fn check_report(&self, entry: &ActorReport, handled: usize, found: &mut Vec<String>) {
        if !entry.is_balanced() {
            found.push(format!("report does not balance: {entry:?}"));
        }
        let dead = entry.dropped + entry.lost + entry.abandoned;
        if self.letters.len() as u64 != dead {
            found.push(format!(
                "{} dead letters, but dropped + lost + abandoned = {dead}",
                self.letters.len()
            ));
        }
        if entry.handled != handled as u64 {
            found.push(format!(
                "report counts {} handled, the handlers returned Ok {handled} times",
                entry.handled
            ));
        }
        if entry.dropped != 0 {
            found.push(format!("{} dropped under a Block topic", entry.dropped));
        }
        if let Some(Some(call)) = self.seen.stops.get(self.index)
            && let Ok(returned) = &call.result
            && !same_figures(returned, entry)
        {
            found.push(format!(
                "stop_actor returned {returned:?}, the final report has {entry:?}"
            ));
        }
        let failed_for_good = matches!(entry.outcome, ActorOutcome::Failed(_));
        let failures = self
            .record
            .failures
            .load(std::sync::atomic::Ordering::SeqCst);
        match self.spec.restart {
            None => {
                if entry.restarts != 0 || failed_for_good != (failures > 0) {
                    found.push(format!(
                        "not restartable, {failures} failed attempts, yet {} restarts \
                         and outcome {}",
                        entry.restarts, entry.outcome
                    ));
                }
            }
            Some(restart) => {
                let restarts_ok = if failed_for_good {
                    entry.restarts == failures || entry.restarts + 1 == failures
                } else {
                    entry.restarts == failures
                };
                if !restarts_ok {
                    found.push(format!(
                        "{failures} failed attempts but {} restarts (outcome {})",
                        entry.restarts, entry.outcome
                    ));
                }
                if failed_for_good && restart.generous && !self.seen.report.deadline_hit {
                    found.push(format!(
                        "failed for good with a generous budget and no deadline: {}",
                        entry.outcome
                    ));
                }
                if !failed_for_good && failures > restart.max_restarts {
                    found.push(format!(
                        "{failures} failures exceed max_restarts {} but it did not fail \
                         for good",
                        restart.max_restarts
                    ));
                }
            }
        }
        if entry.outcome != ActorOutcome::Aborted {
            let starts = self.record.starts.load(std::sync::atomic::Ordering::SeqCst);
            let shutdowns = self
                .record
                .shutdowns
                .load(std::sync::atomic::Ordering::SeqCst);
            if starts != shutdowns {
                found.push(format!(
                    "{starts} instances started but {shutdowns} on_shutdown calls"
                ));
            }
        }
    }

    /// Why `outcome` (`None`: handled) is not one the rule, the policy and
    /// the report allow for `key`, if it is not.
    fn wrong_outcome(
        &self,
        key: Key,
        outcome: Option<&DeadReason>,
        failed_for_good: bool,
    ) -> Option<String> {
        let Some(sent) = self.sent(key) else {
            return Some("not an accepted event".to_owned());
        };
        if !self.spec.takes(sent.lane) {
            return Some(format!("of lane {}, which it does not take", sent.lane));
        }
        let fate = fate(self.params.seed, self.index, self.spec, key);
        let retries = self.spec.restart.map(|r| r.retries);
        // Whether some attempt succeeds if nothing else intervenes.
        let can_succeed = match fate {
            Fate::Fine => true,
            Fate::FailOnce => retries.is_some_and(|r| r >= 1),
            Fate::AlwaysFail => false,
        };
        let attempts = self.record.failed_attempts_of(key);
        match outcome {
            None if can_succeed => None,
            None => Some(format!("handled, but the rule fails it ({fate:?})")),
            Some(DeadReason::Failed(error)) => {
                if fate == Fate::Fine || attempts == 0 {
                    return Some(format!("Failed ({error}) but no attempt failed ({fate:?})"));
                }
                if can_succeed && !failed_for_good {
                    return Some(format!(
                        "Failed ({error}) though a retry succeeds and the actor did not \
                         fail for good ({fate:?}, {attempts} failed attempts)"
                    ));
                }
                if let Some(r) = retries
                    && !failed_for_good
                {
                    let expected = if fate == Fate::AlwaysFail { r + 1 } else { 1 };
                    if attempts != expected {
                        return Some(format!(
                            "Failed after {attempts} attempts, expected {expected} \
                             (retry_event {r}, {fate:?})"
                        ));
                    }
                }
                let last = attempts - 1;
                let panicked = panics(self.params.seed, self.index, key, last);
                let text = failure_text(&self.spec.name, key, last, panicked);
                let matches = match error {
                    Error::Panicked(message) => panicked && *message == text,
                    Error::External(inner) => !panicked && inner.to_string() == text,
                    _ => false,
                };
                (!matches).then(|| {
                    format!("Failed with {error:?}, expected the last attempt's: {text:?}")
                })
            }
            Some(DeadReason::ActorFailed) if failed_for_good => None,
            Some(DeadReason::ActorFailed) => {
                Some("ActorFailed, but the actor did not fail for good".to_owned())
            }
            Some(DeadReason::Abandoned) if self.seen.report.deadline_hit => None,
            Some(DeadReason::Abandoned) => {
                Some("Abandoned, but the deadline was not hit".to_owned())
            }
            Some(other) => Some(format!("unexpected dead letter: {other}")),
        }
    }

    fn sent(&self, key: Key) -> Option<&Sent> {
        let sent = self.seen.sent.get(usize::from(key.0))?;
        let at = sent.binary_search_by_key(&key.1, |s| s.seq).ok()?;
        Some(&sent[at])
    }

    /// Handled in each producer's order.
    fn check_order(&self, handled: &[Key], found: &mut Vec<String>) {
        let mut last: HashMap<u16, u32> = HashMap::new();
        for &(producer, seq) in handled {
            if let Some(before) = last.insert(producer, seq)
                && before >= seq
            {
                found.push(format!(
                    "producer{producer}: handled {seq} after {before} (out of order)"
                ));
            }
        }
    }

    /// The run of each producer's events it got, against what it was meant
    /// to get (see the module docs).
    fn check_runs(
        &self,
        outcomes: &HashMap<Key, Option<&DeadReason>>,
        entry: &ActorReport,
        found: &mut Vec<String>,
    ) {
        let report = &self.seen.report;
        let stop_tick = match self.seen.stops.get(self.index) {
            Some(Some(call)) if call.result.is_ok() => Some(call.tick),
            _ => None,
        };
        let mut gaps = 0;
        for (p, sent) in self.seen.sent.iter().enumerate() {
            let producer = u16::try_from(p).expect("few producers");
            let lane: Vec<&Sent> = sent.iter().filter(|s| self.spec.takes(s.lane)).collect();
            let got: Vec<usize> = (0..lane.len())
                .filter(|&at| outcomes.contains_key(&(producer, lane[at].seq)))
                .collect();
            // The first event it must get, if any.
            let must_from = match self.added {
                None => 0,
                Some(tick) => lane
                    .iter()
                    .position(|s| s.start > tick)
                    .unwrap_or(lane.len()),
            };
            let (Some(&first), Some(&last)) = (got.first(), got.last()) else {
                if stop_tick.is_none() && must_from < lane.len() && report.unrouted == 0 {
                    found.push(format!(
                        "producer{producer}: got none of its {} events from seq {}",
                        lane.len() - must_from,
                        lane[must_from].seq
                    ));
                }
                continue;
            };
            gaps += (last - first + 1) - got.len();
            if self.added.is_none() && first != 0 {
                found.push(format!(
                    "producer{producer}: registered before the start, yet missed seq {} \
                     and got {} first",
                    lane[0].seq, lane[first].seq
                ));
            }
            if must_from < lane.len() && first > must_from {
                found.push(format!(
                    "producer{producer}: missed seq {} although its send began after \
                     the actor was added (got {} first)",
                    lane[must_from].seq, lane[first].seq
                ));
            }
            match stop_tick {
                Some(tick) => {
                    if lane[last].start > tick {
                        found.push(format!(
                            "producer{producer}: got seq {} whose send began after \
                             stop_actor had begun",
                            lane[last].seq
                        ));
                    }
                }
                None => {
                    if last + 1 < lane.len() && report.unrouted == 0 {
                        found.push(format!(
                            "producer{producer}: got seq {} last, missed the {} after it \
                             (from seq {})",
                            lane[last].seq,
                            lane.len() - last - 1,
                            lane[last + 1].seq
                        ));
                    }
                }
            }
            // After failing for good, nothing more is handled.
            let first_actor_failed = got
                .iter()
                .map(|&at| lane[at].seq)
                .filter(|&seq| {
                    matches!(
                        outcomes.get(&(producer, seq)),
                        Some(Some(DeadReason::ActorFailed))
                    )
                })
                .min();
            let last_handled = got
                .iter()
                .map(|&at| lane[at].seq)
                .filter(|&seq| matches!(outcomes.get(&(producer, seq)), Some(None)))
                .max();
            if let (Some(failed), Some(handled)) = (first_actor_failed, last_handled)
                && handled > failed
            {
                found.push(format!(
                    "producer{producer}: handled {handled} after {failed} was lost as \
                     ActorFailed"
                ));
            }
        }
        if gaps as u64 > entry.interrupted {
            found.push(format!(
                "{gaps} events missing inside the runs it got, {} interrupted",
                entry.interrupted
            ));
        }
    }
}

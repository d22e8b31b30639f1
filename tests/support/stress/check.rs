//! Comparing, after the shutdown, what was accepted with what was handled,
//! and the report with both.

use std::{
    collections::{HashMap, HashSet},
    sync::atomic::Ordering,
};

use maiko::*;

use super::{
    Lane,
    actors::Shared,
    tally::{Tally, TrialOutcome},
    trial::Participant,
};

/// Per participant: `(lane, seq)` of every accepted publish, in order.
type Accepted = [Vec<(Lane, u32)>];

/// Compare what was accepted with what was handled, and the report with
/// both.
pub(super) fn check(
    parts: &[Participant],
    shared: &Shared,
    report: &ShutdownReport,
    note: Option<String>,
) -> TrialOutcome {
    let mut outcome = TrialOutcome {
        tally: Tally {
            trials: 1,
            ..Tally::default()
        },
        notes: Vec::new(),
    };
    // A failed `stop()` or `join()` means the shutdown was not clean.
    outcome.tally.unclean += u64::from(note.is_some());
    outcome.notes.extend(note);
    let accepted: Vec<Vec<(Lane, u32)>> = shared
        .accepted
        .iter()
        .map(|a| a.lock().unwrap().clone())
        .collect();

    outcome.check_publishes(shared, &accepted);
    for (s, sub) in parts.iter().enumerate() {
        let handled = shared.handled[s].lock().unwrap().clone();
        outcome.check_handled_count(sub, handled.len(), report);
        if let Some(lanes) = &sub.lanes {
            outcome.check_deliveries(s, lanes, handled, parts, &accepted);
        }
    }
    outcome.check_report(parts, report);

    if outcome.tally.failures() > 0 {
        outcome.notes.push(format!("report: {report}"));
    }
    outcome
}

/// How one publisher's events, as one subscriber handled them, differ from
/// what was accepted on the subscriber's lanes.
struct StreamFaults {
    /// Accepted, never handled (G1), in order.
    lost: Vec<u32>,
    /// Handled again (G1).
    duplicated: u64,
    /// Handled, never accepted (G2).
    unaccepted: Vec<u32>,
    /// Handled after a later one (G4).
    out_of_order: usize,
}

impl StreamFaults {
    /// Compare the sequence numbers `handled`, in the order they were
    /// handled, with the set that was `accepted`.
    fn compare(accepted: &HashSet<u32>, handled: &[u32]) -> Self {
        let mut seen = HashSet::new();
        let (mut lost, mut duplicated, mut unaccepted) = (Vec::new(), 0, Vec::new());
        for &seq in handled {
            if !seen.insert(seq) {
                duplicated += 1;
            } else if !accepted.contains(&seq) {
                unaccepted.push(seq);
            }
        }
        lost.extend(accepted.difference(&seen).copied());
        lost.sort_unstable();
        let out_of_order = handled.windows(2).filter(|w| w[1] <= w[0]).count();
        Self {
            lost,
            duplicated,
            unaccepted,
            out_of_order,
        }
    }

    fn any(&self) -> bool {
        !self.lost.is_empty()
            || self.duplicated > 0
            || !self.unaccepted.is_empty()
            || self.out_of_order > 0
    }
}

impl TrialOutcome {
    /// What the publishers recorded: the publishes accepted and refused,
    /// outside publishes accepted after the stop request had returned (G2),
    /// handler publishes refused while draining, and refusals that are not
    /// a clean `Stopping` with the event.
    fn check_publishes(&mut self, shared: &Shared, accepted: &Accepted) {
        let tally = &mut self.tally;
        tally.events_accepted = accepted.iter().map(|a| a.len() as u64).sum();
        tally.refused = shared.refused.load(Ordering::SeqCst);
        tally.cut_short = u64::from(tally.refused > 0);
        let late_accepts = shared.late_accepts.load(Ordering::SeqCst);
        tally.accepted_after_close += late_accepts;
        if late_accepts > 0 {
            self.notes.push(format!(
                "{late_accepts} publishes from outside the handlers were accepted after the stop request had returned",
            ));
        }
        tally.handler_refusals = shared.handler_refusals.load(Ordering::SeqCst);
        if tally.handler_refusals > 0 {
            self.notes.push(format!(
                "{} publishes from handle_event were refused while draining",
                tally.handler_refusals
            ));
        }
        tally.bad_refusals = shared.bad_refusals.load(Ordering::SeqCst);
        if tally.bad_refusals > 0 {
            self.notes.push(format!(
                "{} refusals were not a clean `Stopping` with the event",
                tally.bad_refusals
            ));
        }
    }

    /// The participant's entry in the report, if it has one, counts the
    /// `handled` events the participant recorded.
    fn check_handled_count(&mut self, sub: &Participant, handled: usize, report: &ShutdownReport) {
        self.tally.deliveries += handled as u64;
        if let Some(a) = report.actor(&sub.name)
            && a.handled != handled as u64
        {
            self.tally.report_mismatches += 1;
            self.notes.push(format!(
                "{}: the report says handled {}, the actor counted {handled}",
                sub.name, a.handled,
            ));
        }
    }

    /// Subscriber `s`, which takes `lanes`, handled only events on them, and
    /// from every other publisher exactly the ones accepted on them, each
    /// once, in accepted order (G1, G2, G4); never one of its own, nor one
    /// of an unknown publisher.
    fn check_deliveries(
        &mut self,
        s: usize,
        lanes: &[Lane],
        handled: Vec<(Lane, u16, u32)>,
        parts: &[Participant],
        accepted: &Accepted,
    ) {
        let sub = &parts[s];
        let mut by_publisher = self.by_publisher(sub, lanes, handled);
        for (p, from) in accepted.iter().enumerate() {
            let publisher = u16::try_from(p).expect("few participants");
            let actual = by_publisher.remove(&publisher).unwrap_or_default();
            if p == s {
                // The broker never routes a publisher's event back to it.
                self.tally.misrouted += actual.len() as u64;
                continue;
            }
            let expected: HashSet<u32> = from
                .iter()
                .filter(|(lane, _)| lanes.contains(lane))
                .map(|&(_, seq)| seq)
                .collect();
            self.check_stream(sub, &parts[p], &expected, &actual);
        }
        for (publisher, seqs) in by_publisher {
            self.tally.accepted_after_close += seqs.len() as u64;
            self.notes.push(format!(
                "{} handled events of unknown publisher {publisher}",
                sub.name
            ));
        }
    }

    /// The sequence numbers `sub` handled on its `lanes`, per publisher, in
    /// the order handled; counts what it handled on any other lane as
    /// misrouted.
    fn by_publisher(
        &mut self,
        sub: &Participant,
        lanes: &[Lane],
        handled: Vec<(Lane, u16, u32)>,
    ) -> HashMap<u16, Vec<u32>> {
        let mut by_publisher: HashMap<u16, Vec<u32>> = HashMap::new();
        for (lane, publisher, seq) in handled {
            if lanes.contains(&lane) {
                by_publisher.entry(publisher).or_default().push(seq);
            } else {
                self.tally.misrouted += 1;
                self.notes.push(format!(
                    "{} handled {lane:?} #{seq} of participant {publisher}",
                    sub.name
                ));
            }
        }
        by_publisher
    }

    /// `sub` handled `actual` of `publisher`'s events: exactly the
    /// `expected` ones, each once, in order.
    fn check_stream(
        &mut self,
        sub: &Participant,
        publisher: &Participant,
        expected: &HashSet<u32>,
        actual: &[u32],
    ) {
        let faults = StreamFaults::compare(expected, actual);
        self.tally.lost += faults.lost.len() as u64;
        self.tally.duplicated += faults.duplicated;
        self.tally.accepted_after_close += faults.unaccepted.len() as u64;
        self.tally.out_of_order += faults.out_of_order as u64;
        if faults.any() {
            let StreamFaults {
                lost,
                duplicated,
                unaccepted,
                out_of_order,
            } = faults;
            self.notes.push(format!(
                "{} from {}: accepted {}, handled {}; lost {:?}, duplicated {duplicated}, \
                 handled but never accepted {:?}, out of order {out_of_order}",
                sub.name,
                publisher.name,
                expected.len(),
                actual.len(),
                &lost[..lost.len().min(16)],
                &unaccepted[..unaccepted.len().min(16)],
            ));
        }
    }

    /// The report lists every actor, each balances, and it is clean.
    fn check_report(&mut self, parts: &[Participant], report: &ShutdownReport) {
        let actors = parts.iter().filter(|p| p.actor).count();
        if report.actors.len() != actors {
            self.tally.report_mismatches += 1;
            self.notes.push(format!(
                "the report lists {} actors, {actors} were registered",
                report.actors.len()
            ));
        }
        for a in &report.actors {
            if !a.is_balanced() {
                self.tally.unbalanced += 1;
                self.notes.push(format!("unbalanced: {a:?}"));
            }
        }
        if !report.is_clean() {
            self.tally.unclean += 1;
        }
    }
}

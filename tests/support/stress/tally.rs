//! The counts of one or many trials, and the summary line they print.

use std::fmt;

/// Declares [`Tally`] from one list of fields, in the order of the summary
/// line. Each field is a `failure` (must end at zero; counted by
/// `Tally::failures`) or a `count` (anything goes), and brings its own
/// piece of the summary line, separators included, with `{}` for its
/// value. From the list come the struct, `Tally::add`, `Tally::failures`
/// and `Display`.
macro_rules! tally {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident: $kind:ident $text:literal,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default)]
        pub struct $name {
            $(
                $(#[$field_meta])*
                pub $field: u64,
            )*
        }

        impl $name {
            /// Add another tally to this one.
            pub fn add(&mut self, other: &Self) {
                $(self.$field += other.$field;)*
            }

            /// The sum of every failure count.
            pub fn failures(&self) -> u64 {
                0 $(+ tally!(@if_failure $kind, self.$field))*
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                $(write!(f, $text, self.$field)?;)*
                Ok(())
            }
        }
    };
    (@if_failure failure, $value:expr) => {
        $value
    };
    (@if_failure count, $value:expr) => {
        0
    };
}

tally! {
    /// Counts over one or many trials. Every `failure` field must end at
    /// zero; the `count` fields only describe the run.
    pub struct Tally {
        /// Trials run.
        trials: count "G1/G2/G4: {} trials",
        /// Accepted events a subscriber of their lane never handled (G1).
        lost: failure ", {} lost",
        /// Events a subscriber handled more than once (G1).
        duplicated: failure ", {} duplicated",
        /// Events handled that were never accepted, plus publishes from
        /// outside the handlers accepted although they started after the
        /// stop request had returned (G2).
        accepted_after_close: failure ", {} accepted-after-close",
        /// Events a subscriber handled after a later one from the same
        /// publisher (G4).
        out_of_order: failure ", {} out of order",
        /// Trials that did not finish within the timeout.
        hangs: failure ", {} hangs",
        /// Actor reports with `routed != handled + dropped + lost +
        /// abandoned + interrupted`.
        unbalanced: failure ", {} unbalanced",
        /// Reports that are not clean, or a `stop()`/`join()` that failed.
        unclean: failure ", {} unclean",
        /// Actor reports whose `handled` differs from what the actor
        /// recorded, or missing actor reports.
        report_mismatches: failure ", {} report mismatches",
        /// Events handled by an actor not subscribed to their lane.
        misrouted: failure ", {} misrouted",
        /// Publishes from `handle_event` refused without strict shutdown.
        handler_refusals: failure ", {} handler refusals",
        /// Refusals with an error other than `Stopping`, or whose
        /// handed-back event is not the one published.
        bad_refusals: failure ", {} bad refusals",
        /// Publishes that returned `Ok`.
        events_accepted: count " ({} events accepted",
        /// Events handled by subscribers.
        deliveries: count ", {} deliveries checked",
        /// Publishes refused with `Stopping` (the stop cut a stream short).
        refused: count ", {} publishes refused at the stop",
        /// Trials in which at least one publish was refused.
        cut_short: count " in {} trials)",
    }
}

/// The result of one trial: its counts and, if any failed, what failed.
#[derive(Debug, Default)]
pub struct TrialOutcome {
    /// The counts.
    pub tally: Tally,
    /// Human-readable notes on each failure.
    pub notes: Vec<String>,
}

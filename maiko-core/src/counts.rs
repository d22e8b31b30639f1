//! The six counts of one actor's events, listed once.
//!
//! [`ActorReport`](crate::ActorReport), [`ActorFigures`](crate::ActorFigures)
//! and the cell's `Counters` carry the same six counts: `routed`, and the
//! five outcomes a routed copy settles as. [`event_counts!`] declares a
//! struct with those six fields (of any type, with their docs) between the
//! fields given before and after them; [`with_counts!`] builds such a
//! struct from a [`Counts`] and the other fields. A seventh count is added
//! here, and nowhere else.

/// Declare a struct whose fields are `head`, then the six counts (of the
/// given visibility and type), then `tail`.
macro_rules! event_counts {
    (
        $(#[$attr:meta])*
        $svis:vis struct $name:ident {
            head { $($head:tt)* }
            counts($cvis:vis $cty:ty)
            tail { $($tail:tt)* }
        }
    ) => {
        $(#[$attr])*
        $svis struct $name {
            $($head)*
            /// Events the broker routed to the actor (including ones then
            /// dropped or lost). Once the actor has ended, each is exactly
            /// one of the five counts below.
            $cvis routed: $cty,
            /// Events its `handle_event` handled: it returned `Ok`, or an
            /// error (or a panic) that `on_error` swallowed.
            $cvis handled: $cty,
            /// Events dropped under `OverflowPolicy::Drop` because its
            /// mailbox was full (dead letters, `DeadReason::Dropped`).
            $cvis dropped: $cty,
            /// Events lost: their handler failed (an error `on_error`
            /// propagated, or a panic) and they were not handed to the
            /// actor again, or the actor had failed for good (also by
            /// overflowing under `OverflowPolicy::Fail`). Each is a dead
            /// letter (`DeadReason::Failed` or `DeadReason::ActorFailed`).
            $cvis lost: $cty,
            /// Events left unhandled at the shutdown deadline: in its
            /// mailbox, or on their way to it (dead letters,
            /// `DeadReason::Abandoned`).
            $cvis abandoned: $cty,
            /// Events whose handler returned `Error::Interrupted`, or was
            /// still running when its task was aborted at the end of the
            /// grace.
            $cvis interrupted: $cty,
            $($tail)*
        }
    };
}

/// Build `$target` from the [`Counts`] `$counts` and the other fields.
macro_rules! with_counts {
    ($target:ident { $($field:ident: $value:expr),* $(,)? } from $counts:expr) => {{
        let counts: $crate::counts::Counts = $counts;
        $target {
            routed: counts.routed,
            handled: counts.handled,
            dropped: counts.dropped,
            lost: counts.lost,
            abandoned: counts.abandoned,
            interrupted: counts.interrupted,
            $($field: $value),*
        }
    }};
}

/// Apply `$f` to each of the six counts of `$from`, giving a [`Counts`]
/// (for the cell's atomic counters).
macro_rules! map_counts {
    ($from:expr, $f:expr) => {{
        let from = $from;
        let f = $f;
        $crate::counts::Counts {
            routed: f(&from.routed),
            handled: f(&from.handled),
            dropped: f(&from.dropped),
            lost: f(&from.lost),
            abandoned: f(&from.abandoned),
            interrupted: f(&from.interrupted),
        }
    }};
}

event_counts! {
    /// The six counts at one moment.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub(crate) struct Counts {
        head {}
        counts(pub(crate) u64)
        tail {}
    }
}

impl Counts {
    /// The copies settled so far: every outcome.
    pub(crate) fn settled(&self) -> u64 {
        self.handled + self.dropped + self.lost + self.abandoned + self.interrupted
    }
}

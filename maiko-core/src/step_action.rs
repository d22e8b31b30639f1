use std::{fmt, time::Duration};

/// What [`Actor::step`](crate::Actor::step) asks the runtime to do next.
///
/// `step()` always runs to completion: an arriving event never cancels it.
/// Between two steps the actor handles the events waiting in its mailbox
/// (at most `max_events_per_tick` of them), so a busy producer still reacts
/// to events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StepAction {
    /// Run `step()` again as soon as the pending events are handled.
    Continue,
    /// Yield to the tokio scheduler once, then run `step()` again.
    Yield,
    /// Run `step()` again after the next event has been handled.
    AwaitEvent,
    /// Run `step()` again after this delay; events are handled meanwhile.
    Backoff(Duration),
    /// Never run `step()` again. The default.
    #[default]
    Never,
}

impl fmt::Display for StepAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Continue => f.write_str("Continue"),
            Self::Yield => f.write_str("Yield"),
            Self::AwaitEvent => f.write_str("AwaitEvent"),
            Self::Backoff(delay) => write!(f, "Backoff({delay:?})"),
            Self::Never => f.write_str("Never"),
        }
    }
}

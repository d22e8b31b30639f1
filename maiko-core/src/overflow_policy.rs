use std::fmt;

/// What the broker does when a subscriber's mailbox is full.
///
/// Events travel in two stages: a publisher hands the event to the broker
/// (stage 1, always backpressured), then the broker puts one copy into the
/// mailbox of every subscriber of the event's topic (stage 2). The policy,
/// chosen per topic by [`Topic::overflow_policy`](crate::Topic::overflow_policy),
/// governs stage 2.
///
/// | policy | on a full mailbox | counted in the report as |
/// |---|---|---|
/// | [`Block`](Self::Block) (default) | the broker waits for space | nothing: the event is delivered |
/// | [`Drop`](Self::Drop) | this subscriber misses the event; a `tracing` warning | dropped |
/// | [`Fail`](Self::Fail) | the subscriber is stopped as failed; an error is logged and `stop()` returns an error naming it | lost |
///
/// `Block` is the default because it is the only policy that loses nothing.
/// A blocked delivery holds back the remaining events of the same publisher
/// (to keep their order) but not those of other publishers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OverflowPolicy {
    /// Stop the subscriber: it is marked failed, the event and whatever is
    /// still in its mailbox are counted as lost, its `on_shutdown` runs, and
    /// the failure is reported by [`Supervisor::stop`](crate::Supervisor::stop).
    Fail,
    /// Skip this subscriber for this event, count it as dropped and log a
    /// warning. Other subscribers still receive the event.
    Drop,
    /// Wait until the subscriber has room. Nothing is lost.
    #[default]
    Block,
}

impl OverflowPolicy {
    /// `true` for [`OverflowPolicy::Fail`].
    pub fn is_fail(&self) -> bool {
        matches!(self, Self::Fail)
    }

    /// `true` for [`OverflowPolicy::Drop`].
    pub fn is_drop(&self) -> bool {
        matches!(self, Self::Drop)
    }

    /// `true` for [`OverflowPolicy::Block`].
    pub fn is_block(&self) -> bool {
        matches!(self, Self::Block)
    }
}

impl fmt::Display for OverflowPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fail => "Fail",
            Self::Drop => "Drop",
            Self::Block => "Block",
        })
    }
}

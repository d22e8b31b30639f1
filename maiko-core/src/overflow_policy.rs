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
///
/// # Cycles under `Block`
///
/// Actors that publish from their handlers to each other can wait for each
/// other in a circle: `a` waits for room to publish, its routing loop waits
/// for room in `b`'s mailbox, `b` is inside a handler waiting for room to
/// publish, and so on back to `a`. The runtime detects such a cycle (only
/// publishers that actually wait take part, so it costs nothing otherwise,
/// and a slow consumer that is not itself waiting is never one), logs it
/// once (`a -> topic 'x' -> b -> topic 'y' -> a`), shows it in the live
/// [`Snapshot`](crate::Snapshot) and in the
/// [`ShutdownReport`](crate::ShutdownReport) if it stood at the stop, and
/// resolves it as the supervisor's [`CyclePolicy`] says: by default one
/// publish goes over capacity, so nothing is lost and everything moves
/// again, at the price of memory while the cycle stands.
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

/// What a publish does when it closes a cycle of actors waiting for each
/// other under [`OverflowPolicy::Block`] (see [cycles](OverflowPolicy#cycles-under-block)
/// and [`SupervisorConfig::with_cycle_policy`](crate::SupervisorConfig::with_cycle_policy)).
///
/// | policy | the publish that closes a cycle | trade-off |
/// |---|---|---|
/// | [`Exceed`](Self::Exceed) (default) | goes into the publisher's channel beyond its capacity, and returns `Ok` | nothing lost, progress; memory grows by one event per break, only while the cycle stands |
/// | [`Wait`](Self::Wait) | keeps waiting | bounded memory; the cycle is logged and reported, but it stands until the shutdown deadline |
/// | [`Refuse`](Self::Refuse) | returns [`Error::Cycle`](crate::Error::Cycle) with the event back | bounded memory, progress; the handler decides what to do with the event |
///
/// Publishes that go over capacity are counted per actor in the report
/// ([`ActorReport::over_capacity`](crate::ActorReport::over_capacity)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum CyclePolicy {
    /// Let the publish go over capacity, so the cycle unwinds.
    #[default]
    Exceed,
    /// Keep waiting; only log and report the cycle.
    Wait,
    /// Refuse the publish with [`Error::Cycle`](crate::Error::Cycle), handing
    /// the event back.
    Refuse,
}

impl fmt::Display for CyclePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exceed => "Exceed",
            Self::Wait => "Wait",
            Self::Refuse => "Refuse",
        })
    }
}

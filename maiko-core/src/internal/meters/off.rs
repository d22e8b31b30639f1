//! The meters without the feature `metrics`: sized zero, doing nothing.

/// One supervisor's meters.
#[derive(Debug)]
pub(crate) struct SupervisorMeters;

impl SupervisorMeters {
    pub(crate) fn new(_supervisor: &str) -> Self {
        Self
    }

    #[inline]
    pub(crate) fn refused(&self) {}

    pub(crate) fn cycle_broken(&self) {}

    #[inline]
    pub(crate) fn in_flight(&self, _count: impl FnOnce() -> u64) {}

    pub(crate) fn shutdown_phases(&self, _phases: &crate::PhaseTimes) {}
}

/// A routing loop's meter.
#[derive(Debug)]
pub(crate) struct LaneMeters;

impl LaneMeters {
    pub(crate) fn new(
        _supervisor: &SupervisorMeters,
        _publisher: Option<&str>,
        _broker: &str,
    ) -> Self {
        Self
    }

    #[inline]
    pub(crate) fn published(&self, _n: u64) {}
}

/// One actor's meters.
#[derive(Debug, Default)]
pub(crate) struct ActorMeters;

impl ActorMeters {
    pub(crate) fn new(_supervisor: &SupervisorMeters, _actor: &str) -> Self {
        Self
    }

    pub(crate) fn restarted(&self) {}

    #[inline]
    pub(crate) fn mailbox_depth(&self, _depth: impl FnOnce() -> usize) {}

    pub(crate) fn enrolled(&self) {}

    pub(crate) fn life(&self, _now: impl Fn() -> super::Life) {}

    #[inline]
    pub(crate) fn start_batch(&self) -> BatchClock {
        BatchClock
    }

    #[inline]
    pub(crate) fn end_batch<E>(
        &self,
        _clock: BatchClock,
        _copies: &[std::sync::Arc<crate::Envelope<E>>],
    ) {
    }

    pub(crate) fn dead_letter(&self, _reason: &crate::DeadReason) {}

    #[inline]
    pub(crate) fn routed(&self, _n: u64) {}

    #[inline]
    pub(crate) fn handled(&self, _n: u64) {}

    #[inline]
    pub(crate) fn dropped(&self, _n: u64) {}

    #[inline]
    pub(crate) fn lost(&self, _n: u64) {}

    #[inline]
    pub(crate) fn abandoned(&self, _n: u64) {}

    #[inline]
    pub(crate) fn interrupted(&self, _n: u64) {}
}

/// When a batch began: nothing to remember.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchClock;

impl BatchClock {
    pub(crate) fn forget(&mut self) {}
}

//! The seam with the feature `monitoring` off: every type is sized zero and
//! every method does nothing (see the [parent module](super)).

use std::{future::Ready, marker::PhantomData};

use tokio_util::sync::CancellationToken;

use crate::{ActorId, Error, OverflowPolicy, StepAction};

use super::super::mail::Mail;

/// A publisher's logical clock; always 0 here.
#[derive(Debug)]
pub(crate) struct Clock;

impl Clock {
    pub(crate) const fn new() -> Self {
        Clock
    }

    #[inline(always)]
    pub(crate) fn tick(&self) -> u64 {
        0
    }
}

/// One supervisor's monitoring: none.
pub(crate) struct Watch<E, T>(PhantomData<fn() -> (E, T)>);

impl<E, T> Clone for Watch<E, T> {
    fn clone(&self) -> Self {
        Self(PhantomData)
    }
}

/// A batch that no monitor watches.
pub(crate) struct Watching;

/// A copy no monitor sees.
pub(crate) struct Sight;

/// Nothing to drain.
pub(crate) struct Drain;

/// Nothing to tell when the actor stops.
pub(crate) struct StopRecord;

#[inline(always)]
fn done<R>(value: R) -> Ready<R> {
    std::future::ready(value)
}

impl<E, T> Watch<E, T> {
    pub(crate) fn new(_capacity: usize, _finished: CancellationToken) -> Self {
        Self(PhantomData)
    }

    #[inline(always)]
    pub(crate) fn watching(&self) -> Watching {
        Watching
    }

    #[inline(always)]
    pub(crate) fn registered(&self, _actor: &ActorId) {}

    #[inline(always)]
    pub(crate) fn on_stop(&self, _actor: &ActorId) -> StopRecord {
        StopRecord
    }

    pub(crate) fn drain(&self) -> Drain {
        Drain
    }
}

impl Watching {
    #[inline(always)]
    pub(crate) fn is_on(&self) -> bool {
        false
    }

    #[inline(always)]
    pub(crate) fn unseen(&self) -> Sight {
        Sight
    }

    #[inline(always)]
    pub(crate) fn overflow<E, T>(
        &self,
        _mail: &Mail<E>,
        _topic: &T,
        _actor: &ActorId,
        _policy: OverflowPolicy,
    ) -> Ready<()> {
        done(())
    }

    #[inline(always)]
    pub(crate) fn dispatched<E>(&self, _mail: &Mail<E>, _actor: &ActorId) -> Ready<Sight> {
        done(Sight)
    }

    #[inline(always)]
    pub(crate) fn delivered<E>(
        &self,
        _sight: &mut Sight,
        _mail: &Mail<E>,
        _actor: &ActorId,
        _clock: &Clock,
    ) -> Ready<()> {
        done(())
    }

    #[inline(always)]
    pub(crate) fn handled<E>(&self, _sight: Sight, _mail: &Mail<E>, _actor: &ActorId) -> Ready<()> {
        done(())
    }

    #[inline(always)]
    pub(crate) fn error(&self, _error: &Error, _actor: &ActorId) -> Ready<()> {
        done(())
    }

    #[inline(always)]
    pub(crate) fn step_enter(&self, _actor: &ActorId) -> Ready<()> {
        done(())
    }

    #[inline(always)]
    pub(crate) fn step_exit(&self, _action: StepAction, _actor: &ActorId) -> Ready<()> {
        done(())
    }
}

impl Drain {
    pub(crate) fn none() -> Self {
        Drain
    }

    pub(crate) fn drained(&self) -> Ready<()> {
        done(())
    }

    pub(crate) fn records_lost(&self) -> u64 {
        0
    }
}

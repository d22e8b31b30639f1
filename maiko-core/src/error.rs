use std::{fmt, sync::Arc, time::Duration};

use crate::ActorId;

/// The error type of every fallible maiko operation.
///
/// Each variant says what the caller can do about it. [`Error::Stopping`] is
/// not a failure: the runtime refused new work because it is shutting down,
/// and the work can be retried elsewhere (an HTTP handler would answer 503).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The runtime is shutting down and did not accept this publish. The
    /// event reached no one. Use a method that hands the event back
    /// ([`Context::publish`](crate::Context::publish),
    /// [`Supervisor::publish`](crate::Supervisor::publish),
    /// [`SupervisorHandle::send`](crate::SupervisorHandle::send)) to retry it
    /// elsewhere.
    Stopping,

    /// A handler or step gave up because the runtime is shutting down (see
    /// [`Context::stopping`](crate::Context::stopping)). Returned from
    /// `handle_event`, the event counts as interrupted, not as a failure, and
    /// the actor keeps running.
    Interrupted,

    /// A channel closed under the caller. Never returned: kept so that
    /// maiko 0.3 code matching on it compiles. A publish refused because
    /// the runtime is stopping is [`Error::Stopping`].
    #[deprecated(
        since = "0.4.0",
        note = "never returned: a closed gate or channel is reported as Error::Stopping"
    )]
    MailboxClosed,

    /// A mailbox was full. Never returned: kept so that maiko 0.3 code
    /// matching on it compiles. Publishes wait for room (stage 1) and a full
    /// mailbox is handled by the topic's
    /// [`OverflowPolicy`](crate::OverflowPolicy); under
    /// [`OverflowPolicy::Fail`](crate::OverflowPolicy::Fail) it is reported
    /// as [`Error::MailboxOverflow`].
    #[deprecated(
        since = "0.4.0",
        note = "never returned: a full mailbox follows the topic's OverflowPolicy \
                (Error::MailboxOverflow under Fail)"
    )]
    MailboxFull,

    /// The mailbox of this actor overflowed on a topic with
    /// [`OverflowPolicy::Fail`](crate::OverflowPolicy::Fail), so the actor was
    /// stopped. Give it a larger mailbox or another policy.
    MailboxOverflow(ActorId),

    /// The publish would have closed a cycle of actors waiting for each
    /// other under [`OverflowPolicy::Block`](crate::OverflowPolicy::Block),
    /// and the supervisor's [`CyclePolicy`](crate::CyclePolicy) is
    /// `Refuse`: the event reached no one (a method that hands it back
    /// returns it). The text names the cycle.
    Cycle(String),

    /// The supervisor was already started: actors can only be added before
    /// [`Supervisor::start`](crate::Supervisor::start), and `start` can only
    /// be called once.
    BrokerAlreadyStarted,

    /// An actor with this name is already registered on this supervisor.
    DuplicateActorName(ActorId),

    /// Actor names must not be empty or only whitespace.
    EmptyActorName,

    /// A channel capacity was zero; the name says which setting. Channels
    /// need room for at least one event.
    ZeroCapacity(&'static str),

    /// A setting has a value the runtime cannot work with; the text says
    /// which and why.
    InvalidConfig(&'static str),

    /// An actor failed: its handler, step or hook returned this error (and
    /// `on_error` propagated it), it panicked, or its mailbox overflowed.
    /// Returned by [`Supervisor::stop`](crate::Supervisor::stop) and
    /// [`Supervisor::join`](crate::Supervisor::join).
    ActorFailed {
        /// The actor that failed.
        actor: ActorId,
        /// What it failed with.
        error: Arc<Error>,
    },

    /// An actor's code panicked; the text is the panic message.
    Panicked(String),

    /// The shutdown did not finish within the configured timeout: this many
    /// events were abandoned. The [`ShutdownReport`](crate::ShutdownReport)
    /// says which actors were stuck and where.
    ShutdownTimedOut {
        /// The configured shutdown timeout.
        timeout: Duration,
        /// Events accepted but never handled.
        abandoned: u64,
    },

    /// A [`ShutdownGroup`](crate::ShutdownGroup) member needs a name.
    EmptyMemberName,

    /// A member of this name is already in the
    /// [`ShutdownGroup`](crate::ShutdownGroup).
    DuplicateMemberName(String),

    /// The [`ShutdownGroup`](crate::ShutdownGroup) has already started:
    /// supervisors can only be added before
    /// [`ShutdownGroup::start`](crate::ShutdownGroup::start), and `start`
    /// can only be called once.
    GroupAlreadyStarted,

    /// This supervisor cannot join a
    /// [`ShutdownGroup`](crate::ShutdownGroup); the text says why (it has
    /// started, it was stopped, or events were published through it
    /// before it was added). Add supervisors to their group right after
    /// registering their actors.
    UnusableMember(&'static str),

    /// A test harness's `settle_on` condition did not hold within this time;
    /// this many records had been made by then (feature `test-harness`).
    SettleTimeout(Duration, usize),

    /// [`SupervisorHandle::stop_actor`](crate::SupervisorHandle::stop_actor)
    /// found no running actor of this name: it was never added, or it has
    /// stopped already (stopped, stopped itself, or failed).
    ActorNotRunning(ActorId),

    /// [`Supervisor::dead_letters`](crate::Supervisor::dead_letters) was
    /// called a second time: a supervisor's dead letters have one taker.
    DeadLettersTaken,

    /// An actor was added through a
    /// [`SupervisorHandle`](crate::SupervisorHandle) with a topic type
    /// other than its supervisor's.
    TopicTypeMismatch(&'static str),

    /// An application error, wrapped with [`Error::external`].
    External(Arc<dyn std::error::Error + Send + Sync>),

    /// An I/O error.
    IoError(Arc<std::io::Error>),

    /// An error inside the runtime that the caller cannot fix. Never
    /// returned: kept so that maiko 0.3 code matching on it compiles.
    #[deprecated(since = "0.4.0", note = "never returned by this runtime")]
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// Wrap an application error.
    pub fn external(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::External(Arc::new(e))
    }

    /// `true` for [`Error::Stopping`].
    pub fn is_stopping(&self) -> bool {
        matches!(self, Self::Stopping)
    }

    pub(crate) fn unusable_member(reason: &'static str) -> Self {
        Self::UnusableMember(reason)
    }

    pub(crate) fn actor_failed(actor: &ActorId, error: Error) -> Self {
        Self::ActorFailed {
            actor: actor.clone(),
            error: Arc::new(error),
        }
    }
}

#[allow(deprecated)] // the deprecated variants still print and compare
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stopping => f.write_str("the runtime is stopping and accepts no new events"),
            Self::Interrupted => f.write_str("interrupted by the shutdown signal"),
            Self::MailboxClosed => f.write_str("mailbox closed"),
            Self::MailboxFull => f.write_str("mailbox full"),
            Self::MailboxOverflow(actor) => write!(
                f,
                "the mailbox of actor '{actor}' overflowed under OverflowPolicy::Fail"
            ),
            Self::Cycle(cycle) => write!(
                f,
                "refused: the publish would close a cycle of blocked actors ({cycle})"
            ),
            Self::BrokerAlreadyStarted => f.write_str("the supervisor has already started"),
            Self::DuplicateActorName(actor) => write!(f, "actor '{actor}' already exists"),
            Self::EmptyActorName => {
                f.write_str("an actor name must not be empty or only whitespace")
            }
            Self::ZeroCapacity(setting) => write!(f, "{setting} must be at least 1"),
            Self::InvalidConfig(reason) => write!(f, "invalid configuration: {reason}"),
            Self::ActorFailed { actor, error } => write!(f, "actor '{actor}' failed: {error}"),
            Self::Panicked(message) => write!(f, "panicked: {message}"),
            Self::ShutdownTimedOut { timeout, abandoned } => write!(
                f,
                "shutdown did not finish within {timeout:?}; {abandoned} events abandoned"
            ),
            Self::EmptyMemberName => f.write_str("a shutdown group member needs a name"),
            Self::DuplicateMemberName(name) => {
                write!(f, "the shutdown group already has a member '{name}'")
            }
            Self::GroupAlreadyStarted => f.write_str("the shutdown group has already started"),
            Self::UnusableMember(reason) => {
                write!(f, "the supervisor cannot join the shutdown group: {reason}")
            }
            Self::SettleTimeout(within, records) => write!(
                f,
                "the settle condition did not hold within {within:?}; {records} records were made"
            ),
            Self::ActorNotRunning(actor) => write!(
                f,
                "no running actor '{actor}': never added, or already stopped"
            ),
            Self::DeadLettersTaken => f.write_str("the dead letters were already taken"),
            Self::TopicTypeMismatch(topic) => write!(
                f,
                "the supervisor's topic type is not {topic}: add the actor with the supervisor's own topics"
            ),
            Self::External(e) => write!(f, "{e}"),
            Self::IoError(e) => write!(f, "I/O error: {e}"),
            Self::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

#[allow(deprecated)]
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ActorFailed { error, .. } => Some(error.as_ref()),
            Self::External(e) | Self::Internal(e) => Some(e.as_ref()),
            Self::IoError(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

#[allow(deprecated)]
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        use Error::*;
        match (self, other) {
            (Stopping, Stopping)
            | (Interrupted, Interrupted)
            | (MailboxClosed, MailboxClosed)
            | (MailboxFull, MailboxFull)
            | (BrokerAlreadyStarted, BrokerAlreadyStarted)
            | (EmptyActorName, EmptyActorName)
            | (EmptyMemberName, EmptyMemberName)
            | (GroupAlreadyStarted, GroupAlreadyStarted)
            | (DeadLettersTaken, DeadLettersTaken) => true,
            (TopicTypeMismatch(a), TopicTypeMismatch(b)) => a == b,
            (ActorNotRunning(a), ActorNotRunning(b)) => a == b,
            (DuplicateMemberName(a), DuplicateMemberName(b)) => a == b,
            (UnusableMember(a), UnusableMember(b)) => a == b,
            (Cycle(a), Cycle(b)) => a == b,
            (SettleTimeout(a, m), SettleTimeout(b, n)) => a == b && m == n,
            (MailboxOverflow(a), MailboxOverflow(b))
            | (DuplicateActorName(a), DuplicateActorName(b)) => a == b,
            (ZeroCapacity(a), ZeroCapacity(b)) | (InvalidConfig(a), InvalidConfig(b)) => a == b,
            (
                ActorFailed { actor, error },
                ActorFailed {
                    actor: other_actor,
                    error: other_error,
                },
            ) => actor == other_actor && error == other_error,
            (Panicked(a), Panicked(b)) => a == b,
            (
                ShutdownTimedOut { timeout, abandoned },
                ShutdownTimedOut {
                    timeout: t,
                    abandoned: a,
                },
            ) => timeout == t && abandoned == a,
            (External(a), External(b)) | (Internal(a), Internal(b)) => Arc::ptr_eq(a, b),
            (IoError(a), IoError(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Self::IoError(Arc::new(e))
    }
}

/// A publish that was refused, with the event handed back.
///
/// Returned by [`Context::publish`](crate::Context::publish),
/// [`Supervisor::publish`](crate::Supervisor::publish) and
/// [`SupervisorHandle::send`](crate::SupervisorHandle::send). Converts into
/// [`Error`] with `?`.
///
/// # Examples
///
/// ```
/// use maiko_core::{Error, SendError};
///
/// fn retry_elsewhere(refused: SendError<String>) -> String {
///     assert!(refused.is_stopping());
///     refused.into_event()
/// }
/// # let _ = retry_elsewhere;
/// ```
pub struct SendError<E> {
    error: Error,
    event: E,
}

impl<E> SendError<E> {
    pub(crate) fn new(error: Error, event: E) -> Self {
        Self { error, event }
    }

    pub(crate) fn stopping(event: E) -> Self {
        Self::new(Error::Stopping, event)
    }

    /// Why the publish was refused.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// `true` if it was refused because the runtime is stopping.
    pub fn is_stopping(&self) -> bool {
        self.error.is_stopping()
    }

    /// The event that was not published.
    pub fn event(&self) -> &E {
        &self.event
    }

    /// Take the event back.
    pub fn into_event(self) -> E {
        self.event
    }

    /// The reason, dropping the event.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl<E> fmt::Debug for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<E> fmt::Display for SendError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl<E> std::error::Error for SendError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<E> From<SendError<E>> for Error {
    fn from(e: SendError<E>) -> Self {
        e.error
    }
}

use std::{borrow::Cow, fmt, hash::Hash};

use crate::{Event, OverflowPolicy};

/// Classifies events for routing: actors subscribe to topics, and the broker
/// delivers each event to the subscribers of its topic.
///
/// # Examples
///
/// ```
/// use maiko_core::{Event, OverflowPolicy, Topic};
///
/// #[derive(Clone)]
/// enum Reading { Temperature(f64), Heartbeat }
/// impl Event for Reading {}
///
/// #[derive(Clone, Debug, Hash, PartialEq, Eq)]
/// enum Channel { Data, Telemetry }
///
/// impl Topic<Reading> for Channel {
///     fn from_event(event: &Reading) -> Self {
///         match event {
///             Reading::Temperature(_) => Channel::Data,
///             Reading::Heartbeat => Channel::Telemetry,
///         }
///     }
///
///     fn overflow_policy(&self) -> OverflowPolicy {
///         match self {
///             Channel::Data => OverflowPolicy::Block,
///             Channel::Telemetry => OverflowPolicy::Drop,
///         }
///     }
/// }
///
/// assert_eq!(Channel::from_event(&Reading::Heartbeat), Channel::Telemetry);
/// ```
pub trait Topic<E: Event>: Hash + PartialEq + Eq + Clone + Send + Sync + 'static {
    /// The topic of `event`. Called once per published event.
    fn from_event(event: &E) -> Self;

    /// What the broker does when a subscriber of this topic has a full
    /// mailbox. Defaults to [`OverflowPolicy::Block`], which loses nothing.
    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Block
    }

    /// A name for this topic in logs and in the
    /// [`ShutdownReport`](crate::ShutdownReport). Defaults to the type's
    /// name; `#[derive(SelfRouting)]` returns the variant's name.
    fn name(&self) -> Cow<'static, str> {
        let full = std::any::type_name::<Self>();
        Cow::Borrowed(full.rsplit("::").next().unwrap_or(full))
    }
}

/// The single topic every event belongs to: subscribers of `DefaultTopic`
/// receive everything. The default topic type of
/// [`Supervisor`](crate::Supervisor).
#[derive(Debug, Hash, Eq, PartialEq, Clone, Copy, Default)]
pub struct DefaultTopic;

impl<E: Event> Topic<E> for DefaultTopic {
    fn from_event(_event: &E) -> Self {
        DefaultTopic
    }

    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("default")
    }
}

impl fmt::Display for DefaultTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("default")
    }
}

use std::{borrow::Cow, fmt, hash::Hash};

use crate::{Event, OverflowPolicy};

/// The name of the broker every topic uses unless [`Topic::broker`] says
/// otherwise.
pub(crate) const DEFAULT_BROKER: &str = "default";

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
///
///     // Telemetry gets a broker of its own: a slow telemetry consumer
///     // never holds up the data.
///     fn broker(&self) -> &'static str {
///         match self {
///             Channel::Data => "default",
///             Channel::Telemetry => "telemetry",
///         }
///     }
/// }
///
/// assert_eq!(Channel::from_event(&Reading::Heartbeat), Channel::Telemetry);
/// assert_eq!(Channel::Telemetry.broker(), "telemetry");
/// ```
pub trait Topic<E: Event>: Hash + PartialEq + Eq + Clone + Send + Sync + 'static {
    /// The topic of `event`. Called once per published event.
    fn from_event(event: &E) -> Self;

    /// What the broker does when a subscriber of this topic has a full
    /// mailbox. Defaults to [`OverflowPolicy::Block`], which loses nothing.
    fn overflow_policy(&self) -> OverflowPolicy {
        OverflowPolicy::Block
    }

    /// The broker that routes events of this topic. Defaults to
    /// `"default"`.
    ///
    /// A supervisor runs one broker per name its topics give: each broker
    /// has its own channel from every publisher and its own routing loops,
    /// so a subscriber that holds up a `Block` topic of one broker never
    /// delays the topics of another. Events of one publisher keep their
    /// order within a broker; an actor subscribed to topics of two brokers
    /// receives from both, with no order promised between them. The brokers
    /// are indexed when the supervisor starts: choosing one costs nothing
    /// when every topic uses the default broker, and otherwise a hash lookup
    /// of the event's topic among the topics actors subscribe to by name.
    ///
    /// A topic that no actor subscribes to by name (its events only reach
    /// actors subscribed with [`Subscribe::all`](crate::Subscribe::all))
    /// is routed by its broker if some subscribed topic names the same
    /// broker, and by the default broker otherwise; finding its broker then
    /// compares its name with the names of the supervisor's brokers, one
    /// by one, for each such event.
    fn broker(&self) -> &'static str {
        DEFAULT_BROKER
    }

    /// A name for this topic in logs, in the
    /// [`ShutdownReport`](crate::ShutdownReport) and
    /// [`Snapshot`](crate::Snapshot) (where an actor waits), in cycle
    /// messages and in the test harness's records and pictures.
    ///
    /// # The default, and readable names
    ///
    /// By default the name is the type's own, the same for every value:
    /// the last segment of [`std::any::type_name`], borrowed (a scan of the
    /// type's path, nothing allocated). The default cannot name the
    /// variant: that needs `Debug` or [`Label`](crate::Label) of the value,
    /// and `Topic` does not require either, so that topics written for
    /// maiko 0.3 (which required neither) still compile.
    ///
    /// For each variant's name, derive [`Label`](crate::Label) (the `maiko`
    /// facade's `#[derive(Label)]`, which returns the variant's name as a
    /// `&'static str` chosen by a `match`) and return it here, as in the
    /// example below: the name then costs one `match`, with nothing to
    /// cache. `#[derive(SelfRouting)]` names its topics by variant already,
    /// and [`DefaultTopic`] is named `"default"`.
    ///
    /// The runtime asks for a name only off the routing path: when a
    /// handler, a publish or a delivery under `Block` has to wait (for the
    /// report, snapshots and cycle detection), when a copy overflows under
    /// `Drop` or `Fail` (for the warning), and in monitors that ask for it
    /// (the harness, the recorder). An event that flows without waiting
    /// never has its topic named.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use maiko_core::{Event, Label, Topic};
    ///
    /// #[derive(Clone)]
    /// enum Order { Placed(u32), Paid(u32) }
    /// impl Event for Order {}
    ///
    /// // `#[derive(Label)]` writes this impl.
    /// #[derive(Clone, Debug, Hash, PartialEq, Eq)]
    /// enum Desk { Sales, Billing }
    /// impl Label for Desk {
    ///     fn label(&self) -> Cow<'static, str> {
    ///         Cow::Borrowed(match self {
    ///             Desk::Sales => "Sales",
    ///             Desk::Billing => "Billing",
    ///         })
    ///     }
    /// }
    ///
    /// impl Topic<Order> for Desk {
    ///     fn from_event(event: &Order) -> Self {
    ///         match event {
    ///             Order::Placed(_) => Desk::Sales,
    ///             Order::Paid(_) => Desk::Billing,
    ///         }
    ///     }
    ///
    ///     fn name(&self) -> Cow<'static, str> {
    ///         self.label()
    ///     }
    /// }
    ///
    /// assert_eq!(Topic::<Order>::name(&Desk::Billing), "Billing");
    ///
    /// // Without `name`, every value is named after its type.
    /// #[derive(Clone, Hash, PartialEq, Eq)]
    /// enum Plain { Sales }
    /// impl Topic<Order> for Plain {
    ///     fn from_event(_: &Order) -> Self { Plain::Sales }
    /// }
    /// assert_eq!(Topic::<Order>::name(&Plain::Sales), "Plain");
    /// ```
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

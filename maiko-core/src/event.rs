/// Marker trait for the events an actor system carries.
///
/// Events are shared between subscribers behind one `Arc` per event and
/// cross task boundaries, so they must be `Send + Sync + Clone + 'static`.
/// Derive it with `#[derive(Event)]` (from the `maiko` facade) or implement
/// it by hand; it has no methods.
///
/// # Examples
///
/// ```
/// use maiko_core::Event;
///
/// #[derive(Clone, Debug)]
/// enum Chat {
///     Joined(String),
///     Said(String),
/// }
///
/// impl Event for Chat {}
/// ```
pub trait Event: Send + Sync + Clone + 'static {}

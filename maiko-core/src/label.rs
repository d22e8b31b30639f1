use std::borrow::Cow;

/// A human-readable name for a value, usually an enum variant.
///
/// `#[derive(Label)]` (from the `maiko` facade) returns each variant's name.
/// On a topic type, return it from [`Topic::name`](crate::Topic::name) to
/// see variant names in reports, snapshots and the test harness (the
/// default name is the type's).
///
/// # Examples
///
/// ```
/// use std::borrow::Cow;
/// use maiko_core::Label;
///
/// enum Topic { Orders, Audit }
///
/// impl Label for Topic {
///     fn label(&self) -> Cow<'static, str> {
///         Cow::Borrowed(match self {
///             Topic::Orders => "Orders",
///             Topic::Audit => "Audit",
///         })
///     }
/// }
///
/// assert_eq!(Topic::Audit.label(), "Audit");
/// ```
pub trait Label {
    /// The label of this value.
    fn label(&self) -> Cow<'static, str>;
}

use std::{borrow::Borrow, fmt, hash, sync::Arc};

/// The name of a registered actor, cheap to clone.
///
/// The runtime stamps it on every event an actor publishes (see
/// [`Meta::actor_id`](crate::Meta::actor_id)); an actor cannot publish under
/// another actor's id.
///
/// # Examples
///
/// ```
/// use maiko_core::ActorId;
///
/// let id = ActorId::new("ingest");
/// assert_eq!(id.as_str(), "ingest");
/// assert_eq!(id, ActorId::from("ingest"));
/// assert_eq!(id.to_string(), "ingest");
///
/// // A set or map keyed by ids is searched by name.
/// let names: std::collections::HashSet<ActorId> = [id].into();
/// assert!(names.contains("ingest"));
/// ```
#[derive(Debug, Clone, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[repr(transparent)]
pub struct ActorId(Arc<Box<str>>);

impl ActorId {
    /// An actor id with the given name.
    #[must_use]
    pub fn new(id: &str) -> Self {
        Self(Arc::new(Box::from(id)))
    }

    /// The name.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0[..]
    }
}

impl PartialEq for ActorId {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for ActorId {}

impl hash::Hash for ActorId {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ActorId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for ActorId {
    fn from(id: String) -> Self {
        Self(Arc::new(id.into_boxed_str()))
    }
}

/// Ids are compared and hashed by their names, so a set or map keyed by
/// `ActorId` can be searched with a `&str`.
impl Borrow<str> for ActorId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ActorId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

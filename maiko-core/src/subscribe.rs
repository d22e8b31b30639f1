use std::{collections::HashSet, fmt, marker::PhantomData};

use crate::{Event, Topic};

/// The topics an actor subscribes to.
///
/// Slices, arrays and single topics convert into it, so
/// `add_actor("a", factory, &[Topic::Data])`, `[Topic::Data]` and
/// `Topic::Data` all work.
///
/// # Examples
///
/// ```
/// use maiko_core::{DefaultTopic, Subscribe};
///
/// #[derive(Clone)]
/// struct Tick;
/// impl maiko_core::Event for Tick {}
///
/// let all: Subscribe<Tick, DefaultTopic> = Subscribe::all();
/// let none: Subscribe<Tick, DefaultTopic> = Subscribe::none();
/// let one: Subscribe<Tick, DefaultTopic> = DefaultTopic.into();
/// assert_ne!(all, none);
/// assert_eq!(one, Subscribe::to([DefaultTopic]));
/// ```
pub struct Subscribe<E: Event, T: Topic<E>>(pub(crate) Subscription<T>, PhantomData<fn() -> E>);

/// The subscription itself, without the event type.
#[derive(Clone)]
pub(crate) enum Subscription<T> {
    All,
    None,
    Topics(HashSet<T>),
}

impl<T: std::hash::Hash + Eq> PartialEq for Subscription<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::All, Self::All) | (Self::None, Self::None) => true,
            (Self::Topics(a), Self::Topics(b)) => a == b,
            _ => false,
        }
    }
}

impl<E: Event, T: Topic<E>> Subscribe<E, T> {
    /// Every topic, including ones no other actor names.
    pub fn all() -> Self {
        Self(Subscription::All, PhantomData)
    }

    /// No topic: an actor that only publishes.
    pub fn none() -> Self {
        Self(Subscription::None, PhantomData)
    }

    /// The given topics.
    pub fn to(topics: impl IntoIterator<Item = T>) -> Self {
        Self(
            Subscription::Topics(topics.into_iter().collect()),
            PhantomData,
        )
    }
}

impl<E: Event, T: Topic<E>> Clone for Subscribe<E, T> {
    fn clone(&self) -> Self {
        Self(self.0.clone(), PhantomData)
    }
}

impl<E: Event, T: Topic<E>> PartialEq for Subscribe<E, T> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<E: Event, T: Topic<E>> Eq for Subscribe<E, T> {}

impl<E: Event, T: Topic<E>> fmt::Debug for Subscribe<E, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Subscription::All => f.write_str("Subscribe::all()"),
            Subscription::None => f.write_str("Subscribe::none()"),
            Subscription::Topics(topics) => {
                let names: Vec<_> = topics.iter().map(|t| t.name()).collect();
                f.debug_tuple("Subscribe::to").field(&names).finish()
            }
        }
    }
}

impl<E: Event, T: Topic<E>> From<&[T]> for Subscribe<E, T> {
    fn from(topics: &[T]) -> Self {
        Self::to(topics.iter().cloned())
    }
}

impl<E: Event, T: Topic<E>, const N: usize> From<[T; N]> for Subscribe<E, T> {
    fn from(topics: [T; N]) -> Self {
        Self::to(topics)
    }
}

impl<E: Event, T: Topic<E>, const N: usize> From<&[T; N]> for Subscribe<E, T> {
    fn from(topics: &[T; N]) -> Self {
        Self::to(topics.iter().cloned())
    }
}

impl<E: Event, T: Topic<E>> From<Vec<T>> for Subscribe<E, T> {
    fn from(topics: Vec<T>) -> Self {
        Self::to(topics)
    }
}

impl<E: Event, T: Topic<E>> From<T> for Subscribe<E, T> {
    fn from(topic: T) -> Self {
        Self::to([topic])
    }
}

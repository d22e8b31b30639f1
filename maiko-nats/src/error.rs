use std::fmt;

/// The errors of setting up a bridge. Once running, a bridge does not fail:
/// it retries what is transient and reports what is not (see
/// [`OutboundReport`](crate::OutboundReport) and
/// [`InboundReport`](crate::InboundReport)).
///
/// # Examples
///
/// ```
/// use maiko::*;
/// use maiko_nats::{Error, Inbound};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Event, Clone, Debug, Serialize, Deserialize)]
/// struct Order(u64);
///
/// let mut sup = Supervisor::<Order>::default();
/// let refused = Inbound::<Order>::new("ORDERS", "ledger")
///     .with_batch(0)
///     .attach(&mut sup)
///     .unwrap_err();
/// assert!(matches!(refused, Error::InvalidConfig(_)));
/// assert!(refused.to_string().contains("with_batch(0)"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting has a value the bridge cannot work with; the text says
    /// which (a zero in-flight bound, batch or de-duplication window, a
    /// backoff whose start exceeds its cap, …).
    InvalidConfig(&'static str),

    /// The supervisor refused to register the bridge's actor: it has
    /// started already, or an actor of that name exists.
    Runtime(maiko_core::Error),

    /// The durable consumer's ack policy is not `Explicit`: the inbound
    /// bridge acknowledges each message after it was handled, which needs
    /// explicit acks.
    NotExplicitAck {
        /// The stream.
        stream: String,
        /// The consumer.
        consumer: String,
    },

    /// A request to the server failed; `what` says which.
    Nats {
        /// What the bridge was doing.
        what: &'static str,
        /// The client's error.
        source: async_nats::Error,
    },
}

impl Error {
    pub(crate) fn nats(what: &'static str, source: impl Into<async_nats::Error>) -> Self {
        Self::Nats {
            what,
            source: source.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(what) => write!(f, "invalid bridge setting: {what}"),
            Self::Runtime(error) => write!(f, "registering the bridge's actor: {error}"),
            Self::NotExplicitAck { stream, consumer } => write!(
                f,
                "consumer '{consumer}' of stream '{stream}' does not use explicit acks"
            ),
            Self::Nats { what, source } => write!(f, "{what}: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Runtime(error) => Some(error),
            Self::Nats { source, .. } => Some(&**source),
            _ => None,
        }
    }
}

impl From<maiko_core::Error> for Error {
    fn from(error: maiko_core::Error) -> Self {
        Self::Runtime(error)
    }
}

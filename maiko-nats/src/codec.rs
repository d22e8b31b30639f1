//! How events become message payloads and back: [`Codec`], with [`Json`]
//! as the default.

use std::fmt;

/// Turns an event into the payload of a NATS message and back.
///
/// The bridges are generic over it ([`Outbound::with_codec`](crate::Outbound::with_codec),
/// [`Inbound::with_codec`](crate::Inbound::with_codec)); the default is
/// [`Json`]. Both sides of a stream must use the same codec.
///
/// An event that cannot be encoded is never published: its publish is
/// reported as failed. A payload that cannot be decoded is terminated on
/// the server (it would fail the same way on every redelivery) and
/// counted.
///
/// # Examples
///
/// A codec for events that are plain text:
///
/// ```
/// use maiko_nats::{Codec, CodecError};
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Line(String);
///
/// struct Utf8;
///
/// impl Codec<Line> for Utf8 {
///     fn encode(&self, event: &Line) -> Result<Vec<u8>, CodecError> {
///         Ok(event.0.clone().into_bytes())
///     }
///     fn decode(&self, payload: &[u8]) -> Result<Line, CodecError> {
///         String::from_utf8(payload.to_vec()).map(Line).map_err(CodecError::new)
///     }
/// }
///
/// let bytes = Utf8.encode(&Line("hi".into())).unwrap();
/// assert_eq!(Utf8.decode(&bytes).unwrap(), Line("hi".into()));
/// assert!(Utf8.decode(&[0xff]).is_err());
/// ```
pub trait Codec<E>: Send + Sync + 'static {
    /// The payload for `event`.
    ///
    /// # Errors
    ///
    /// When the event cannot be represented.
    fn encode(&self, event: &E) -> Result<Vec<u8>, CodecError>;

    /// The event in `payload`.
    ///
    /// # Errors
    ///
    /// When the payload is not a valid event.
    fn decode(&self, payload: &[u8]) -> Result<E, CodecError>;
}

/// JSON through serde: the default codec, for any event that implements
/// `Serialize` and `Deserialize`.
///
/// # Examples
///
/// ```
/// use maiko_nats::{Codec, Json};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
/// struct Order { id: u64 }
///
/// let bytes = Json.encode(&Order { id: 7 }).unwrap();
/// assert_eq!(bytes, br#"{"id":7}"#);
/// let back: Order = Json.decode(&bytes).unwrap();
/// assert_eq!(back, Order { id: 7 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json;

impl<E> Codec<E> for Json
where
    E: serde::Serialize + serde::de::DeserializeOwned,
{
    fn encode(&self, event: &E) -> Result<Vec<u8>, CodecError> {
        serde_json::to_vec(event).map_err(CodecError::new)
    }

    fn decode(&self, payload: &[u8]) -> Result<E, CodecError> {
        serde_json::from_slice(payload).map_err(CodecError::new)
    }
}

/// Why a [`Codec`] could not encode or decode.
#[derive(Debug)]
pub struct CodecError(Box<dyn std::error::Error + Send + Sync>);

impl CodecError {
    /// Wrap the codec's own error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "codec: {}", self.0)
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

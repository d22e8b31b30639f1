//! What travels through the channels: one event and its metadata, shared by
//! every subscriber's copy.

use std::sync::Arc;

use crate::Envelope;

/// One accepted event as the channels carry it. A subscriber's copy is a
/// clone of the `Arc`: one allocation per event, whatever the fan-out.
pub(crate) type Mail<E> = Arc<Envelope<E>>;

//! The routing table as the routing loops read it: replaced whole, never
//! changed under a reader.
//!
//! Adding or stopping an actor while the supervisor runs builds a new
//! table and [`publish`](Board::publish)es it. A routing loop keeps the
//! table it last took and, once per batch of events, compares the board's
//! version with its own (one atomic load); only when they differ does it
//! take the lock, to pick up the new table. Routing an event takes no lock.
//!
//! # Invariant
//!
//! A table published before a publisher's send is the table (or an older
//! one than) the routing loop routes that event with: `publish` stores the
//! version after the table is in place, under the lock; the send and the
//! receive of the event order the two threads, so the loop's load of the
//! version, after it received the event, sees that version or a newer one
//! (a load that happens after a store sees it, whatever its ordering), and
//! then takes the table under the same lock. So an actor added before a
//! publish starts receives that event. `internal/loom_model.rs` checks this
//! against a racing publish and a close; the `Release` and `Acquire` on the
//! version are kept for a reader whose order does not come from an event.

use std::sync::Arc;

use super::sync::{AtomicU64, Mutex, Ordering};

/// The current version of a value read by many loops.
#[derive(Debug)]
pub(crate) struct Board<V> {
    version: AtomicU64,
    current: Mutex<(u64, Arc<V>)>,
}

/// One reader's copy of the board's value.
#[derive(Debug)]
pub(crate) struct Seen<V> {
    version: u64,
    pub(crate) value: Arc<V>,
}

impl<V> Board<V> {
    pub(crate) fn new(value: V) -> Self {
        Self {
            version: AtomicU64::new(0),
            current: Mutex::new((0, Arc::new(value))),
        }
    }

    /// Replace the value; readers pick it up at their next
    /// [`refresh`](Self::refresh).
    pub(crate) fn publish(&self, value: V) {
        let mut current = self.current.lock();
        current.0 += 1;
        current.1 = Arc::new(value);
        self.version.store(current.0, Ordering::Release);
    }

    /// The value now.
    pub(crate) fn load(&self) -> Seen<V> {
        let current = self.current.lock();
        Seen {
            version: current.0,
            value: Arc::clone(&current.1),
        }
    }

    /// Bring `seen` up to date if the value was replaced since.
    #[inline]
    pub(crate) fn refresh(&self, seen: &mut Seen<V>) {
        if self.version.load(Ordering::Acquire) != seen.version {
            *seen = self.load();
        }
    }
}

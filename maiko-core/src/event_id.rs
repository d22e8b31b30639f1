use std::{
    cell::Cell,
    collections::hash_map::RandomState,
    fmt,
    hash::BuildHasher,
    sync::{
        OnceLock,
        atomic::{AtomicU64, Ordering},
    },
};

/// A unique identifier of an event within this process.
///
/// The high 64 bits are a random value drawn once per process, the low 64
/// bits a counter. Ids are therefore unique without a system call per event,
/// and ids from two runs of a program do not collide in practice. Threads
/// take counter values in blocks, so ids are unique but not ordered across
/// threads; use [`Meta::timestamp`](crate::Meta::timestamp) to order events.
///
/// `Display` prints the 128 bits in the familiar 8-4-4-4-12 hex form.
///
/// # Examples
///
/// ```
/// use maiko_core::EventId;
///
/// let a = EventId::new();
/// let b = EventId::new();
/// assert_ne!(a, b);
/// assert_eq!(EventId::from(a.as_u128()), a);
/// assert_eq!(a.to_string().len(), 36);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
// The high half first, so that the derived order is the number's. Two
// words rather than a `u128`, aligned to 8 bytes rather than 16: an
// envelope is smaller, and so is an `Option<EventId>` (24 bytes, not 32).
pub struct EventId([u64; 2]);

/// How many counter values a thread takes from the shared counter at once.
const BLOCK: u64 = 1024;

static NEXT_BLOCK: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The next id of this thread's block and the end of the block.
    static LOCAL: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn process_prefix() -> u64 {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    // RandomState is seeded from the operating system's randomness once per
    // thread; hashing a constant turns that seed into one 64-bit value.
    *PREFIX.get_or_init(|| RandomState::new().hash_one(0x006d_6169_6b6f_u64))
}

impl EventId {
    /// A new id, unique within this process.
    #[must_use]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let low = LOCAL.with(|local| {
            let (next, end) = local.get();
            if next < end {
                local.set((next + 1, end));
                next
            } else {
                // Relaxed: the counter only hands out disjoint ranges; no
                // other memory is published through it.
                let start = NEXT_BLOCK.fetch_add(BLOCK, Ordering::Relaxed);
                local.set((start + 1, start + BLOCK));
                start
            }
        });
        Self([process_prefix(), low])
    }

    /// The raw 128-bit value.
    pub fn as_u128(&self) -> u128 {
        (u128::from(self.0[0]) << 64) | u128::from(self.0[1])
    }
}

impl From<u128> for EventId {
    fn from(value: u128) -> Self {
        Self([(value >> 64) as u64, value as u64])
    }
}

impl From<EventId> for u128 {
    fn from(value: EventId) -> Self {
        value.as_u128()
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EventId").field(&self.as_u128()).finish()
    }
}

/// Serialized as the number, as a newtype struct.
#[cfg(feature = "serde")]
impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct("EventId", &self.as_u128())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename = "EventId")]
        struct Number(u128);
        Number::deserialize(deserializer).map(|Number(n)| Self::from(n))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.as_u128();
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            (v >> 96) as u32,
            (v >> 80) as u16,
            (v >> 64) as u16,
            (v >> 48) as u16,
            v & 0xffff_ffff_ffff
        )
    }
}

#[cfg(all(test, not(maiko_loom)))]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_across_threads() {
        let handles: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..5000).map(|_| EventId::new()).collect::<Vec<_>>()))
            .collect();
        let mut seen = HashSet::new();
        for handle in handles {
            for id in handle.join().unwrap() {
                assert!(seen.insert(id), "duplicate id {id}");
            }
        }
    }
}

//! Counting allocator: the live heap bytes the memory probes read.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

/// Counts live heap bytes while [`COUNTING`] is set. The memory probes run
/// first with it set; it is then cleared, so the timed workloads pay one
/// relaxed load of a read-only flag per allocation and nothing else.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(true);

/// Kept on its own cache line, away from the flag.
#[repr(align(128))]
struct Live(AtomicUsize);

static LIVE: Live = Live(AtomicUsize::new(0));

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged and only adds bookkeeping on an atomic counter; the layout
// contracts are the caller's, exactly as for `System`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (see the impl).
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Ordering::Relaxed) {
            LIVE.0.fetch_add(new_size, Ordering::Relaxed);
            LIVE.0.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Live heap bytes counted so far (meaningful only while counting).
pub fn live_bytes() -> usize {
    LIVE.0.load(Ordering::Relaxed)
}

/// Stop counting, once the memory probes are done: from here on the
/// allocator only forwards to `System`.
pub fn stop_counting() {
    COUNTING.store(false, Ordering::Relaxed);
}

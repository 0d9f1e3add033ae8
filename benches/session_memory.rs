//! Memory per tracked session: bytes the session table holds per live session (all indices
//! included), counted by a global allocator. `cargo bench --bench session_memory`.

#[path = "../tests/support/session_memory.rs"]
mod workload;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to the system allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    use ctail_filter::session::node::{Edge, Node};
    println!("memory per tracked session (AssumeRole-minted, one call each; all indices included)");
    println!(
        "  size_of Node {} Edge {}",
        std::mem::size_of::<Node>(),
        std::mem::size_of::<Edge>()
    );
    for n in [1_000, 10_000, 100_000] {
        println!(
            "  {n:>7} sessions: {:>6.0} bytes/session",
            workload::bytes_per_session(n, live)
        );
    }
}

//! Memory per tracked session: bytes the session table holds per live session (all indices
//! included), counted by a global allocator. `cargo bench --bench session_memory`.

#[path = "../tests/support/session_memory.rs"]
mod workload;

#[path = "../tests/support/counting_alloc.rs"]
mod counting;
use counting::{live, Counting};

#[global_allocator]
static A: Counting = Counting;

fn main() {
    use ctail_filter::internals::{Edge, Node};
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

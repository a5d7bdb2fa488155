//! A loop around `Outbox::accept`, the write transaction every checkout makes while the
//! other worker processes of the shop wait for the same lock (issue 18). For profilers:
//! `cargo build --release -p convtrack-core --example accept_loop`, then e.g.
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=accept_loop::run
//! target/release/examples/accept_loop 2000`. The outbox is a fresh file in a temporary
//! directory; the payload is about the size of a real Purchase's.

// A failed unwrap here is a failed benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convtrack_core::delivery::outbox::{NewEvent, Outbox};
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("convtrack-accept-loop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("outbox.sqlite3");
    let outbox = Outbox::open(path.to_str().unwrap(), "1234567890").unwrap();
    let payload =
        format!("{{\"event_name\":\"Purchase\",\"user_data\":{{\"em\":[\"{}\"]}},\"pad\":\"{}\"}}", "a".repeat(64), "x".repeat(1400));
    let ids: Vec<String> = (0..n + 1).map(|i| format!("{i:032}")).collect();
    // The first accept creates the rows every later one updates (counters, pages).
    outbox.accept(&NewEvent { event_name: "Purchase", event_id: &ids[n], event_time: 1, payload: &payload }, 1, None).unwrap();
    run(&outbox, &ids[..n], &payload);
    drop(outbox);
    let _ = std::fs::remove_dir_all(&dir);
}

#[inline(never)]
fn run(outbox: &Outbox, ids: &[String], payload: &str) {
    let t = std::time::Instant::now();
    for id in ids {
        let e = NewEvent { event_name: "Purchase", event_id: id, event_time: 1_732_790_000, payload };
        black_box(outbox.accept(&e, 1_732_790_000_000, None).unwrap());
    }
    eprintln!("accept: {:.2} us/call", t.elapsed().as_secs_f64() * 1e6 / ids.len() as f64);
}

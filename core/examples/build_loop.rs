//! A loop around `build` (or the SHA-256 floor) for profilers, where criterion's
//! harness gets in the way: `cargo build --release -p convtrack-core --example build_loop`,
//! then e.g. `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=build_loop::run
//! target/release/examples/build_loop build 2000` or `perf record`. `parse` times
//! `EventInput::from_json` of the same event (the C and PHP input path). Same event as `benches/build.rs`.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convtrack_core::hash::sha256_hex;
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{EventInput, Settings, Tracker};
use std::hint::black_box;
const NOW: i64 = 1_732_790_000;
const SHORT: [&str; 10] = ["jane.doe@example.com", "442071838750", "jane", "doe", "f", "19901231", "london", "gr", "sw1a 1aa", "gb"];
fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    let n: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let json = serde_json::json!({
        "event_name": "Purchase", "event_time": NOW - 60, "order_id": "1001",
        "event_source_url": "https://shop.example/checkout/thanks", "currency": "EUR", "value": "59.90",
        "items": (1..=5).map(|i| serde_json::json!({"id": format!("SKU-{i}"), "quantity": i, "price": "9.99", "title": format!("Product {i}")})).collect::<Vec<_>>(),
        "customer": {"email": "Jane.Doe@Example.com", "phone": "020 7183 8750", "first_name": "Jane", "last_name": "Doe",
                     "gender": "Female", "date_of_birth": "1990-12-31", "city": "London", "state": "Greater London", "zip": "SW1A 1AA", "country": "GB"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.1"},
        "consent": {"marketing": "granted"}}).to_string();
    let tracker = Tracker::new(Settings::from_json(r#"{"pixel_id":"1234567890","access_token":"t","data_controls":true}"#).unwrap());
    let input = EventInput::from_json(&json).unwrap();
    let opts = BuildOptions { now: Some(NOW), ..Default::default() };
    black_box(tracker.build(&input, &opts).unwrap());
    run(&what, n, &tracker, &input, &opts, &json);
}

#[inline(never)]
fn run(what: &str, n: usize, tracker: &Tracker, input: &EventInput, opts: &BuildOptions, json: &str) {
    let t = std::time::Instant::now();
    for _ in 0..n {
        match what {
            "floor" => {
                for s in SHORT {
                    black_box(sha256_hex(black_box(s)));
                }
            }
            "build" => {
                black_box(tracker.build(black_box(input), opts).unwrap());
            }
            "parse" => {
                black_box(EventInput::from_json(black_box(json)).unwrap());
            }
            "without-ph" => {
                let mut i = input.clone();
                i.customer.values.retain(|(f, _)| *f != convtrack_core::Field::Phone);
                black_box(tracker.build(black_box(&i), opts).unwrap());
            }
            _ => return eprintln!("usage: build_loop floor|build|parse|without-ph [iterations]"),
        }
    }
    eprintln!("{what}: {:.3} us/iter", t.elapsed().as_secs_f64() * 1e6 / n as f64);
}

//! `cargo bench -p convtrack-core --bench build`
//!
//! Prints, side by side in one run: the SHA-256 floor (10 short hashes, what
//! a Purchase with 10 customer fields must at least cost), a full `build` of
//! such a Purchase with 5 items, and each normalizer. The ratio build/floor is
//! printed at the end; it is a measurement, not a test.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use convtrack_core::hash::sha256_hex;
use convtrack_core::normalize::{normalize, Field};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{EventInput, Settings, Tracker};
use criterion::{criterion_group, criterion_main, Criterion};

const NOW: i64 = 1_732_790_000;

fn purchase_json() -> String {
    serde_json::json!({
        "event_name": "Purchase", "event_time": NOW - 60, "order_id": "1001",
        "event_source_url": "https://shop.example/checkout/thanks",
        "currency": "EUR", "value": "59.90",
        "items": (1..=5).map(|i| serde_json::json!({"id": format!("SKU-{i}"), "quantity": i, "price": "9.99", "title": format!("Product {i}")})).collect::<Vec<_>>(),
        "customer": {"email": "Jane.Doe@Example.com", "phone": "020 7183 8750", "first_name": "Jane", "last_name": "Doe",
                     "gender": "Female", "date_of_birth": "1990-12-31", "city": "London", "state": "Greater London",
                     "zip": "SW1A 1AA", "country": "GB"},
        "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0", "fbp": "fb.1.1732780000000.1"},
        "consent": {"marketing": "granted"}
    })
    .to_string()
}

const SHORT: [&str; 10] = ["jane.doe@example.com", "442071838750", "jane", "doe", "f", "19901231", "london", "gr", "sw1a 1aa", "gb"];

fn floor() {
    for s in SHORT {
        black_box(sha256_hex(black_box(s)));
    }
}

fn benches(c: &mut Criterion) {
    let tracker = Tracker::new(Settings::from_json(r#"{"pixel_id":"1234567890","access_token":"t","data_controls":true}"#).unwrap());
    let json = purchase_json();
    let input = EventInput::from_json(&json).unwrap();
    let opts = BuildOptions { now: Some(NOW), ..Default::default() };

    c.bench_function("sha256 floor (10 short hashes)", |b| b.iter(floor));
    c.bench_function("build Purchase (10 fields, 5 items, parsed input)", |b| {
        b.iter(|| black_box(tracker.build(black_box(&input), &opts).unwrap()))
    });
    c.bench_function("build Purchase from JSON text", |b| b.iter(|| black_box(tracker.build_json(black_box(&json), &opts).unwrap())));
    c.bench_function("event_id", |b| b.iter(|| black_box(convtrack_core::event_id("1234567890", "Purchase", black_box("1001")))));
    let samples: [(Field, &str); 10] = [
        (Field::Email, "  Jane.Doe@Example.com "),
        (Field::Phone, "020 7183 8750"),
        (Field::FirstName, "Jane"),
        (Field::LastName, "O'Doe"),
        (Field::Gender, "Female"),
        (Field::DateOfBirth, "12/31/1990"),
        (Field::City, "Menlo Park"),
        (Field::State, "California"),
        (Field::Zip, "94025-1234"),
        (Field::Country, "United Kingdom"),
    ];
    for (field, value) in samples {
        c.bench_function(&format!("normalize {}", field.meta_key()), |b| b.iter(|| black_box(normalize(field, black_box(value), None))));
    }
    c.bench_function("normalize ph with country GB", |b| {
        b.iter(|| black_box(normalize(Field::Phone, black_box("020 7183 8750"), Some("gb"))))
    });
    c.bench_function("normalize ph international with country DE", |b| {
        b.iter(|| black_box(normalize(Field::Phone, black_box("+44 20 7183 8750"), Some("de"))))
    });

    // The ratio, measured alternately in the same run so machine noise hits both.
    let per_iter = |f: &dyn Fn()| {
        let n = 20_000;
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed() / n
    };
    let (mut fl, mut bd) = (Duration::MAX, Duration::MAX);
    for _ in 0..7 {
        fl = fl.min(per_iter(&floor));
        bd = bd.min(per_iter(&|| {
            black_box(tracker.build(&input, &opts).unwrap());
        }));
    }
    println!(
        "\nRATIO build/floor = {:.2}  (build {:.2} µs, floor {:.2} µs; best of 7 alternating rounds)",
        bd.as_secs_f64() / fl.as_secs_f64(),
        bd.as_secs_f64() * 1e6,
        fl.as_secs_f64() * 1e6
    );
}

criterion_group! {
    name = all;
    config = Criterion::default().measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(500));
    targets = benches
}
criterion_main!(all);

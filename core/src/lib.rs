//! # convtrack-core
//!
//! The pure core of convtrack: from an order in shop terms to a Meta pixel
//! snippet and a Conversions API event, with customer data normalized and
//! SHA-256 hashed exactly as Meta expects, a deterministic dedup key shared by
//! pixel and server, and a consent gate that decides what may leave the shop.
//!
//! Data flows one way:
//! input → consent gate → normalize/hash → event (with `event_id`) →
//! pixel snippet and Conversions API payload.
//!
//! ```
//! use convtrack_core::{Settings, Tracker};
//! let settings = Settings::from_json(r#"{"pixel_id": "1234567890"}"#).unwrap();
//! let tracker = Tracker::new(settings);
//! let now = 1_732_790_000;
//! let result = tracker.build_json_at(r#"{"event_name": "Purchase", "event_time": 1732790000,
//!     "order_id": "1001", "currency": "EUR", "value": "59.90"}"#, now).unwrap();
//! assert_eq!(result.server.as_str(), "blocked"); // data controls are off by default
//! assert!(result.pixel_html.contains(&result.event_id));
//! ```
#![deny(unsafe_code)]

pub mod build;
pub mod catalog;
pub mod clock;
pub mod delivery;
pub mod error;
pub mod event;
pub mod hash;
pub mod normalize;
pub mod settings;
pub mod text;
pub mod tracker;

pub use build::consent::{BlockReason, Decision, PixelConsent, ServerDecision};
pub use build::event_id::event_id;
pub use build::{BuildOptions, BuildResult, QueueOutcome};
pub use error::{Error, ErrorCode, Result};
pub use event::EventInput;
pub use normalize::Field;
pub use settings::{Mode, Settings};
pub use tracker::Tracker;

/// The crate version, shared by every face of the product.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Does the one-time start-up work now rather than in the first event that needs
/// it: the phone number metadata of every region is loaded on first use (about
/// 100 ms), which would otherwise land on the first checkout with a phone number
/// in each process, and the crawler automaton is built. Idempotent (microseconds
/// after the first call) and thread-safe.
/// In a server that forks workers, call it before forking, so they share the result.
pub fn warm_up() {
    // A national number (the fast path's region tables) and an international one.
    let _ = normalize::normalize(Field::Phone, "020 7183 8750", Some("gb"));
    let _ = normalize::normalize(Field::Phone, "+49 30 12345678", None);
    build::crawler::warm_up();
}

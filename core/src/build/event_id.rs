//! Dedup keys (docs/spec.md §5): the `event_id` shared by the pixel and the server copy.
//!
//! ## Derivation (wire contract, version 1 — never change it in place)
//!
//! For an event with an order id:
//!
//! ```text
//! msg      = "convtrack.event_id.v1"
//!            || u32be(len(pixel_id))   || pixel_id
//!            || u32be(len(event_name)) || event_name
//!            || u32be(len(order_id))   || order_id        (UTF-8 bytes, lengths in bytes)
//! event_id = "ct1-" || lowercase_hex(SHA-256(msg)[0..16])
//! ```
//!
//! 36 ASCII characters from `[a-z0-9-]`. The length prefixes make the
//! encoding unambiguous (`("12","3")` and `("1","23")` differ). The id reveals
//! nothing about the customer and cannot be reversed to the order id without
//! guessing it. Any process that knows (pixel id, event name, order id) derives
//! the same id: the thank-you page, the payment webhook, a retry after a crash.
//!
//! Events without an order id use the caller's `event_id`, else a random one
//! (`ctr-` + 32 hex digits from the OS random source).

use sha2::{Digest, Sha256};

use crate::hash::to_hex;

/// Domain-separation tag of derivation version 1.
pub const EVENT_ID_TAG: &str = "convtrack.event_id.v1";

/// The deterministic event id for an event with an order (derivation v1).
pub fn event_id(pixel_id: &str, event_name: &str, order_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(EVENT_ID_TAG.as_bytes());
    for part in [pixel_id, event_name, order_id] {
        // Inputs are validated to far below 4 GiB; saturate rather than wrap regardless.
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        h.update(len.to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let mut id = String::with_capacity(36);
    id.push_str("ct1-");
    crate::hash::push_hex(&mut id, &digest[..16]);
    id
}

/// A random event id for events with neither an order id nor a caller id.
pub fn random_event_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS randomness (should not happen): fall back to time and a counter,
        // still unique within this process.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::digest(format!("{nanos}:{n}:{}", std::process::id()).as_bytes());
        bytes.copy_from_slice(&digest[..16]);
    }
    format!("ctr-{}", to_hex(&bytes))
}

/// [`event_id`] with its inputs validated as event input is (digits-only pixel id,
/// a valid event name, an order id of 1 to 255 bytes without control characters).
pub fn event_id_checked(pixel_id: &str, event_name: &str, order_id: &str) -> crate::error::Result<String> {
    use crate::error::{Error, ErrorCode};
    let bad = |field: &str, why: &str| Error::field(ErrorCode::InvalidArgument, field, why);
    if pixel_id.is_empty() || pixel_id.len() > 32 || !pixel_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("pixel_id", "must be 1 to 32 digits"));
    }
    if !crate::event::is_valid_event_name(event_name) {
        return Err(bad("event_name", "must be letters, digits, '_' and spaces, at most 50"));
    }
    crate::event::check_id(order_id, "order_id").map_err(|e| bad("order_id", e.reason()))?;
    Ok(event_id(pixel_id, event_name, order_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_stability() {
        let id = event_id("1234567890", "Purchase", "1001");
        assert_eq!(id.len(), 36);
        assert!(id.starts_with("ct1-"));
        assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert_eq!(id, event_id("1234567890", "Purchase", "1001"));
        assert_ne!(id, event_id("1234567890", "Purchase", "1002"));
        assert_ne!(id, event_id("1234567890", "AddToCart", "1001"));
        assert_ne!(event_id("12", "3", "x"), event_id("1", "23", "x"));
    }

    #[test]
    fn random_ids_differ() {
        let a = random_event_id();
        assert_eq!(a.len(), 36);
        assert_ne!(a, random_event_id());
    }
}

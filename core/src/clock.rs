//! The system clock, read in one place. A clock before 1970 reads as 0; one past
//! what an `i64` holds reads as `i64::MAX`, so no caller has to handle either.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in whole Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// Now, in Unix milliseconds (the outbox's time unit).
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

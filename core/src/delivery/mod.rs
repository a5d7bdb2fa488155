//! Everything that touches a file or a socket: the durable outbox (which owns
//! the whole SQLite schema), the catalog-update queue in the same file, the
//! Graph API's answer classes with their backoff, one sender that delivers
//! events and catalog changes alike, the merchant's live controls, the HTTP
//! transport, and status.

pub mod background;
pub mod catalog_queue;
pub mod controls;
pub mod events;
pub mod graph;
pub mod health;
pub mod outbox;
pub mod prepared;
pub mod sender;
pub mod status;
pub mod transport;

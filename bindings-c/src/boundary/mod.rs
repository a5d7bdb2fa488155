//! What every function at the C boundary shares (private to the crate):
//!
//! - `panic`: the guard that runs each body inside `catch_unwind`;
//! - `last_error`: the thread's last error message (and `convtrack_last_error_message`);
//! - `args`: `(ptr, len)` pairs and out-params checked and borrowed;
//! - `output`: owned strings handed to C (and `convtrack_string_free`).

mod args;
mod last_error;
mod output;
mod panic;

pub(crate) use args::{bytes_arg, check_out, opt_str_arg, str_arg};
pub use last_error::convtrack_last_error_message;
pub use output::convtrack_string_free;
pub(crate) use output::{to_c_string, write_json};
pub(crate) use panic::{discard_panic, guard};

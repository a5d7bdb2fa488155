//! Reading Python input: event dicts through the core's parser ([`PyInput`]),
//! other values (settings, products) as JSON values ([`py_to_json`]), and ids.
//!
//! Python code may run in the middle of a read (a `Decimal`'s `__str__`, a
//! signal handler run inside any C-API call, another thread while `track` has
//! released the GIL). So the reader holds a strong reference to everything it
//! reads, reads containers from private snapshots, and keeps the `str` objects
//! whose text the parsed event borrows ([`Reading`]): nothing it looks at can be
//! freed or resized meanwhile. No borrowed pointer, no `unsafe`.

mod id;
mod input;
mod reading;
mod snapshot;
mod value;

pub(crate) use id::{id_text, order_id_text};
pub(crate) use input::{event_input, events_input, PyInput};
pub(crate) use reading::{failure, Failure, Reading};
pub(crate) use snapshot::{decimal_text, snapshot};
pub(crate) use value::py_to_json;

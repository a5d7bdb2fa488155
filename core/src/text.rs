//! Small facts about text and JSON values that validation needs at every layer
//! (settings, event input, catalog). Depends on nothing else in the crate.

use serde_json::Value;

/// The JSON type of a value, for messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Whether `s` holds a control character (C0, DEL or C1). Printable ASCII, the
/// usual id or user agent, is answered without decoding characters.
pub fn has_control(s: &str) -> bool {
    !s.bytes().all(|b| (0x20..0x7f).contains(&b)) && s.chars().any(char::is_control)
}

/// Lower-case hexadecimal digits, by value.
pub const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

//! Event JSON text read into a small borrowed tree, the [`Source`] that
//! [`EventInput::from_json`](super::EventInput::from_json) parses from (the C
//! ABI and PHP path). Unlike `serde_json::Value` with `preserve_order`, it
//! builds no `IndexMap` (no SipHash per key) and borrows every string without
//! escapes from the input text instead of copying it.
//!
//! Same reading as `serde_json::Value`: serde_json's parser (syntax errors,
//! recursion limit), integers as `i64` or else `u64`, other numbers as `f64`,
//! and for a key given twice the last value (at the first key's position, as
//! `IndexMap::insert` keeps it).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Key, Raw, Source, Unreadable};
use crate::error::Result;

/// Objects up to this many keys find a repeated key by a linear search.
const LINEAR_KEYS: usize = 16;

/// One JSON value; strings borrow from the text when they hold no escape. Also
/// what the Python binding builds the payload dict from (`Json::parse`).
#[derive(Debug)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Vec<Json<'a>>),
    Object(Vec<(Cow<'a, str>, Json<'a>)>),
}

impl<'a> Json<'a> {
    /// Parses JSON text (serde_json's parser and errors).
    pub fn parse(text: &'a str) -> serde_json::Result<Json<'a>> {
        serde_json::from_str(text)
    }
}

/// Reads the tree for as long as the tree lives (`'r`): every string is lent
/// from the tree. What the Python binding converts the payload from.
impl<'r> Source<'r> for &'r Json<'_> {
    fn raw(&self) -> std::result::Result<Raw<'r>, Unreadable> {
        Ok(match *self {
            Json::Null => Raw::Null,
            Json::Bool(b) => Raw::Bool(*b),
            Json::Int(i) => Raw::Int(*i),
            Json::UInt(u) => Raw::UInt(*u),
            Json::Float(f) => Raw::Float(*f),
            Json::Str(s) => Raw::Str(Cow::Borrowed(s.as_ref())),
            Json::List(_) => Raw::List,
            Json::Object(_) => Raw::Object,
        })
    }

    fn list_len(&self) -> usize {
        self.items().len()
    }

    fn each_item(&self, f: &mut impl FnMut(usize, Self) -> Result<()>) -> Result<()> {
        self.items().iter().enumerate().try_for_each(|(i, v)| f(i, v))
    }

    fn each_entry(&self, f: &mut impl FnMut(Key<'_>, Self) -> Result<()>) -> Result<()> {
        self.entries().iter().try_for_each(|(k, v)| f(Ok(k), v))
    }
}

/// Reads the tree lending strings from the JSON text itself (`'a`), so that a
/// parsed event outlives the tree: a string the text holds as is stays
/// borrowed; one that had escapes (rare) is copied out of the tree.
#[derive(Clone, Copy)]
pub struct Lend<'r, 'a>(pub &'r Json<'a>);

impl<'a> Source<'a> for Lend<'_, 'a> {
    fn raw(&self) -> std::result::Result<Raw<'a>, Unreadable> {
        match self.0 {
            Json::Str(Cow::Borrowed(s)) => Ok(Raw::Str(Cow::Borrowed(s))),
            other => other.raw().map(Raw::into_owned),
        }
    }

    fn list_len(&self) -> usize {
        self.0.items().len()
    }

    fn each_item(&self, f: &mut impl FnMut(usize, Self) -> Result<()>) -> Result<()> {
        self.0.items().iter().enumerate().try_for_each(|(i, v)| f(i, Lend(v)))
    }

    fn each_entry(&self, f: &mut impl FnMut(Key<'_>, Self) -> Result<()>) -> Result<()> {
        self.0.entries().iter().try_for_each(|(k, v)| f(Ok(k), Lend(v)))
    }
}

impl<'a> Json<'a> {
    /// The items of a list (none for any other value).
    fn items(&self) -> &[Json<'a>] {
        match self {
            Json::List(items) => items,
            _ => &[],
        }
    }

    /// The entries of an object (none for any other value).
    fn entries(&self) -> &[(Cow<'a, str>, Json<'a>)] {
        match self {
            Json::Object(entries) => entries,
            _ => &[],
        }
    }
}

/// A string or key: borrowed from the text when serde_json can lend it.
struct Text<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Json<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Null)
            }
            fn visit_bool<E>(self, b: bool) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Bool(b))
            }
            fn visit_i64<E>(self, i: i64) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Int(i))
            }
            fn visit_u64<E>(self, u: u64) -> std::result::Result<Json<'de>, E> {
                Ok(i64::try_from(u).map_or(Json::UInt(u), Json::Int))
            }
            fn visit_f64<E>(self, f: f64) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Float(f))
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> std::result::Result<Json<'de>, E> {
                Ok(Json::Str(Cow::Owned(s)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Json<'de>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(Json::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Json<'de>, A::Error> {
                let mut entries: Vec<(Cow<'de, str>, Json<'de>)> = Vec::new();
                // Positions by key, for objects too large to search linearly (hostile
                // input: a 4 MB object of distinct keys must not take quadratic time).
                let mut index: Option<HashMap<Cow<'de, str>, usize>> = None;
                while let Some((Text(k), v)) = map.next_entry::<Text<'de>, Json<'de>>()? {
                    if entries.len() == LINEAR_KEYS {
                        index = Some(entries.iter().enumerate().map(|(i, (key, _))| (key.clone(), i)).collect());
                    }
                    // A repeated key keeps its first position and takes the last value.
                    let seen = match &index {
                        Some(index) => index.get(&k).copied(),
                        None => entries.iter().position(|(key, _)| *key == k),
                    };
                    match seen {
                        Some(i) => entries[i].1 = v,
                        None => {
                            if let Some(index) = &mut index {
                                index.insert(k.clone(), entries.len());
                            }
                            entries.push((k, v));
                        }
                    }
                }
                Ok(Json::Object(entries))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventInput;

    /// The tree reads every event as `serde_json::Value` does: same input, same
    /// error (code and field) or the same event.
    #[test]
    fn same_as_the_value_path() {
        let cases = [
            r#"{"event_name":"Lead","order_id":18446744073709551615,"event_time":1732790000.5,"customer":{"zip":-12}}"#,
            r#"{"event_name":"Lead","customer":{"email":"a@example.com","email":"b@example.com"},"customer":{"fn":"x"}}"#,
            r#"{"event_name":"Lead","customer":{"email":"a@example.com","email":null}}"#,
            r#"{"event_name":"Lead","event_name":"Purchase","order_id":"1","currency":"EUR","value":"1"}"#,
            r#"{"event_name":"L\u0065ad","items":[{"id":"a\"b","title":"<\/script>\u2028"}],"browser":{"user_agent":" UA\ttab "}}"#,
            r#"{"event_name":"Lead","items":[{"id":"a","quantity":1e0}]}"#,
            r#"{"event_name":"Lead","value":-0.0,"currency":"eur"}"#,
            r#"{"event_name":"Lead","colour":1,"event_time":"x"}"#,
            r#"[1,2]"#,
            r#""text""#,
        ];
        for text in cases {
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            let tree: Json<'_> = serde_json::from_str(text).unwrap();
            let a = EventInput::from_value(&value).map_err(|e| (e.code(), e.field_name().map(str::to_owned)));
            let b = EventInput::from_source(&&tree).map_err(|e| (e.code(), e.field_name().map(str::to_owned)));
            assert_eq!(a, b, "{text}");
        }
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let tree: Json<'_> = serde_json::from_str(r#"{"a":"plain","b\u0062":"esc\n"}"#).unwrap();
        let Json::Object(entries) = tree else { panic!("an object") };
        assert!(matches!(&entries[0], (Cow::Borrowed("a"), Json::Str(Cow::Borrowed("plain")))));
        assert!(matches!(&entries[1], (Cow::Owned(k), Json::Str(Cow::Owned(v))) if k == "bb" && v == "esc\n"));
    }

    #[test]
    fn repeated_keys_in_large_objects() {
        let keys: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let text = format!("{{{},\"k3\":\"last\",\"k39\":null,\"new\":1}}", keys.join(","));
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let Json::Object(entries) = serde_json::from_str::<Json<'_>>(&text).unwrap() else { panic!("an object") };
        let order: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
        let expected: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(order, expected);
        assert!(matches!(&entries[3].1, Json::Str(s) if s == "last"));
        assert!(matches!(&entries[39].1, Json::Null));
        // Many distinct keys: linear in the input (this would take minutes if quadratic).
        let many: Vec<String> = (0..200_000).map(|i| format!("\"k{i}\":0")).collect();
        let text = format!("{{{}}}", many.join(","));
        let Json::Object(entries) = serde_json::from_str::<Json<'_>>(&text).unwrap() else { panic!("an object") };
        assert_eq!(entries.len(), 200_000);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(serde_json::from_str::<Json<'_>>(&deep).is_err());
    }
}

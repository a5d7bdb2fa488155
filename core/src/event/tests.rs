//! Parser tests: shapes, limits, error paths, and the value readers.

use super::fields::*;
use super::*;

fn parse(json: &str) -> Result<EventInput<'_>> {
    EventInput::from_json(json)
}
fn err(json: &str) -> Error {
    parse(json).unwrap_err()
}

#[test]
fn text_is_borrowed_from_the_json_unless_it_had_escapes() {
    let text = r#"{"event_name":"Purchase","order_id":"A-1","currency":"eur","value":"1.00","event_source_url":"https://shop.example/\u0074hanks",
        "items":[{"id":"SKU-1","title":"caf\u00e9"}],"customer":{"email":"jane@example.com"},"browser":{"user_agent":" UA "}}"#;
    let e = EventInput::from_json(text).unwrap();
    let borrowed = |c: &Cow<'_, str>| matches!(c, Cow::Borrowed(_));
    assert!(borrowed(&e.event_name) && e.order_id.as_ref().is_some_and(borrowed) && borrowed(&e.items[0].id));
    assert!(borrowed(&e.customer.get(Field::Email)[0]));
    // Trimmed in place: still a slice of the text.
    assert!(e.browser.user_agent.as_ref().is_some_and(|u| borrowed(u) && u == "UA"));
    // "eur" needed upper-casing; the escaped strings were decoded.
    assert!(!e.currency.as_ref().is_some_and(borrowed) && e.currency.as_deref() == Some("EUR"));
    assert_eq!(e.event_source_url.as_deref(), Some("https://shop.example/thanks"));
    assert_eq!(e.items[0].title.as_deref(), Some("café"));
    // Detached, it is the same event.
    let owned: EventInput<'static> = e.clone().into_owned();
    assert_eq!(owned, e);
}

#[test]
fn minimal_purchase() {
    let e = parse(r#"{"event_name":"Purchase","order_id":1001,"currency":"eur","value":"59.90"}"#).unwrap();
    assert_eq!(e.order_id.as_deref(), Some("1001"));
    assert_eq!(e.currency.as_deref(), Some("EUR"));
    assert_eq!(e.value, Some(59.9));
    assert_eq!(e.consent.marketing, Marketing::Unknown);
}

#[test]
fn errors_name_the_field_and_never_the_value() {
    let cases: &[(&str, &str, ErrorCode)] = &[
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"59.90","colour":1}"#, "colour", ErrorCode::UnknownField),
        (r#"{"event_name":"Purchase","currency":"EUR","value":"1"}"#, "order_id", ErrorCode::MissingField),
        (r#"{"event_name":"Purchase","order_id":"1","value":"1"}"#, "currency", ErrorCode::MissingField),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR"}"#, "value", ErrorCode::MissingField),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"NaN"}"#, "value", ErrorCode::InvalidValue),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"-5"}"#, "value", ErrorCode::InvalidValue),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":-5}"#, "value", ErrorCode::InvalidValue),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1e5"}"#, "value", ErrorCode::InvalidValue),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EURO","value":"1"}"#, "currency", ErrorCode::InvalidValue),
        (
            r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"id":"a","quantity":-1}]}"#,
            "items[0].quantity",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"id":"a","price":"inf"}]}"#,
            "items[0].price",
            ErrorCode::InvalidValue,
        ),
        (
            r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{"ean":"a"}]}"#,
            "items[0].ean",
            ErrorCode::UnknownField,
        ),
        (r#"{"event_name":"Purchase","order_id":"1","currency":"EUR","value":"1","items":[{}]}"#, "items[0].id", ErrorCode::MissingField),
        (r#"{"event_name":"Lead","customer":{"email":42.5}}"#, "customer.email", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","customer":{"mail":"john@example.com"}}"#, "customer.mail", ErrorCode::UnknownField),
        (r#"{"event_name":"Lead","browser":{"ip":"john@example.com"}}"#, "browser.ip", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","consent":{"marketing":"yes"}}"#, "consent.marketing", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","event_time":"yesterday"}"#, "event_time", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","event_source_url":"javascript:alert(1)"}"#, "event_source_url", ErrorCode::InvalidValue),
        (r#"{"event_name":"Buy<script>"}"#, "event_name", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","order_id":"a\u0000b"}"#, "order_id", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","order_id":""}"#, "order_id", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","event_id":"has space"}"#, "event_id", ErrorCode::InvalidValue),
        (r#"{}"#, "event_name", ErrorCode::MissingField),
        (r#"[]"#, "event", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","items":[5]}"#, "items[0]", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","items":{}}"#, "items", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","items":[{"id":"a","quantity":2.0}]}"#, "items[0].quantity", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","items":[{"id":"a","quantity":18446744073709551615}]}"#, "items[0].quantity", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","customer":[]}"#, "customer", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","customer":{"email":["a@example.com",7]}}"#, "customer.email[1]", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","browser":"x"}"#, "browser", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","consent":{"ldu":"yes"}}"#, "consent.ldu", ErrorCode::WrongType),
        (r#"{"event_name":"Lead","event_time":1e13}"#, "event_time", ErrorCode::InvalidValue),
        (r#"{"event_name":"Lead","event_time":18446744073709551615}"#, "event_time", ErrorCode::InvalidValue),
        (r#"{"event_name":"Purchase""#, "event", ErrorCode::InvalidJson),
    ];
    for (json, field, code) in cases {
        let e = err(json);
        assert_eq!(e.field_name(), Some(*field), "{json}");
        assert_eq!(e.code(), *code, "{json}");
        assert!(!e.to_string().contains("john@example.com"));
    }
}

#[test]
fn numbers_as_the_json_path_reads_them() {
    let e = parse(
        r#"{"event_name":"Lead","order_id":18446744073709551615,"event_time":1732790000.9,
        "customer":{"zip":12345},"items":[{"id":7,"price":3}]}"#,
    )
    .unwrap();
    assert_eq!(e.order_id.as_deref(), Some("18446744073709551615"));
    assert_eq!(e.event_time, Some(1_732_790_000));
    assert_eq!(e.customer.get(crate::normalize::Field::Zip), ["12345".to_string()]);
    assert_eq!((e.items[0].id.as_ref(), e.items[0].price), ("7", Some(3.0)));
    // null is absent everywhere.
    let e =
        parse(r#"{"event_name":"Lead","items":null,"customer":null,"browser":null,"consent":null,"value":null,"currency":null}"#).unwrap();
    assert!(e.items.is_empty() && e.customer.values.is_empty() && e.value.is_none());
}

#[test]
fn control_characters() {
    for s in ["", "SKU-1", "a b~", "\u{e9}t\u{e9}", "\u{2028}", "a\u{7f}", "a\u{85}b", "\u{9f}", "\t", "x\u{0}", "\u{1f}"] {
        assert_eq!(has_control(s), s.chars().any(char::is_control), "{s:?}");
    }
}

#[test]
fn small_decimals_parse_exactly() {
    for s in ["0", "0.0", "59.90", "9.99", "0.1", "0.3", "1.005", "000123.450", "999999999999999", "99999999999999.9", "0.00000000000001"] {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        assert_eq!(small_decimal(int, frac).map(f64::to_bits), Some(s.parse::<f64>().unwrap().to_bits()), "{s}");
    }
    assert_eq!(small_decimal("1234567890123456", ""), None);
    assert_eq!(small_decimal("0", "000000000000001"), None);
}

proptest::proptest! {
    #[test]
    fn small_decimals_match_the_parser(int in "[0-9]{1,12}", frac in "[0-9]{0,8}") {
        let text = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
        let expected = text.parse::<f64>().unwrap();
        proptest::prop_assert_eq!(parse_decimal(&text).map(f64::to_bits), Some(expected.to_bits()));
    }
}

proptest::proptest! {
    // About 2% of these texts take the shortcut: enough cases to see ~80 of them.
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
    #[test]
    fn plain_urls_are_urls(
        scheme in "(https?|HTTPS|ftp)://",
        host in "([a-zA-Z0-9-]{0,5}|xn--[a-z0-9]{1,4}|0x[0-9a-f]{1,3}|[0-9]{1,4}|[a-z@:\\\\ _%\t\u{e9}\u{ff0e}]{1,3})(\\.([a-zA-Z0-9-]{0,5}|xn--[a-z0-9]{1,4}|0x[0-9a-f]{1,3}|[0-9]{1,4}|[a-z@:%\\\\]{1,3})){0,3}",
        rest in "([/?#][ -~\u{e9}\t\n]{0,12})?",
    ) {
        let u = format!("{scheme}{host}{rest}");
        let full = url::Url::parse(&u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
        if plain_http_url(&u) {
            proptest::prop_assert!(full, "{u:?}");
        }
        proptest::prop_assert_eq!(is_http_url(&u), full);
    }
}

#[test]
fn plain_url_shortcut() {
    for u in ["https://shop.example/checkout/thanks", "http://a.b-c.de?x=1#y", "https://EXAMPLE.com", "https://x.y/\u{e9} </script>"] {
        assert!(plain_http_url(u), "{u}");
    }
    for u in [
        "https://1.2.3.4/",
        "https://a.0x1f/",
        "https://xn--80ak6aa92e.com/",
        "https://a..b/",
        "https://user@a.b/",
        "https://a.b:8080/",
        "https://a.b\\c/",
        "javascript:alert(1)",
        "https://",
        "https://a.b./",
    ] {
        assert!(!plain_http_url(u), "{u}");
    }
}

#[test]
fn limits_are_errors_not_truncation() {
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let e = err(&format!(r#"{{"event_name":"Lead","order_id":"{long}"}}"#));
    assert_eq!((e.code(), e.field_name()), (ErrorCode::TooLarge, Some("order_id")));
    let items = vec![r#"{"id":"a"}"#; MAX_ITEMS + 1].join(",");
    let e = err(&format!(r#"{{"event_name":"Lead","items":[{items}]}}"#));
    assert_eq!((e.code(), e.field_name()), (ErrorCode::TooLarge, Some("items")));
    let huge = format!(r#"{{"event_name":"Lead","items":[{{"id":"a","title":"{}"}}]}}"#, "y".repeat(10 << 20));
    assert_eq!(err(&huge).code(), ErrorCode::TooLarge);
}

#[test]
fn times() {
    let now = 1_732_790_000;
    assert!(check_event_time(now, now).is_ok());
    assert!(check_event_time(now - MAX_AGE_SECONDS, now).is_ok());
    assert_eq!(check_event_time(now - MAX_AGE_SECONDS - 1, now).unwrap_err().code(), ErrorCode::EventTimeOutOfRange);
    assert_eq!(check_event_time(now + 3600, now).unwrap_err().field_name(), Some("event_time"));
}

#[test]
fn debug_redacts_pii() {
    let e = parse(
        r#"{"event_name":"Lead","customer":{"email":"SENTINEL@example.com"},"browser":{"ip":"203.0.113.9","user_agent":"SENTINEL-UA"}}"#,
    )
    .unwrap();
    let d = format!("{e:?}");
    assert!(!d.contains("SENTINEL") && !d.contains("203.0.113.9"), "{d}");
    assert!(d.contains("email"));
}

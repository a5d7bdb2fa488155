//! Byte-identity check for `build`'s output: builds a fixed set of varied and
//! hostile events under several settings and options, normalizes hostile values
//! field by field, and prints one SHA-256 of everything written (payload text,
//! snippet, result fields, errors). A change that only makes `build` faster must
//! leave the printed digest unchanged.
//!
//! `cargo run --release -p convtrack-core --example identity` (add `dump` to print
//! the texts themselves, for a diff).

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use convtrack_core::hash::sha256_hex;
use convtrack_core::normalize::{normalize, Field};
use convtrack_core::tracker::BuildOptions;
use convtrack_core::{EventInput, Settings, Tracker};
use serde_json::{json, Value};

const NOW: i64 = 1_732_790_000;

const HOSTILE: &[&str] = &[
    "",
    " ",
    "a",
    "Jane.Doe@Example.com",
    "  JOHN_smith@Gmail.COM \t",
    "a:.b@x.com",
    "\u{212A}im@x.com",
    "ä@b.c",
    "</script><script>alert(1)</script>",
    "<!--",
    "a\u{2028}b\u{2029}c",
    "quote\" and 'single' and \\ backslash",
    "&amp;<>&",
    "ctl\u{1}\u{7}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f}end",
    "José\u{A0}María",
    "ΟΔΟΣ Αντωνίου",
    "Mary\u{2013}Jane O'Connor",
    "John😀",
    "€100 price",
    "020 7183 8750",
    "+44 20 7183 8750",
    "0044 20 7183 8750",
    "(415) 555-0123",
    "00000",
    "1-800-FLOWERS",
    "Female",
    " \u{0B}Female\u{0C} ",
    "MA'AM",
    "Mr",
    "1990-12-31",
    "12/31/1990",
    "2/16/1997 (mm/dd/yyyy)",
    "12月31日1990年",
    "19901231",
    "01-01-2028",
    "London",
    "São Paulo",
    "123Angeles",
    "Greater London",
    "California",
    "    C/a/lifo,rnia.  ",
    "NewYorkNY",
    "Tëxas",
    "Tex.",
    "SW1A 1AA",
    " 98121-4892 ",
    "-12345",
    "🚀",
    "GB",
    "gb",
    " Gb ",
    "United Kingdom",
    "United   Kingdom",
    "UnitedStatesAmerica",
    "Republic of Indonesia",
    "Japão",
    "U.K.",
    "Atlantis",
    "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3",
    "  a665a45920422f9d417e4867efdc4fb8 ",
    "0123456789abcdef0123456789abcdeX",
    " User ID\u{3000}456 ",
    "George",
    "Éloïse",
    "31",
    "1",
    "001",
    "12",
    "0000",
    "\u{FEFF}x\u{3000}",
    "\u{2028}",
    "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ!#$%&'*+/=?^`{|}~-",
];

const COUNTRIES: &[Option<&str>] = &[None, Some("gb"), Some("us"), Some("de"), Some("fr"), Some("jp"), Some("in"), Some("br")];

fn customers() -> Vec<Value> {
    vec![
        json!({}),
        json!({"email": "Jane.Doe@Example.com", "phone": "020 7183 8750", "first_name": "Jane", "last_name": "Doe",
               "gender": "Female", "date_of_birth": "1990-12-31", "city": "London", "state": "Greater London",
               "zip": "SW1A 1AA", "country": "GB"}),
        json!({"email": ["a@b.co", "A@B.CO", " a@b.co ", "not an email", "x@y.org"],
               "phone": ["+1 415 555 0123", "(415) 555-0123", "4155550123", "abc"],
               "first_name": ["José", "JOSÉ", "Mary-Jane"], "last_name": "O'Connor",
               "country": ["United Kingdom", "gb"], "external_id": [" User ID\u{3000}456 ", "userid456", "x"],
               "city": "São Paulo", "state": "    C/a/lifo,rnia.  ", "zip": " 98121-4892 "}),
        json!({"email": "A665A45920422F9D417E4867EFDC4FB8A04A1F3FFF1FA07E998E86F7F7A27AE3",
               "phone": "0044 20 7183 8750", "gender": "MA'AM", "date_of_birth": "12/31/90",
               "first_name": "ΟΔΟΣ", "last_name": "John😀", "country": "Atlantis", "state": "Tëxas", "city": "123Angeles"}),
        json!({"phone": "020 7183 8750", "country": "Japão", "email": "\u{212A}im@x.com", "zip": "🚀", "gender": "x"}),
    ]
}

fn item(i: usize, title: &str, price: Value) -> Value {
    json!({"id": format!("SKU-{i}"), "sku": format!("S&K<{i}>"), "variant_id": format!("v{i}\u{2028}"),
           "quantity": i + 1, "price": price, "title": title, "category": format!("Cat \"{i}\" & </script>")})
}

fn item_lists() -> Vec<Value> {
    let titles = ["Product", "</script><script>alert(1)</script>", "a\u{2028}b\u{2029}c", "ctl\u{1}\u{1f}x", "€ and é", "q\"b\\s", "<!--"];
    let prices = [json!("9.99"), json!(0.1), json!(1e14), json!(19.999), json!("59.90"), json!(0), json!(10), json!("123456789.125")];
    let mut lists = vec![json!([])];
    lists.push(json!([{"id": "1", "sku": "1", "variant_id": "1", "quantity": 1}]));
    lists.push(Value::Array((0..5).map(|i| json!({"id": format!("SKU-{i}"), "sku": format!("S{i}"), "variant_id": format!("V{i}"), "quantity": i + 1, "price": "9.99", "title": format!("Product {i}")})).collect()));
    lists.push(Value::Array((0..24).map(|i| item(i, titles[i % titles.len()], prices[i % prices.len()].clone())).collect()));
    lists.push(json!([{"id": "dup", "sku": "d", "variant_id": "d", "quantity": 1}, {"id": "dup", "sku": "d", "variant_id": "e", "quantity": 2, "price": 1.5},
                      {"id": "&<>", "sku": "&<>", "variant_id": "&<>", "quantity": 3, "title": "t"}]));
    lists
}

fn events() -> Vec<Value> {
    let mut out = Vec::new();
    let customers = customers();
    let items = item_lists();
    let names = ["Purchase", "AddToCart", "PageView", "My Custom Event", "Lead"];
    let consents =
        [json!({"marketing": "granted"}), json!({"marketing": "denied"}), json!({}), json!({"marketing": "granted", "ldu": true})];
    let mut n = 0usize;
    for (ci, customer) in customers.iter().enumerate() {
        for (ii, list) in items.iter().enumerate() {
            for (ki, consent) in consents.iter().enumerate() {
                n += 1;
                let name = names[n % names.len()];
                let mut ev = json!({"event_name": name, "event_time": NOW - 60, "customer": customer, "items": list, "consent": consent,
                                    "event_source_url": "https://shop.example/checkout/thanks?a=1&b=<2>",
                                    "browser": {"ip": "203.0.113.7", "user_agent": "Mozilla/5.0 \"x\" </script>", "fbp": "fb.1.1732780000000.1"}});
                let m = ev.as_object_mut().unwrap();
                match n % 4 {
                    0 => {
                        m.insert("order_id".into(), json!(format!("order-{n}")));
                    }
                    1 => {
                        m.insert("event_id".into(), json!(format!("ev<{n}>&")));
                    }
                    2 => {
                        m.insert("order_id".into(), json!("1001"));
                        m.insert("currency".into(), json!("EUR"));
                        m.insert("value".into(), json!("59.90"));
                    }
                    _ => {
                        m.insert("event_id".into(), json!("e"));
                        m.insert("currency".into(), json!("usd"));
                        m.insert("value".into(), json!(0.1 + 0.2));
                    }
                }
                if name == "Purchase" {
                    m.remove("event_id");
                    m.entry("order_id").or_insert(json!(format!("o{n}")));
                    m.entry("currency").or_insert(json!("GBP"));
                    m.entry("value").or_insert(json!(19.999));
                }
                if (ci + ii + ki) % 3 == 0 {
                    m.get_mut("browser").unwrap().as_object_mut().unwrap().insert("fbclid".into(), json!("IwAR<&>"));
                }
                if (ci + ii) % 5 == 1 {
                    m.get_mut("browser").unwrap().as_object_mut().unwrap().insert("fbc".into(), json!("fb.1.2.abc"));
                }
                if n % 7 == 0 {
                    m.remove("event_source_url");
                }
                out.push(ev);
            }
        }
    }
    out
}

fn settings() -> Vec<&'static str> {
    vec![
        r#"{"pixel_id":"1234567890","access_token":"t","data_controls":true}"#,
        r#"{"pixel_id":"1234567890","access_token":"t","data_controls":false}"#,
        r#"{"pixel_id":"42","access_token":"t","data_controls":true,"unknown_consent":"grant","default_country":"US","content_id":"sku"}"#,
        r#"{"pixel_id":"42","access_token":"t","data_controls":true,"ldu":{"country":1,"state":1000},"content_id":"variant_id","allowed_fields":["email","zip","country"]}"#,
        r#"{"pixel_id":"7","access_token":"t","data_controls":true,"default_country":"de","allowed_fields":["phone","first_name","date_of_birth"]}"#,
    ]
}

fn main() {
    let dump = std::env::args().nth(1).as_deref() == Some("dump");
    let mut all = String::new();
    let mut record = |s: &str| {
        if dump {
            println!("{s}");
        }
        all.push_str(s);
        all.push('\u{1}');
    };
    // Normalizers, every field, every hostile value, with and without a country.
    for &field in &Field::ALL {
        for value in HOSTILE {
            for &country in COUNTRIES {
                let n = normalize(field, value, country);
                record(&format!("{}|{value:?}|{country:?}|{n:?}", field.meta_key()));
            }
        }
    }
    let options = [
        BuildOptions { now: Some(NOW), ..Default::default() },
        BuildOptions { now: Some(NOW), nonce: Some("abc123==".into()), script_src: None, server_only: false, ..Default::default() },
        BuildOptions {
            now: Some(NOW),
            nonce: None,
            script_src: Some("https://cdn.example/fbevents.js?a=1&b=<2>".into()),
            server_only: false,
            ..Default::default()
        },
        BuildOptions { now: Some(NOW), nonce: Some("\"><script>".into()), script_src: None, server_only: false, ..Default::default() },
    ];
    let mut count = 0;
    for s in settings() {
        let tracker = Tracker::new(Settings::from_json(s).unwrap());
        for ev in events() {
            let text = ev.to_string();
            for (oi, opts) in options.iter().enumerate() {
                // All events with the first options, a sample with the others.
                if oi > 0 && count % 5 != 0 {
                    continue;
                }
                count += 1;
                match EventInput::from_json(&text) {
                    Err(e) => record(&format!("input error {e:?} {e}")),
                    Ok(input) => match tracker.build(&input, opts) {
                        Ok(r) => {
                            record(&r.to_json_string());
                            record(&format!("{r:?}"));
                        }
                        Err(e) => record(&format!("build error {e:?} {e}")),
                    },
                }
            }
        }
    }
    // Inputs the JSON parser would refuse (control characters in titles, odd prices),
    // set directly, to reach the encoders.
    let tracker = Tracker::new(Settings::from_json(settings()[0]).unwrap());
    let base_json = events()[12].to_string();
    let base = EventInput::from_json(&base_json).unwrap();
    for title in HOSTILE {
        for price in [0.1, 1e14, 19.999, 1e21, 5e-7, 123_456_789.125, 0.0, 1e13, 9_999_999_999_999.99] {
            let mut input = base.clone();
            input.value = Some(price);
            input.currency = Some((*title).into());
            input.event_source_url = Some((*title).into());
            for it in &mut input.items {
                it.title = Some((*title).into());
                it.category = Some(format!("{title}{title}").into());
                it.id = (*title).into();
                it.price = Some(price);
            }
            input.browser.user_agent = Some(format!("UA {title}").into());
            input.browser.ip = Some((*title).into());
            match tracker.build(&input, &BuildOptions { now: Some(NOW), ..Default::default() }) {
                Ok(r) => record(&r.to_json_string()),
                Err(e) => record(&format!("build error {e:?} {e}")),
            }
        }
    }
    eprintln!("{count} builds, {} bytes", all.len());
    println!("identity {}", sha256_hex(&all));
}

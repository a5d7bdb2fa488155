use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_764_800_000_123;
const CLICK: &str = "IwAR2F4-dbP0l7Mn1IawQQGCINEz7PYXQvwjNwB_qa2ofrHyiLjcbCRxTDMgk";

fn req<'a>() -> CookieRequest<'a> {
    CookieRequest { now_ms: NOW, random: 0xffff_ffff, ..Default::default() }
}

fn names(r: &FirstPartyCookies) -> Vec<&str> {
    r.set.iter().map(|c| c.name).collect()
}

#[test]
fn first_visit_with_a_click_sets_both_with_the_click_time() {
    let url = format!("https://www.example.com/shoes?utm_source=fb&fbclid={CLICK}#top");
    let r = first_party_cookies(&CookieRequest { url: Some(&url), host: Some("www.example.com"), domain: Some("example.com"), ..req() })
        .unwrap();
    assert_eq!(r.fbc.as_deref(), Some(format!("fb.1.{NOW}.{CLICK}").as_str()));
    assert_eq!(r.fbp, format!("fb.1.{NOW}.2147483647"));
    assert_eq!(names(&r), ["_fbc", "_fbp"]);
    for c in &r.set {
        assert_eq!(c.max_age, 90 * 86_400);
        assert_eq!(c.domain.as_deref(), Some("example.com"));
    }
}

#[test]
fn subdomain_index_counts_the_cookie_domain_dots() {
    let index = |host: Option<&str>, domain: Option<&str>| {
        let r = first_party_cookies(&CookieRequest { host, domain, ..req() }).unwrap();
        parse_cookie(&r.fbp).unwrap().subdomain_index
    };
    assert_eq!(index(Some("www.example.com"), Some("example.com")), 1);
    assert_eq!(index(Some("www.example.com"), None), 2);
    assert_eq!(index(Some("localhost:8000"), None), 0);
    assert_eq!(index(Some("203.0.113.7:8443"), None), 0);
    assert_eq!(index(Some("[2001:db8::1]:443"), None), 0);
    assert_eq!(index(Some("EXAMPLE.com."), None), 1);
    assert_eq!(index(None, None), 1);
    let r = first_party_cookies(&CookieRequest { host: Some("www.example.com"), ..req() }).unwrap();
    assert_eq!(r.set[0].domain, None, "no domain given: a host-only cookie");
}

#[test]
fn valid_existing_cookies_are_kept() {
    let fbp = "fb.1.1700000000000.123456789";
    let fbc = format!("fb.1.1700000000000.{CLICK}");
    let url = format!("/?fbclid={CLICK}");
    let r = first_party_cookies(&CookieRequest { fbp: Some(fbp), fbc: Some(&fbc), url: Some(&url), ..req() }).unwrap();
    assert!(r.set.is_empty());
    assert_eq!(r.fbp, fbp);
    assert_eq!(r.fbc.as_deref(), Some(fbc.as_str()), "the same click keeps its click time");
    // Meta's libraries append a fifth part; it is valid too.
    let with_appendix = "fb.2.1700000000000.1234.AQ";
    let r = first_party_cookies(&CookieRequest { fbp: Some(with_appendix), ..req() }).unwrap();
    assert_eq!((r.fbp.as_str(), r.set.len()), (with_appendix, 0));
}

#[test]
fn a_new_click_replaces_the_old_fbc() {
    let old = "fb.1.1700000000000.OLDCLICK";
    let r = first_party_cookies(&CookieRequest { fbc: Some(old), fbclid: Some(CLICK), ..req() }).unwrap();
    assert_eq!(r.fbc, Some(format!("fb.1.{NOW}.{CLICK}")));
    assert_eq!(names(&r), ["_fbc", "_fbp"]);
}

#[test]
fn no_click_keeps_a_valid_fbc_and_sets_none() {
    let r = first_party_cookies(&req()).unwrap();
    assert_eq!((r.fbc.clone(), names(&r)), (None, vec!["_fbp"]));
    let r = first_party_cookies(&CookieRequest { fbc: Some("fb.1.1700000000000.abc"), ..req() }).unwrap();
    assert_eq!(r.fbc.as_deref(), Some("fb.1.1700000000000.abc"));
}

#[test]
fn hostile_values_are_absent_and_replaced() {
    let big = format!("fb.1.1700000000000.{}", "a".repeat(10 * 1024));
    for bad in
        ["</script><script>alert(1)</script>", "fb.1.17\u{0}.1", big.as_str(), "fb.1.x.1", "fb.1.1.", "fb.1.1.a.b.c", "", "fb.1.1.a;b"]
    {
        let r = first_party_cookies(&CookieRequest { fbp: Some(bad), fbc: Some(bad), fbclid: Some(bad), ..req() }).unwrap();
        assert_eq!(names(&r), ["_fbp"], "{bad:?}");
        assert_eq!(r.fbc, None);
        assert!(!r.fbp.contains(bad) || bad.is_empty());
        assert!(!r.to_json().contains("script"));
    }
    // A hostile click id in the URL is ignored; a percent-encoded valid one is decoded.
    let r = first_party_cookies(&CookieRequest { url: Some("/?fbclid=%3C%2Fscript%3E"), ..req() }).unwrap();
    assert_eq!(r.fbc, None);
    assert_eq!(fbclid_of_url("/p?a=1&fbclid=Iw%41R&fbclid=second"), Some("IwAR".into()));
    assert_eq!(fbclid_of_url("/p?fbclid=#x"), None);
    assert_eq!(fbclid_of_url("/p#?fbclid=x"), None, "a fragment is not the query");
}

#[test]
fn explicit_fbclid_wins_over_the_url() {
    let r = first_party_cookies(&CookieRequest { fbclid: Some("A"), url: Some("/?fbclid=B"), ..req() }).unwrap();
    assert_eq!(parse_cookie(r.fbc.as_deref().unwrap()).unwrap().payload, "A");
}

#[test]
fn bad_shop_inputs_are_typed_errors_naming_the_field() {
    let err = |r: CookieRequest<'_>| {
        let e = first_party_cookies(&r).unwrap_err();
        (e.code(), e.field_name().unwrap().to_owned())
    };
    assert_eq!(err(CookieRequest { now_ms: 0, ..req() }), (ErrorCode::InvalidValue, "now_ms".into()));
    assert_eq!(err(CookieRequest { now_ms: i64::MAX, ..req() }), (ErrorCode::InvalidValue, "now_ms".into()));
    assert_eq!(err(CookieRequest { host: Some("exa mple.com"), ..req() }), (ErrorCode::InvalidValue, "host".into()));
    assert_eq!(err(CookieRequest { host: Some("example.com:80x"), ..req() }), (ErrorCode::InvalidValue, "host".into()));
    assert_eq!(
        err(CookieRequest { host: Some("shop.com"), domain: Some("example.com"), ..req() }),
        (ErrorCode::InvalidValue, "domain".into())
    );
    assert_eq!(
        err(CookieRequest { host: Some("badexample.com"), domain: Some("example.com"), ..req() }),
        (ErrorCode::InvalidValue, "domain".into())
    );
    assert_eq!(err(CookieRequest { domain: Some("example.com"), ..req() }), (ErrorCode::MissingField, "host".into()));
    let e = first_party_cookies(&CookieRequest { host: Some("<script>"), ..req() }).unwrap_err();
    assert!(!e.to_string().contains("script"), "the value is never echoed");
}

#[test]
fn json_request_and_answer() {
    let out = first_party_cookies_json(&format!(
        r#"{{"fbclid":"{CLICK}","host":"shop.example.com:8443","domain":".example.com","now_ms":{NOW},"random":7,"fbp":null}}"#
    ))
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["fbp"], format!("fb.1.{NOW}.7"));
    assert_eq!(v["fbc"], format!("fb.1.{NOW}.{CLICK}"));
    let c = &v["cookies"][0];
    assert_eq!((c["name"].as_str(), c["domain"].as_str(), c["path"].as_str()), (Some("_fbc"), Some("example.com"), Some("/")));
    assert_eq!((c["same_site"].as_str(), c["http_only"].as_bool(), c["max_age"].as_u64()), (Some("Lax"), Some(false), Some(7_776_000)));
    // Clock and OS fill what is left out.
    let v: Value = serde_json::from_str(&first_party_cookies_json("{}").unwrap()).unwrap();
    assert!(parse_cookie(v["fbp"].as_str().unwrap()).is_some());
    let err = |json: &str| {
        let e = first_party_cookies_json(json).unwrap_err();
        (e.code(), e.field_name().map(str::to_owned))
    };
    assert_eq!(err("[]"), (ErrorCode::WrongType, Some("request".into())));
    assert_eq!(err("{"), (ErrorCode::InvalidJson, None));
    assert_eq!(err(r#"{"fbp":1}"#), (ErrorCode::WrongType, Some("fbp".into())));
    assert_eq!(err(r#"{"now_ms":"1"}"#), (ErrorCode::WrongType, Some("now_ms".into())));
    assert_eq!(err(r#"{"random":-1}"#), (ErrorCode::WrongType, Some("random".into())));
    assert_eq!(err(r#"{"colour":1}"#), (ErrorCode::UnknownField, Some("colour".into())));
    let e = first_party_cookies_json(r#"{"me@example.com":1}"#).unwrap_err();
    assert!(!e.to_string().contains("example.com"));
}

#[test]
fn debug_never_shows_values() {
    let r = first_party_cookies(&CookieRequest { fbclid: Some(CLICK), ..req() }).unwrap();
    let shown = format!("{r:?} {:?}", CookieRequest { fbclid: Some(CLICK), ..req() });
    assert!(!shown.contains(CLICK) && !shown.contains("2147483647"), "{shown}");
}

proptest! {
    /// Whatever the shopper sends, the answer's values parse as valid cookies, and a
    /// valid existing `_fbp` (or `_fbc` for the same click) is never overwritten.
    #[test]
    fn produced_values_are_valid_and_valid_cookies_stay(
        fbp in proptest::option::of(prop_oneof![".{0,40}", "fb\\.[0-9]{1,2}\\.[0-9]{1,16}\\.[0-9]{1,10}"]),
        fbc in proptest::option::of(prop_oneof![".{0,40}", "fb\\.[0-9]{1,2}\\.[0-9]{1,16}\\.[A-Za-z0-9_-]{1,20}"]),
        fbclid in proptest::option::of(prop_oneof![".{0,40}", "[A-Za-z0-9_-]{1,20}"]),
        url in proptest::option::of(".{0,60}"),
        host in proptest::option::of("[a-z]{1,10}(\\.[a-z]{1,10}){0,3}"),
        now_ms in 1i64..=MAX_NOW_MS,
        random: u32,
    ) {
        let r = first_party_cookies(&CookieRequest {
            fbp: fbp.as_deref(), fbc: fbc.as_deref(), fbclid: fbclid.as_deref(), url: url.as_deref(),
            host: host.as_deref(), domain: None, now_ms, random,
        }).unwrap();
        prop_assert!(parse_cookie(&r.fbp).is_some());
        if let Some(v) = &r.fbc { prop_assert!(parse_cookie(v).is_some()); }
        for c in &r.set { prop_assert!(parse_cookie(&c.value).is_some()); }
        if let Some(old) = fbp.as_deref().filter(|v| parse_cookie(v).is_some()) {
            prop_assert_eq!(r.fbp.as_str(), old);
            prop_assert!(r.set.iter().all(|c| c.name != FBP_COOKIE));
        }
        if let (Some(old), Some(id)) = (fbc.as_deref().and_then(parse_cookie), fbclid.as_deref().filter(|c| valid_fbclid(c))) {
            if old.payload == id {
                prop_assert_eq!(r.fbc.as_deref(), fbc.as_deref());
                prop_assert!(r.set.iter().all(|c| c.name != FBC_COOKIE));
            }
        }
    }
}

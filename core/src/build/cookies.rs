//! First-party `_fbp` / `_fbc` cookies, following the rules of Meta's parameter
//! builder (docs/spec.md, "First-party cookies"). Pure: the caller passes the time and
//! the random number, so the same request always gives the same answer.
//!
//! - Format `fb.<subdomain index>.<creation time, ms>.<payload>`, an optional fifth
//!   part (the appendix Meta's libraries add) accepted on existing cookies.
//! - `_fbp`: the payload is a random number below 2^31. A valid existing `_fbp` is
//!   never overwritten.
//! - `_fbc`: the payload is the `fbclid` of the URL, unchanged. A valid existing `_fbc`
//!   with the same click id is kept (it holds the time of the click); a new click id
//!   replaces it.
//! - Cookie and click-id values come from the shopper: one that is malformed
//!   (wrong shape, markup, control characters, oversized) is treated as absent, never
//!   an error and never echoed.
//! - The subdomain index is the number of dots of the cookie's domain: 1 for
//!   `example.com`, 2 for `www.example.com`, 0 for an IP address.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorCode, Result};

/// The browser-id cookie's name.
pub const FBP_COOKIE: &str = "_fbp";
/// The click-id cookie's name.
pub const FBC_COOKIE: &str = "_fbc";
/// Lifetime of both cookies: 90 days, as Meta's pixel and parameter builder.
pub const MAX_AGE_SECONDS: u32 = 90 * 24 * 3600;
/// Both cookies are site-wide.
pub const COOKIE_PATH: &str = "/";
/// Sent on top-level navigation from an ad, not on third-party requests.
pub const SAME_SITE: &str = "Lax";

/// Longest cookie value accepted (the event input's limit for `browser.fbp`/`fbc`).
const MAX_COOKIE: usize = 1024;
/// Longest click id accepted: room for `fb.NN.<16 digits>.` in front of it.
const MAX_FBCLID: usize = 1000;
/// Latest accepted `now_ms`: 9999-12-31T23:59:59.999Z.
const MAX_NOW_MS: i64 = 253_402_300_799_999;
/// Largest accepted JSON request (C and PHP faces).
const MAX_REQUEST_JSON: usize = 1 << 20;

/// What the shop knows about the request. Cookie values, `url` and `fbclid` may
/// be anything the shopper sent; `host` and `domain` are the shop's.
#[derive(Clone, Default)]
pub struct CookieRequest<'a> {
    /// The request's `_fbp` cookie.
    pub fbp: Option<&'a str>,
    /// The request's `_fbc` cookie.
    pub fbc: Option<&'a str>,
    /// The page URL; its `fbclid` query parameter is read when `fbclid` is absent.
    pub url: Option<&'a str>,
    /// The `fbclid` query parameter, already decoded.
    pub fbclid: Option<&'a str>,
    /// The request's host (`Host` header, an optional port allowed).
    pub host: Option<&'a str>,
    /// The cookie domain (the eTLD+1, e.g. `example.com`): the host or a parent of
    /// it. Absent: host-only cookies.
    pub domain: Option<&'a str>,
    /// Now, in Unix milliseconds.
    pub now_ms: i64,
    /// A random number from the OS (see [`os_random`]).
    pub random: u32,
}

impl fmt::Debug for CookieRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cookie values and URLs identify the shopper: only say which are present.
        f.debug_struct("CookieRequest")
            .field("fbp", &self.fbp.is_some())
            .field("fbc", &self.fbc.is_some())
            .field("url", &self.url.is_some())
            .field("fbclid", &self.fbclid.is_some())
            .field("host", &self.host.is_some())
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

/// One `Set-Cookie` the shop should send: `path` is [`COOKIE_PATH`], `SameSite`
/// is [`SAME_SITE`], never `HttpOnly` (the pixel reads the cookies).
#[derive(Clone, PartialEq, Eq)]
pub struct CookieToSet {
    /// [`FBP_COOKIE`] or [`FBC_COOKIE`].
    pub name: &'static str,
    pub value: String,
    /// [`MAX_AGE_SECONDS`].
    pub max_age: u32,
    /// The `Domain` attribute; `None`: a host-only cookie.
    pub domain: Option<String>,
}

impl fmt::Debug for CookieToSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieToSet").field("name", &self.name).field("domain", &self.domain).finish_non_exhaustive()
    }
}

/// The answer: the cookies to set now, and the values the event's `browser`
/// block carries on this same request.
#[derive(Clone, PartialEq, Eq)]
pub struct FirstPartyCookies {
    /// The `_fbp` value for `browser.fbp`: the valid existing one or the new one.
    pub fbp: String,
    /// The `_fbc` value for `browser.fbc`, when there is a valid one or a click id.
    pub fbc: Option<String>,
    /// The cookies to set (none when the existing ones stay).
    pub set: Vec<CookieToSet>,
}

impl fmt::Debug for FirstPartyCookies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FirstPartyCookies").field("fbc", &self.fbc.is_some()).field("set", &self.set).finish_non_exhaustive()
    }
}

/// A random number from the OS for [`CookieRequest::random`]. Without OS
/// randomness (should not happen) it falls back to the clock's nanoseconds.
pub fn os_random() -> u32 {
    let mut b = [0u8; 4];
    if getrandom::getrandom(&mut b).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        return nanos ^ std::process::id().rotate_left(16);
    }
    u32::from_le_bytes(b)
}

/// The cookies to set and the browser values for one request.
pub fn first_party_cookies(req: &CookieRequest<'_>) -> Result<FirstPartyCookies> {
    if req.now_ms <= 0 || req.now_ms > MAX_NOW_MS {
        return Err(Error::invalid("now_ms", "must be a positive Unix time in milliseconds"));
    }
    let host = req.host.map(parse_host).transpose()?;
    let domain = match req.domain.filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(cookie_domain(d, host.as_ref())?),
    };
    // The dots of the domain the cookie lives on; 1 (`example.com`) when the host is unknown.
    let index = match (&domain, &host) {
        (Some(d), _) => d.matches('.').count(),
        (None, Some(Host::Ip)) => 0,
        (None, Some(Host::Name(h))) => h.matches('.').count(),
        (None, None) => 1,
    };
    let cookie = |name: &'static str, value: String| CookieToSet { name, value, max_age: MAX_AGE_SECONDS, domain: domain.clone() };
    let mut set = Vec::new();

    let fbclid = req.fbclid.filter(|c| valid_fbclid(c)).map(str::to_owned).or_else(|| req.url.and_then(fbclid_of_url));
    let existing_fbc = req.fbc.filter(|v| parse_cookie(v).is_some());
    let fbc = match (fbclid, existing_fbc) {
        (Some(id), Some(old)) if parse_cookie(old).is_some_and(|c| c.payload == id) => Some(old.to_owned()),
        (Some(id), _) => {
            let value = format!("fb.{index}.{}.{id}", req.now_ms);
            set.push(cookie(FBC_COOKIE, value.clone()));
            Some(value)
        }
        (None, old) => old.map(str::to_owned),
    };
    let fbp = match req.fbp.filter(|v| parse_cookie(v).is_some()) {
        Some(old) => old.to_owned(),
        None => {
            let value = format!("fb.{index}.{}.{}", req.now_ms, req.random & 0x7fff_ffff);
            set.push(cookie(FBP_COOKIE, value.clone()));
            value
        }
    };
    Ok(FirstPartyCookies { fbp, fbc, set })
}

/// The parts of a valid `_fbp`/`_fbc` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieParts<'a> {
    pub subdomain_index: u8,
    pub creation_ms: u64,
    /// The random number (`_fbp`) or the click id (`_fbc`).
    pub payload: &'a str,
}

/// `fb.<index>.<ms>.<payload>[.<appendix>]`, each part of a safe alphabet; `None`
/// for anything else.
pub fn parse_cookie(value: &str) -> Option<CookieParts<'_>> {
    if value.len() > MAX_COOKIE {
        return None;
    }
    let mut parts = value.split('.');
    let (fb, index, ms, payload) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let appendix = parts.next();
    let digits = |s: &str, max: usize| !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit());
    let ok = fb == "fb"
        && digits(index, 2)
        && digits(ms, 16)
        && safe_token(payload, MAX_FBCLID)
        && appendix.map_or(true, |a| safe_token(a, 16))
        && parts.next().is_none();
    if !ok {
        return None;
    }
    Some(CookieParts { subdomain_index: index.parse().ok()?, creation_ms: ms.parse().ok()?, payload })
}

/// Letters, digits, `_` and `-` (base64url: Meta's click ids and random numbers).
fn safe_token(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn valid_fbclid(s: &str) -> bool {
    safe_token(s, MAX_FBCLID)
}

/// The first `fbclid` query parameter of a URL, percent-decoded, when valid.
pub fn fbclid_of_url(url: &str) -> Option<String> {
    let url = url.split_once('#').map_or(url, |(u, _)| u);
    let query = url.split_once('?')?.1;
    let value = query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k)? == "fbclid").then_some(v)
    })?;
    percent_decode(value).filter(|v| valid_fbclid(v))
}

fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_owned());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

enum Host {
    Ip,
    /// Lower-case, without port or trailing dot.
    Name(String),
}

/// A `Host` header value: a name or an IP address, an optional port.
fn parse_host(raw: &str) -> Result<Host> {
    let bad = || Error::invalid("host", "must be a host name or an IP address, with an optional port");
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
        let port_ok = after.is_empty() || after.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        return match (ip.parse::<std::net::Ipv6Addr>(), port_ok) {
            (Ok(_), true) => Ok(Host::Ip),
            _ => Err(bad()),
        };
    }
    if raw.parse::<std::net::IpAddr>().is_ok() {
        return Ok(Host::Ip); // a bare IPv6 address has colons but no port
    }
    let name = match raw.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => name,
        Some(_) => return Err(bad()),
        None => raw,
    };
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(Host::Ip);
    }
    domain_name(name).map(Host::Name).ok_or_else(bad)
}

/// A DNS name, lower-cased, trailing dot removed; `None` when not one.
fn domain_name(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let label_ok = |l: &str| {
        !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (!s.is_empty() && s.len() <= 253 && s.split('.').all(label_ok)).then_some(s)
}

/// The merchant's cookie domain: a DNS name (a leading dot allowed), the host or a
/// parent of it.
fn cookie_domain(raw: &str, host: Option<&Host>) -> Result<String> {
    let d = domain_name(raw.trim().strip_prefix('.').unwrap_or(raw.trim()))
        .ok_or_else(|| Error::invalid("domain", "must be a domain name such as example.com"))?;
    match host {
        None => Err(Error::field(ErrorCode::MissingField, "host", "is required when domain is given")),
        Some(Host::Ip) => Err(Error::invalid("domain", "must be absent when the host is an IP address")),
        Some(Host::Name(h)) if h == &d || h.ends_with(&format!(".{d}")) => Ok(d),
        Some(Host::Name(_)) => Err(Error::invalid("domain", "must be the host or a parent domain of it")),
    }
}

/// An owned request, read from the JSON of the C and PHP faces: an object with
/// the optional keys `fbp`, `fbc`, `url`, `fbclid`, `host`, `domain` (strings or
/// null), `now_ms` and `random` (integers; absent: the clock and the OS).
#[derive(Default)]
pub struct OwnedCookieRequest {
    strings: [Option<String>; 6],
    pub now_ms: Option<i64>,
    pub random: Option<u32>,
}

const STRING_KEYS: [&str; 6] = ["fbp", "fbc", "url", "fbclid", "host", "domain"];

impl OwnedCookieRequest {
    pub fn from_json(json: &str) -> Result<Self> {
        if json.len() > MAX_REQUEST_JSON {
            return Err(Error::field(ErrorCode::TooLarge, "request", "must be at most 1 MiB"));
        }
        let value: Value =
            serde_json::from_str(json).map_err(|_| Error::general(ErrorCode::InvalidJson, "the request is not valid JSON"))?;
        let Value::Object(map) = value else { return Err(Error::wrong_type("request", "an object")) };
        Self::from_map(map)
    }

    fn from_map(map: Map<String, Value>) -> Result<Self> {
        let mut req = OwnedCookieRequest::default();
        for (key, value) in map {
            if let Some(i) = STRING_KEYS.iter().position(|k| *k == key) {
                req.strings[i] = match value {
                    Value::Null => None,
                    Value::String(s) => Some(s),
                    _ => return Err(Error::wrong_type(key, "a string or null")),
                };
            } else if key == "now_ms" {
                req.now_ms = match value {
                    Value::Null => None,
                    v => Some(v.as_i64().ok_or_else(|| Error::wrong_type("now_ms", "an integer"))?),
                };
            } else if key == "random" {
                req.random = match value {
                    Value::Null => None,
                    v => Some(
                        v.as_u64()
                            .and_then(|n| u32::try_from(n).ok())
                            .ok_or_else(|| Error::wrong_type("random", "an integer from 0 to 4294967295"))?,
                    ),
                };
            } else {
                return Err(Error::field(ErrorCode::UnknownField, crate::error::key_path("", &key), "is not a known field"));
            }
        }
        Ok(req)
    }

    /// The borrowed request; the clock and the OS fill what the JSON left out.
    pub fn request(&self) -> CookieRequest<'_> {
        let s = |i: usize| self.strings[i].as_deref();
        CookieRequest {
            fbp: s(0),
            fbc: s(1),
            url: s(2),
            fbclid: s(3),
            host: s(4),
            domain: s(5),
            now_ms: self.now_ms.unwrap_or_else(crate::clock::now_ms),
            random: self.random.unwrap_or_else(os_random),
        }
    }
}

/// [`first_party_cookies`] over a JSON request, answered as JSON
/// ([`FirstPartyCookies::to_json`]).
pub fn first_party_cookies_json(json: &str) -> Result<String> {
    let owned = OwnedCookieRequest::from_json(json)?;
    Ok(first_party_cookies(&owned.request())?.to_json())
}

impl FirstPartyCookies {
    /// `{"fbp": ..., "fbc": ... | null, "cookies": [{"name", "value", "max_age",
    /// "domain" (null: host-only), "path", "same_site", "http_only": false}]}`.
    pub fn to_json(&self) -> String {
        let cookies: Vec<Value> = self
            .set
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.name,
                    "value": c.value,
                    "max_age": c.max_age,
                    "domain": c.domain,
                    "path": COOKIE_PATH,
                    "same_site": SAME_SITE,
                    "http_only": false,
                })
            })
            .collect();
        serde_json::json!({"fbp": self.fbp, "fbc": self.fbc, "cookies": cookies}).to_string()
    }
}

#[cfg(test)]
#[path = "cookies_tests.rs"]
mod tests;

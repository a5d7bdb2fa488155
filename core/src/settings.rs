//! Merchant settings (docs/spec.md §2), validated once at construction.
//!
//! Settings arrive as a JSON object (C, PHP, CLI) or keyword arguments
//! (Python, converted to the same JSON shape). Unknown keys are errors: a typo
//! in `data_controls` must not silently leave tracking in the wrong state.

use serde_json::{Map, Value};
use std::fmt;

use crate::error::{json_syntax, Error, Result};
use crate::normalize;
use crate::text::{has_control, json_type_name};

/// Default Graph API version (path segment of the endpoint): the newest version
/// Meta's Graph API changelog lists (v27.0, introduced 2026-11-04). Meta keeps a
/// version for about two years, so a merchant who pins an older one keeps working.
pub const DEFAULT_API_VERSION: &str = "v27.0";
/// Default Graph API host.
pub const DEFAULT_ENDPOINT: &str = "https://graph.facebook.com";

/// What the integration does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Pixel in the page and, when allowed, server events (the default).
    PixelAndServer,
    /// Catalog feed only: no pixel, no server events.
    CatalogOnly,
}

impl Mode {
    /// The settings spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::PixelAndServer => "pixel_and_server",
            Mode::CatalogOnly => "catalog_only",
        }
    }
}

/// What an `unknown` marketing consent means (docs/spec.md §6 rule 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnknownConsent {
    /// Fail closed: treat unknown as denied (the default).
    Deny,
    /// Treat unknown as granted (shops with no consent requirement).
    Grant,
    /// Store the server copy without sending it until the shopper answers
    /// (`set_consent`), for at most `hold_ttl` seconds (docs/spec.md §13).
    Hold,
}

impl UnknownConsent {
    /// The settings spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownConsent::Deny => "deny",
            UnknownConsent::Grant => "grant",
            UnknownConsent::Hold => "hold",
        }
    }
}

/// Limited Data Use settings: Meta's country and state codes.
/// `0, 0` lets Meta geolocate; `1, 1000` is California.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LduLocation {
    pub country: i64,
    pub state: i64,
}

/// A secret string: Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; only the transport should call this.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Validated merchant settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub pixel_id: String,
    pub access_token: Option<Secret>,
    pub data_controls: bool,
    pub mode: Mode,
    pub catalog_id: Option<String>,
    pub catalog_name: Option<String>,
    /// The storefront's home page: the `<link>` of the XML feed's channel.
    pub shop_url: Option<String>,
    pub test_event_code: Option<String>,
    pub api_version: String,
    pub endpoint: String,
    /// An outbound HTTP proxy (`http://[user:password@]host:port`); may hold
    /// credentials, so it is a [`Secret`]. `None`: `HTTPS_PROXY` from the
    /// environment applies (see [`Settings::effective_proxy`]).
    pub proxy: Option<Secret>,
    /// ISO-3166 alpha-2, lowercase.
    pub default_country: Option<String>,
    /// Merchant-wide Limited Data Use; `None` = off.
    pub ldu: Option<LduLocation>,
    /// Customer fields the merchant allows to be sent; `None` = all.
    pub allowed_fields: Option<Vec<normalize::Field>>,
    pub unknown_consent: UnknownConsent,
    /// Durable queue and dedup ledger (an SQLite file on local disk); required by `track`.
    pub outbox_path: Option<String>,
    /// Who sends: a background thread, or explicit `flush` calls (shared-nothing runtimes).
    pub sender: SenderMode,
    /// At most this many events per request (Meta's limit is 1000).
    pub batch_size: usize,
    /// The background sender flushes at least this often.
    pub flush_interval_ms: u64,
    /// Timeout of one request to Meta (connect + read), in milliseconds.
    pub request_timeout_ms: u64,
    /// How long a held event waits for the shopper's answer before it is dropped, in seconds.
    pub hold_ttl: u64,
    /// First retry delay; doubles per attempt (with jitter) up to `retry_max_ms`.
    pub retry_base_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// Which item/product identifier is Meta's content id (event `content_ids` and feed `id`).
    pub content_id: ContentIdField,
    /// The merchant's own crawler user-agent tokens, added to the built-in list.
    pub bot_user_agents: BotUserAgents,
    /// The pixel's `init` carries the hashed customer keys when the server copy may carry them.
    pub pixel_advanced_matching: bool,
}

/// The merchant's extra crawler tokens (`bot_user_agents`): substrings of a user
/// agent, matched ignoring ASCII case by one automaton built with the settings.
#[derive(Clone, Default)]
pub struct BotUserAgents {
    tokens: Vec<String>,
    matcher: Option<std::sync::Arc<aho_corasick::AhoCorasick>>,
}

/// At most this many extra tokens, each of 3 to this many bytes.
pub const MAX_BOT_USER_AGENTS: usize = 200;
pub const MAX_BOT_USER_AGENT_BYTES: usize = 128;

impl BotUserAgents {
    /// The tokens, as the merchant gave them without surrounding spaces.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// Whether `user_agent` holds one of the tokens (ASCII case ignored).
    pub fn matches(&self, user_agent: &str) -> bool {
        self.matcher.as_ref().is_some_and(|m| m.is_match(user_agent))
    }

    fn parse(v: Option<&Value>) -> Result<BotUserAgents> {
        const NAME: &str = "bot_user_agents";
        let items = match v {
            None | Some(Value::Null) => return Ok(BotUserAgents::default()),
            Some(Value::Array(items)) => items,
            Some(other) => return Err(Error::setting(NAME, format!("must be a list of strings, not {}", json_type_name(other)))),
        };
        if items.len() > MAX_BOT_USER_AGENTS {
            return Err(Error::setting(NAME, format!("must have at most {MAX_BOT_USER_AGENTS} entries")));
        }
        let mut tokens = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{NAME}[{i}]");
            let token = item.as_str().ok_or_else(|| Error::setting(&path, "must be a string"))?;
            if token.trim().len() < 3 || token.len() > MAX_BOT_USER_AGENT_BYTES {
                // A token of one or two letters would take real shoppers for crawlers.
                return Err(Error::setting(
                    &path,
                    format!("must be 3 to {MAX_BOT_USER_AGENT_BYTES} bytes (not counting surrounding spaces)"),
                ));
            }
            if has_control(token) {
                return Err(Error::setting(&path, "must not contain control characters"));
            }
            // "ShopBot " must match "ShopBot/1.0": the length rule already ignores the spaces.
            tokens.push(token.trim().to_string());
        }
        if tokens.is_empty() {
            return Ok(BotUserAgents::default());
        }
        let matcher = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&tokens)
            .map_err(|_| Error::setting(NAME, "is too large to match"))?;
        Ok(BotUserAgents { tokens, matcher: Some(std::sync::Arc::new(matcher)) })
    }
}

impl fmt::Debug for BotUserAgents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.tokens).finish()
    }
}

/// Who delivers queued events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SenderMode {
    /// Only explicit `flush` calls (PHP-FPM, cron, tests). The default in C.
    Manual,
    /// A background thread in this process (long-lived Python/Rust processes).
    Thread,
    /// Hand-off to a task queue (Celery): the core starts no thread; the binding claims
    /// stored events (`Tracker::claim_handoff`), publishes them and acks them.
    Celery,
}

impl SenderMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderMode::Manual => "manual",
            SenderMode::Thread => "thread",
            SenderMode::Celery => "celery",
        }
    }
}

/// Which shop identifier is the Meta content id (event `content_ids` and feed `id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ContentIdField {
    /// The item's `id` (the default; convtrack's behaviour before the setting existed).
    #[default]
    Id,
    /// The item's `sku`.
    Sku,
    /// The item's `variant_id`.
    VariantId,
}

impl ContentIdField {
    /// The settings spelling, which is also the input field name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentIdField::Id => "id",
            ContentIdField::Sku => "sku",
            ContentIdField::VariantId => "variant_id",
        }
    }

    /// Parses the settings spelling.
    pub fn parse(s: &str) -> Option<ContentIdField> {
        match s {
            "id" => Some(ContentIdField::Id),
            "sku" => Some(ContentIdField::Sku),
            "variant_id" => Some(ContentIdField::VariantId),
            _ => None,
        }
    }
}

/// Setting names, for error messages and documentation.
pub const SETTING_NAMES: &[&str] = &[
    "pixel_id",
    "access_token",
    "data_controls",
    "mode",
    "catalog_id",
    "catalog_name",
    "shop_url",
    "test_event_code",
    "api_version",
    "endpoint",
    "proxy",
    "default_country",
    "ldu",
    "allowed_fields",
    "unknown_consent",
    "outbox_path",
    "sender",
    "batch_size",
    "flush_interval_ms",
    "request_timeout_ms",
    "hold_ttl",
    "retry_base_ms",
    "retry_max_ms",
    "content_id",
    "bot_user_agents",
    "pixel_advanced_matching",
];

/// Customer fields a merchant may allow or forbid (the input names).
pub const CUSTOMER_FIELDS: &[normalize::Field] = &[
    normalize::Field::Email,
    normalize::Field::Phone,
    normalize::Field::FirstName,
    normalize::Field::LastName,
    normalize::Field::Gender,
    normalize::Field::DateOfBirth,
    normalize::Field::City,
    normalize::Field::State,
    normalize::Field::Zip,
    normalize::Field::Country,
    normalize::Field::ExternalId,
];

impl Settings {
    /// Settings with defaults for everything but the pixel id.
    pub fn new(pixel_id: &str) -> Result<Settings> {
        let mut m = Map::new();
        m.insert("pixel_id".into(), Value::String(pixel_id.into()));
        Settings::from_map(&m)
    }

    /// Parses and validates settings from a JSON object text.
    pub fn from_json(text: &str) -> Result<Settings> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_syntax("settings", &e))?;
        Settings::from_value(&value)
    }

    /// Validates settings from a JSON value (must be an object).
    pub fn from_value(value: &Value) -> Result<Settings> {
        match value {
            Value::Object(m) => Settings::from_map(m),
            _ => Err(Error::setting("settings", "must be a JSON object")),
        }
    }

    fn from_map(m: &Map<String, Value>) -> Result<Settings> {
        for key in m.keys() {
            if !SETTING_NAMES.contains(&key.as_str()) {
                return Err(Error::setting(crate::error::key_path("", key), "is not a known setting"));
            }
        }
        let text = |name: &str| -> Result<Option<String>> {
            match m.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(Error::setting(name, format!("must be a string, not {}", json_type_name(other)))),
            }
        };

        let pixel_id = text("pixel_id")?.ok_or_else(|| Error::setting("pixel_id", "is required"))?;
        if !is_numeric_id(&pixel_id) {
            return Err(Error::setting("pixel_id", "must be 1 to 32 digits"));
        }

        let access_token = match text("access_token")? {
            None => None,
            Some(t) if t.is_empty() => None,
            Some(t) => {
                if t.len() > 4096 || !t.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(Error::setting("access_token", "must be printable ASCII without spaces, at most 4096 bytes"));
                }
                Some(Secret(t))
            }
        };

        let data_controls = match m.get("data_controls") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(Error::setting("data_controls", format!("must be true or false, not {}", json_type_name(other)))),
        };
        if data_controls && access_token.is_none() {
            return Err(Error::setting("access_token", "is required when data_controls is on (server events need it)"));
        }

        let mode = match text("mode")?.as_deref() {
            None | Some("pixel_and_server") => Mode::PixelAndServer,
            Some("catalog_only") => Mode::CatalogOnly,
            Some(_) => return Err(Error::setting("mode", "must be \"pixel_and_server\" or \"catalog_only\"")),
        };

        let catalog_id = text("catalog_id")?;
        if let Some(c) = &catalog_id {
            if !is_numeric_id(c) {
                return Err(Error::setting("catalog_id", "must be 1 to 32 digits"));
            }
        }
        let catalog_name = text("catalog_name")?;
        if let Some(n) = &catalog_name {
            check_plain_text("catalog_name", n, 256)?;
        }
        let shop_url = text("shop_url")?.filter(|s| !s.is_empty());
        if let Some(u) = &shop_url {
            let ok = u.len() <= 2048 && url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some());
            if !ok {
                return Err(Error::setting("shop_url", "must be an absolute http(s) URL"));
            }
        }
        let test_event_code = text("test_event_code")?.filter(|s| !s.is_empty());
        if let Some(code) = &test_event_code {
            if !is_test_event_code(code) {
                return Err(Error::setting("test_event_code", "must be letters, digits, '_' or '-', at most 64"));
            }
        }

        let api_version = text("api_version")?.unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
        if !is_api_version(&api_version) {
            return Err(Error::setting("api_version", "must look like \"v27.0\""));
        }

        let endpoint = text("endpoint")?.unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let endpoint = validate_endpoint(&endpoint)?;
        let proxy = match text("proxy")? {
            None => None,
            Some(p) if p.is_empty() => None,
            Some(p) => Some(Secret::new(validate_proxy(&p).map_err(|why| Error::setting("proxy", why))?)),
        };

        let default_country = match text("default_country")? {
            None => None,
            Some(c) if c.is_empty() => None,
            Some(c) => {
                let valid = c.len() == 2 && normalize::country_code(&c).as_deref() == Some(&*c.to_ascii_lowercase());
                if !valid {
                    return Err(Error::setting("default_country", "must be an ISO-3166 alpha-2 country code such as \"GB\""));
                }
                Some(c.to_ascii_lowercase())
            }
        };

        let ldu = parse_ldu(m.get("ldu"))?;

        let allowed_fields = match m.get("allowed_fields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut fields = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let name = item.as_str().ok_or_else(|| Error::setting(format!("allowed_fields[{i}]"), "must be a string"))?;
                    let field = CUSTOMER_FIELDS
                        .iter()
                        .copied()
                        .find(|f| f.input_name() == name || f.meta_key() == name)
                        .ok_or_else(|| Error::setting(format!("allowed_fields[{i}]"), "is not a customer field name"))?;
                    if !fields.contains(&field) {
                        fields.push(field);
                    }
                }
                Some(fields)
            }
            Some(_) => return Err(Error::setting("allowed_fields", "must be a list of customer field names")),
        };

        let unknown_consent = match text("unknown_consent")?.as_deref() {
            None | Some("deny") => UnknownConsent::Deny,
            Some("grant") => UnknownConsent::Grant,
            Some("hold") => UnknownConsent::Hold,
            Some(_) => return Err(Error::setting("unknown_consent", "must be \"deny\", \"grant\" or \"hold\"")),
        };

        let outbox_path = text("outbox_path")?.filter(|p| !p.is_empty());
        if let Some(p) = &outbox_path {
            check_plain_text("outbox_path", p, 4096)?;
        }
        let sender = match text("sender")?.as_deref() {
            None | Some("manual") => SenderMode::Manual,
            Some("thread") => SenderMode::Thread,
            Some("celery") => SenderMode::Celery,
            Some(_) => return Err(Error::setting("sender", "must be \"manual\", \"thread\" or \"celery\"")),
        };
        let number = |name: &str, default: u64, min: u64, max: u64| -> Result<u64> {
            match m.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Number(n)) => n
                    .as_u64()
                    .filter(|v| (min..=max).contains(v))
                    .ok_or_else(|| Error::setting(name, format!("must be a whole number from {min} to {max}"))),
                Some(_) => Err(Error::setting(name, "must be a whole number")),
            }
        };
        let batch_size = number("batch_size", 1000, 1, 1000)? as usize;
        let flush_interval_ms = number("flush_interval_ms", 1000, 10, 3_600_000)?;
        let request_timeout_ms = number("request_timeout_ms", 5000, 100, 120_000)?;
        // Below Meta's 7 days with room to send: a released event must still be accepted.
        let hold_ttl = number("hold_ttl", 86_400, 60, 6 * 86_400)?;
        let retry_base_ms = number("retry_base_ms", 1000, 1, 3_600_000)?;
        let retry_max_ms = number("retry_max_ms", 600_000, retry_base_ms, 86_400_000)?;
        let content_id = match text("content_id")?.as_deref() {
            None => ContentIdField::Id,
            Some(s) => ContentIdField::parse(s).ok_or_else(|| Error::setting("content_id", "must be \"id\", \"sku\" or \"variant_id\""))?,
        };
        let bot_user_agents = BotUserAgents::parse(m.get("bot_user_agents"))?;
        let pixel_advanced_matching = match m.get("pixel_advanced_matching") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(Error::setting("pixel_advanced_matching", format!("must be true or false, not {}", json_type_name(other))))
            }
        };

        Ok(Settings {
            pixel_id,
            access_token,
            data_controls,
            mode,
            catalog_id,
            catalog_name,
            shop_url,
            test_event_code,
            api_version,
            endpoint,
            proxy,
            default_country,
            ldu,
            allowed_fields,
            unknown_consent,
            outbox_path,
            sender,
            batch_size,
            flush_interval_ms,
            request_timeout_ms,
            hold_ttl,
            retry_base_ms,
            retry_max_ms,
            content_id,
            bot_user_agents,
            pixel_advanced_matching,
        })
    }

    /// Whether the merchant allows `field` to be sent (derived fields follow their source).
    pub fn allows(&self, field: normalize::Field) -> bool {
        use normalize::Field as F;
        let source = match field {
            F::F5First | F::FirstInitial => F::FirstName,
            F::F5Last => F::LastName,
            F::BirthDay | F::BirthMonth | F::BirthYear => F::DateOfBirth,
            other => other,
        };
        match &self.allowed_fields {
            None => true,
            Some(list) => list.contains(&source),
        }
    }

    /// The Conversions API URL for this pixel (no token: it goes in the body or a header).
    pub fn events_url(&self) -> String {
        format!("{}/{}/{}/events", self.endpoint, self.api_version, self.pixel_id)
    }

    /// Where live catalog updates go: `{endpoint}/{api_version}/{catalog_id}/items_batch`.
    pub fn catalog_items_batch_url(&self) -> Option<String> {
        let catalog = self.catalog_id.as_deref()?;
        Some(format!("{}/{}/{}/items_batch", self.endpoint, self.api_version, catalog))
    }

    /// A JSON view for status pages and `repr`: the token is reported only as set or not.
    pub fn to_public_json(&self) -> Value {
        serde_json::json!({
            "pixel_id": self.pixel_id,
            "access_token": if self.access_token.is_some() { "<redacted>" } else { "" },
            "data_controls": self.data_controls,
            "mode": self.mode.as_str(),
            "catalog_id": self.catalog_id,
            "catalog_name": self.catalog_name,
            "shop_url": self.shop_url,
            "test_event_code": self.test_event_code,
            "api_version": self.api_version,
            "endpoint": self.endpoint,
            "proxy": self.proxy.as_ref().map(|p| redact_proxy(p.expose())),
            "default_country": self.default_country,
            "ldu": self.ldu.map(|l| serde_json::json!({"country": l.country, "state": l.state})),
            "allowed_fields": self.allowed_fields.as_ref().map(|v| v.iter().map(|f| f.input_name()).collect::<Vec<_>>()),
            "unknown_consent": self.unknown_consent.as_str(),
            "hold_ttl": self.hold_ttl,
            "outbox_path": self.outbox_path,
            "sender": self.sender.as_str(),
            "batch_size": self.batch_size,
            "flush_interval_ms": self.flush_interval_ms,
            "request_timeout_ms": self.request_timeout_ms,
            "retry_base_ms": self.retry_base_ms,
            "retry_max_ms": self.retry_max_ms,
            "content_id": self.content_id.as_str(),
            "bot_user_agents": self.bot_user_agents.tokens(),
            "pixel_advanced_matching": self.pixel_advanced_matching,
        })
    }
}

fn is_numeric_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A `test_event_code` as Events Manager shows it: letters, digits, `_` or `-`, 1 to 64 bytes.
pub fn is_test_event_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_api_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else { return false };
    let mut parts = rest.split('.');
    let ok = |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn check_plain_text(name: &str, s: &str, max: usize) -> Result<()> {
    if s.len() > max {
        return Err(Error::setting(name, format!("must be at most {max} bytes")));
    }
    if has_control(s) {
        return Err(Error::setting(name, "must not contain control characters"));
    }
    Ok(())
}

fn validate_endpoint(raw: &str) -> Result<String> {
    let bad = || Error::setting("endpoint", "must be an absolute http(s) URL without query, fragment or credentials");
    if raw.len() > 2048 {
        return Err(bad());
    }
    let url = url::Url::parse(raw).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(bad());
    }
    // The access token travels in a header: in clear over plain http. Only a
    // receiver on this machine (the sandbox) may be reached that way.
    if url.scheme() == "http" && !is_loopback(&url) {
        return Err(Error::setting("endpoint", "must use https (plain http is only allowed for a loopback address such as 127.0.0.1)"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Whether `url` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks a proxy URL (`http://[user:password@]host[:port]`) and returns it in
/// the form the HTTP client takes. The reason never echoes the URL: it may hold
/// a password.
fn validate_proxy(raw: &str) -> std::result::Result<String, &'static str> {
    const FORM: &str = "must be an http:// proxy URL such as http://proxy.example:3128 (no path, query or fragment)";
    if raw.len() > 2048 || has_control(raw) {
        return Err(FORM);
    }
    let url = url::Url::parse(raw).map_err(|_| FORM)?;
    // An https:// request is tunnelled through the proxy with CONNECT, so the
    // token stays encrypted end to end; the proxy itself is spoken to in http.
    if url.scheme() != "http" {
        return Err("must use the http:// scheme (requests to Meta are tunnelled through it with CONNECT and stay encrypted)");
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() || !matches!(url.path(), "" | "/") {
        return Err(FORM);
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    Ok(match (url.username(), url.password()) {
        ("", None) => format!("http://{host}:{port}"),
        (user, password) => format!("http://{user}:{}@{host}:{port}", password.unwrap_or_default()),
    })
}

/// A proxy URL as shown on status pages: the host and port, never the credentials.
pub fn redact_proxy(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(u) if !u.username().is_empty() || u.password().is_some() => {
            format!("http://<redacted>@{}:{}", u.host_str().unwrap_or_default(), u.port_or_known_default().unwrap_or(80))
        }
        Ok(u) => format!("http://{}:{}", u.host_str().unwrap_or_default(), u.port_or_known_default().unwrap_or(80)),
        Err(_) => "<redacted>".to_string(),
    }
}

/// Whether `NO_PROXY` (comma-separated host names, domain suffixes such as
/// `.example.com` or `example.com`, or `*`) exempts `host` from the proxy.
fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    no_proxy.split(',').map(|e| e.trim().trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase()).any(|e| {
        let e = e.split(':').next().unwrap_or_default().to_string();
        e == "*" || (!e.is_empty() && (host == e || host.ends_with(&format!(".{e}"))))
    })
}

impl Settings {
    /// The proxy requests to the endpoint go through, and where it came from:
    /// the `proxy` setting, else `HTTPS_PROXY` (or `https_proxy`) from the
    /// environment for an https endpoint that `NO_PROXY` does not exempt. A
    /// loopback endpoint takes no proxy from the environment. `HTTP_PROXY` is
    /// never read: under CGI it can be set by a request header ("httpoxy"), and
    /// the endpoint is https anyway. An unusable environment value is ignored
    /// with a warning (direct connection), never an error: the environment is
    /// not the merchant's setting.
    pub fn effective_proxy(&self) -> Option<(Secret, &'static str)> {
        self.effective_proxy_from(|name| std::env::var(name).ok())
    }

    fn effective_proxy_from(&self, env: impl Fn(&str) -> Option<String>) -> Option<(Secret, &'static str)> {
        if let Some(p) = &self.proxy {
            return Some((p.clone(), "setting"));
        }
        let url = url::Url::parse(&self.endpoint).ok()?;
        if url.scheme() != "https" || is_loopback(&url) {
            return None;
        }
        let value = env("HTTPS_PROXY").or_else(|| env("https_proxy")).filter(|v| !v.trim().is_empty())?;
        let no_proxy = env("NO_PROXY").or_else(|| env("no_proxy")).unwrap_or_default();
        if no_proxy_matches(&no_proxy, url.host_str().unwrap_or_default()) {
            return None;
        }
        match validate_proxy(value.trim()) {
            Ok(p) => Some((Secret::new(p), "HTTPS_PROXY")),
            Err(why) => {
                log::warn!("convtrack: HTTPS_PROXY is ignored: it {why}");
                None
            }
        }
    }
}

fn parse_ldu(v: Option<&Value>) -> Result<Option<LduLocation>> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(LduLocation { country: 0, state: 0 })),
        Some(Value::Object(o)) => {
            for key in o.keys() {
                if key != "country" && key != "state" {
                    return Err(Error::setting(crate::error::key_path("ldu.", key), "is not a known setting"));
                }
            }
            let code = |name: &str| -> Result<i64> {
                match o.get(name) {
                    None | Some(Value::Null) => Ok(0),
                    Some(Value::Number(n)) => n
                        .as_i64()
                        .filter(|v| (0..=100_000).contains(v))
                        .ok_or_else(|| Error::setting(format!("ldu.{name}"), "must be a whole number from 0 to 100000")),
                    Some(_) => Err(Error::setting(format!("ldu.{name}"), "must be a whole number")),
                }
            };
            Ok(Some(LduLocation { country: code("country")?, state: code("state")? }))
        }
        Some(_) => Err(Error::setting("ldu", "must be true, false, or {\"country\": N, \"state\": N}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn defaults() {
        let s = Settings::new("123").unwrap();
        assert!(!s.data_controls, "data controls must default to off");
        assert_eq!(s.mode, Mode::PixelAndServer);
        assert_eq!(s.api_version, DEFAULT_API_VERSION);
        assert_eq!(s.unknown_consent, UnknownConsent::Deny);
        assert_eq!(s.events_url(), "https://graph.facebook.com/v27.0/123/events");
    }

    fn err(json: &str) -> Error {
        Settings::from_json(json).unwrap_err()
    }

    #[test]
    fn invalid_settings_name_the_setting() {
        assert_eq!(err(r#"{"pixel_id": "12a"}"#).field_name(), Some("pixel_id"));
        assert_eq!(err(r#"{}"#).field_name(), Some("pixel_id"));
        assert_eq!(err(r#"{"pixel_id": 123}"#).field_name(), Some("pixel_id"));
        assert_eq!(err(r#"{"pixel_id": "1", "mode": "x"}"#).field_name(), Some("mode"));
        assert_eq!(err(r#"{"pixel_id": "1", "endpoint": "ftp://x"}"#).field_name(), Some("endpoint"));
        assert_eq!(err(r#"{"pixel_id": "1", "endpoint": "not a url"}"#).field_name(), Some("endpoint"));
        assert_eq!(err(r#"{"pixel_id": "1", "default_country": "XX"}"#).field_name(), Some("default_country"));
        assert_eq!(err(r#"{"pixel_id": "1", "data_control": true}"#).code(), ErrorCode::InvalidSetting);
        assert_eq!(err(r#"{"pixel_id": "1", "data_controls": "yes"}"#).field_name(), Some("data_controls"));
        assert_eq!(err(r#"{"pixel_id": "1", "data_controls": true}"#).field_name(), Some("access_token"));
        assert_eq!(err(r#"{"pixel_id": "1", "allowed_fields": ["mail"]}"#).field_name(), Some("allowed_fields[0]"));
        assert_eq!(err(r#"{"pixel_id": "1", "api_version": "24"}"#).field_name(), Some("api_version"));
        assert_eq!(err(r#"{"pixel_id": "1", "ldu": {"country": -1}}"#).field_name(), Some("ldu.country"));
        assert_eq!(err("[1]").field_name(), Some("settings"));
        assert_eq!(err("{").code(), ErrorCode::InvalidJson);
    }

    #[test]
    fn plain_http_endpoints_are_only_for_loopback() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.9.9.9",
            "http://[::1]:1",
            "http://localhost:9",
            "http://LOCALHOST",
            "https://graph.example.com",
        ] {
            let s = Settings::from_json(&format!(r#"{{"pixel_id": "1", "endpoint": "{ok}"}}"#));
            assert!(s.is_ok(), "{ok}");
        }
        for bad in [
            "http://graph.example.com",
            "http://10.0.0.1",
            "http://128.0.0.1",
            "http://localhost.evil.com",
            "http://[::2]",
            "http://0.0.0.0",
        ] {
            let e = err(&format!(r#"{{"pixel_id": "1", "endpoint": "{bad}"}}"#));
            assert_eq!(e.field_name(), Some("endpoint"), "{bad}");
            assert!(e.to_string().contains("https"), "{e}");
        }
    }

    #[test]
    fn proxy_setting_is_validated_and_never_shown_with_its_password() {
        let s = Settings::from_json(r#"{"pixel_id": "1", "proxy": "http://user:s3cret-pw@proxy.example:3128/"}"#).unwrap();
        assert_eq!(s.proxy.as_ref().unwrap().expose(), "http://user:s3cret-pw@proxy.example:3128");
        let shown = format!("{:?} {}", s, s.to_public_json());
        assert!(!shown.contains("s3cret-pw") && !shown.contains("user:"), "{shown}");
        assert!(s.to_public_json()["proxy"].as_str().unwrap().contains("proxy.example:3128"));
        let s = Settings::from_json(r#"{"pixel_id": "1", "proxy": "http://proxy.example"}"#).unwrap();
        assert_eq!(s.proxy.unwrap().expose(), "http://proxy.example:80");
        for bad in ["https://proxy.example:443", "socks5://p:1080", "proxy.example:3128", "http://p:1/path", "http://p:1/?q", "http://"] {
            let e = err(&format!(r#"{{"pixel_id": "1", "proxy": "{bad}"}}"#));
            assert_eq!(e.field_name(), Some("proxy"), "{bad}");
        }
        let e = err(r#"{"pixel_id": "1", "proxy": "https://user:s3cret-pw@p:1"}"#);
        assert!(!e.to_string().contains("s3cret-pw"));
    }

    #[test]
    fn https_proxy_from_the_environment() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        };
        let meta = Settings::new("1").unwrap();
        let got = |s: &Settings, vars| s.effective_proxy_from(env(vars)).map(|(p, from)| (p.expose().to_string(), from));
        assert_eq!(got(&meta, &[]), None);
        assert_eq!(got(&meta, &[("HTTPS_PROXY", "http://p.example:3128")]), Some(("http://p.example:3128".into(), "HTTPS_PROXY")));
        assert_eq!(got(&meta, &[("https_proxy", "http://p.example:3128")]), Some(("http://p.example:3128".into(), "HTTPS_PROXY")));
        // HTTP_PROXY is never read ("httpoxy"), and NO_PROXY exempts hosts and domains.
        assert_eq!(got(&meta, &[("HTTP_PROXY", "http://p.example:3128")]), None);
        for no in ["graph.facebook.com", ".facebook.com", "facebook.com", "*", "localhost, facebook.com:443"] {
            let vars: &'static [(&str, &str)] = Box::leak(vec![("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", no)].into_boxed_slice());
            assert_eq!(got(&meta, vars), None, "{no}");
        }
        assert!(got(&meta, &[("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "book.com,example.com")]).is_some());
        // An unusable value is ignored, not an error; a loopback endpoint takes no proxy from the environment.
        assert_eq!(got(&meta, &[("HTTPS_PROXY", "socks5://p:1")]), None);
        let sandbox = Settings::from_json(r#"{"pixel_id": "1", "endpoint": "http://127.0.0.1:9"}"#).unwrap();
        assert_eq!(got(&sandbox, &[("HTTPS_PROXY", "http://p:1")]), None);
        // The setting wins over the environment.
        let set = Settings::from_json(r#"{"pixel_id": "1", "proxy": "http://mine:8"}"#).unwrap();
        assert_eq!(got(&set, &[("HTTPS_PROXY", "http://p:1")]), Some(("http://mine:8".into(), "setting")));
    }

    #[test]
    fn token_is_redacted_everywhere() {
        let s = Settings::from_json(r#"{"pixel_id": "1", "access_token": "EAAB-SENTINEL-TOKEN", "data_controls": true}"#).unwrap();
        assert!(!format!("{s:?}").contains("SENTINEL"));
        assert!(!s.to_public_json().to_string().contains("SENTINEL"));
        assert_eq!(s.access_token.as_ref().unwrap().expose(), "EAAB-SENTINEL-TOKEN");
        let e = err(r#"{"pixel_id": "1", "access_token": "EAAB SENTINEL"}"#);
        assert!(!e.to_string().contains("SENTINEL"));
    }

    #[test]
    fn full_settings() {
        let s = Settings::from_json(
            r#"{"pixel_id": "1", "access_token": "t", "data_controls": true, "mode": "catalog_only",
                "catalog_id": "99", "catalog_name": "Main", "test_event_code": "TEST123",
                "api_version": "v23.0", "endpoint": "http://127.0.0.1:8080/", "default_country": "gb",
                "ldu": {"country": 1, "state": 1000}, "allowed_fields": ["email", "ph"], "unknown_consent": "grant"}"#,
        )
        .unwrap();
        assert_eq!(s.endpoint, "http://127.0.0.1:8080");
        assert_eq!(s.default_country.as_deref(), Some("gb"));
        assert_eq!(s.ldu, Some(LduLocation { country: 1, state: 1000 }));
        assert!(s.allows(normalize::Field::Phone));
        assert!(!s.allows(normalize::Field::FirstName));
        assert!(!s.allows(normalize::Field::F5First));
    }
}

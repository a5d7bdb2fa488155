//! HTTP transport to the Conversions API, behind a small trait so tests and
//! the sandbox can inject faults. The access token travels only in the
//! `Authorization` header, never in a URL, a log line or an error.

use std::time::Duration;

/// An HTTP answer (any status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub body: String,
}

/// A failure below HTTP: no answer was received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportError {
    /// `timeout`, `connect`, `dns`, `tls`, `io`, `proxy` or `other`.
    pub kind: &'static str,
}

/// Sends one JSON body with a bearer token.
pub trait Transport: Send + Sync {
    fn post_json(&self, url: &str, bearer_token: &str, body: &str) -> Result<HttpReply, TransportError>;
}

/// The real transport: `ureq` with connect and overall timeouts.
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// `timeout` bounds the whole request; connecting gets at most half of it.
    /// `proxy`: an `http://[user:password@]host:port` proxy (validated by
    /// `Settings`); https requests are tunnelled through it with CONNECT.
    ///
    /// Redirects are never followed: a 3xx would turn the POST into a GET
    /// without its body, and its 200 would count an event as sent that Meta
    /// never received. The 3xx is returned as it is, and `classify` retries it.
    /// The environment is never read here (`Settings::effective_proxy` decides).
    pub fn new(timeout: Duration, proxy: Option<&crate::settings::Secret>) -> Result<UreqTransport, &'static str> {
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(timeout / 2)
            .timeout(timeout)
            .redirects(0)
            .try_proxy_from_env(false)
            .user_agent(concat!("convtrack/", env!("CARGO_PKG_VERSION")));
        if let Some(p) = proxy {
            let p = ureq::Proxy::new(p.expose()).map_err(|_| "is not a proxy URL the HTTP client accepts")?;
            builder = builder.proxy(p);
        }
        Ok(UreqTransport { agent: builder.build() })
    }
}

fn classify_transport(t: &ureq::Transport) -> &'static str {
    use ureq::ErrorKind as K;
    match t.kind() {
        K::Dns => "dns",
        K::ConnectionFailed => "connect",
        K::ProxyConnect | K::ProxyUnauthorized | K::InvalidProxyUrl => "proxy",
        K::TooManyRedirects | K::BadStatus | K::BadHeader | K::InvalidUrl | K::UnknownScheme => "other",
        K::Io => {
            let text = t.to_string();
            if text.contains("timed out") || text.contains("timeout") || text.contains("WouldBlock") {
                "timeout"
            } else {
                "io"
            }
        }
        _ => "other",
    }
}

impl UreqTransport {
    /// `GET url` with the bearer token in the `Authorization` header (the health check:
    /// `GET /{version}/{pixel_id}?fields=id,name`). Same rules as `post_json`.
    pub fn get(&self, url: &str, bearer_token: &str) -> Result<HttpReply, TransportError> {
        reply(self.agent.get(url).set("Authorization", &format!("Bearer {bearer_token}")).call())
    }
}

/// Any HTTP answer as an [`HttpReply`]; no answer as a [`TransportError`].
fn reply(result: Result<ureq::Response, ureq::Error>) -> Result<HttpReply, TransportError> {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return Err(TransportError { kind: classify_transport(&t) }),
    };
    let status = response.status();
    // A body we cannot read (dropped mid-way, not UTF-8, > 10 MB) is an I/O failure.
    let body = response.into_string().map_err(|_| TransportError { kind: "io" })?;
    Ok(HttpReply { status, body })
}

impl Transport for UreqTransport {
    fn post_json(&self, url: &str, bearer_token: &str, body: &str) -> Result<HttpReply, TransportError> {
        reply(
            self.agent
                .post(url)
                .set("Content-Type", "application/json")
                .set("Authorization", &format!("Bearer {bearer_token}"))
                .send_string(body),
        )
    }
}

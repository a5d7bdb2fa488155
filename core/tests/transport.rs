//! The real HTTP transport (ureq) against real servers on loopback: redirects
//! are failed attempts, never delivery; a proxy from the `proxy` setting or from
//! `HTTPS_PROXY` carries the requests. The servers here are small std-only HTTP
//! peers: a receiver that redirects or accepts, and a forwarding proxy.

// A failed unwrap here is a failed test or benchmark run, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::order;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use convtrack_core::tracker::BuildOptions;
use convtrack_core::{Settings, Tracker};
use serde_json::{json, Value};

/// One request as a server saw it: the request line and the body.
#[derive(Clone, Debug)]
struct Seen {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

fn read_request(stream: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if stream.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let len = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse::<usize>().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    Some(Seen { line: line.trim_end().to_string(), headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// A server on 127.0.0.1 that answers every request with `answer(request)`
/// (status line, extra headers, body) and records what it saw.
struct Server {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    fn start(answer: impl Fn(&Seen) -> (String, String, String) + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                conn.set_read_timeout(Some(Duration::from_secs(5))).ok();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                if let Some(req) = read_request(&mut reader) {
                    log.lock().unwrap().push(req.clone());
                    let (status, extra, body) = answer(&req);
                    respond(&mut conn, &status, &extra, &body);
                }
            }
        });
        Server { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn accepted(req: &Seen) -> (String, String, String) {
    let n = serde_json::from_str::<Value>(&req.body).ok().and_then(|v| v["data"].as_array().map(Vec::len)).unwrap_or(0);
    ("200 OK".into(), String::new(), json!({"events_received": n, "fbtrace_id": "T"}).to_string())
}

fn tracker(dir: &tempfile::TempDir, extra: Value) -> Tracker {
    let mut settings = json!({
        "pixel_id": "1234567890", "access_token": "EAAB-SENTINEL-TOKEN", "data_controls": true,
        "outbox_path": dir.path().join("outbox.sqlite3").to_str().unwrap(), "sender": "manual",
        "retry_base_ms": 1, "retry_max_ms": 2, "request_timeout_ms": 3000
    });
    settings.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    Tracker::open(Settings::from_value(&settings).unwrap()).unwrap()
}

#[test]
fn a_redirect_is_a_failed_attempt_and_the_event_stays_queued() {
    // The endpoint redirects every POST to /ok, which would accept a GET: before
    // the fix the client followed it as a GET without a body and counted the
    // event as sent.
    let server = Server::start(|req| {
        if req.line.contains(" /ok ") {
            accepted(req)
        } else {
            ("302 Found".into(), "Location: /ok\r\n".into(), String::new())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let t = tracker(&dir, json!({"endpoint": format!("http://127.0.0.1:{}", server.port)}));
    assert_eq!(t.track_json(&order("r1"), &BuildOptions::default()).unwrap().to_json()["server"], "queued");
    let report = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!(report.sent, 0, "{:?}", report.to_json());
    assert_eq!(report.remaining, 1);
    let seen = server.seen();
    assert!(seen.iter().all(|r| r.line.starts_with("POST /v27.0/1234567890/events ")), "{seen:?}");
    assert!(!seen.is_empty());
    let status = t.status().unwrap();
    assert_eq!(status["queue"]["depth"], 1, "{status}");
    assert!(status.to_string().contains("redirect"), "{status}");
}

#[test]
fn the_proxy_setting_carries_every_request() {
    // A forwarding proxy on loopback: it receives the absolute-form request and
    // passes it to the receiver, whose answer it returns.
    let receiver = Arc::new(Server::start(accepted));
    let target = receiver.port;
    let proxy = Server::start(move |req| {
        let path = req.line.split(' ').nth(1).unwrap_or_default().to_string();
        let Some(rest) = path.strip_prefix(&format!("http://127.0.0.1:{target}")) else {
            return ("502 Bad Gateway".into(), String::new(), String::new());
        };
        let mut out = TcpStream::connect(("127.0.0.1", target)).unwrap();
        let auth = req.headers.iter().find(|(k, _)| k == "authorization").map(|(_, v)| v.clone()).unwrap_or_default();
        write!(
            out,
            "POST {rest} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nContent-Length: {}\r\n\r\n{}",
            req.body.len(),
            req.body
        )
        .unwrap();
        let mut answer = String::new();
        out.read_to_string(&mut answer).unwrap();
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
        ("200 OK".into(), String::new(), body)
    });
    let dir = tempfile::tempdir().unwrap();
    let t = tracker(
        &dir,
        json!({"endpoint": format!("http://127.0.0.1:{target}"), "proxy": format!("http://user:pw-SENTINEL@127.0.0.1:{}", proxy.port)}),
    );
    for i in 0..3 {
        t.track_json(&order(&format!("p{i}")), &BuildOptions::default()).unwrap();
    }
    let report = t.flush(Duration::from_secs(5)).unwrap();
    assert_eq!((report.sent, report.remaining), (3, 0), "{:?}", report.to_json());
    let via = proxy.seen();
    assert_eq!(via.len(), 1);
    assert!(via[0].line.starts_with(&format!("POST http://127.0.0.1:{target}/v27.0/1234567890/events ")), "{:?}", via[0].line);
    assert_eq!(receiver.seen().len(), 1);
    assert_eq!(receiver.seen()[0].headers.iter().find(|(k, _)| k == "authorization").unwrap().1, "Bearer EAAB-SENTINEL-TOKEN");
    let status = t.status().unwrap().to_string();
    assert!(!status.contains("pw-SENTINEL") && !status.contains("EAAB-SENTINEL"), "{status}");
}

#[test]
fn https_proxy_from_the_environment_tunnels_with_connect() {
    // An https endpoint with HTTPS_PROXY set: the client asks the proxy for a
    // CONNECT tunnel to the endpoint's host. This proxy refuses (no internet
    // here), so the attempt fails as a proxy error and the event stays queued.
    // The only test in this file that reads or sets the environment.
    let proxy = Server::start(|_| ("403 Forbidden".into(), String::new(), String::new()));
    std::env::set_var("HTTPS_PROXY", format!("http://127.0.0.1:{}", proxy.port));
    let dir = tempfile::tempdir().unwrap();
    let t = tracker(&dir, json!({"endpoint": "https://graph.example.invalid"}));
    std::env::remove_var("HTTPS_PROXY");
    t.track_json(&order("e1"), &BuildOptions::default()).unwrap();
    let report = t.flush(Duration::from_secs(2)).unwrap();
    assert_eq!((report.sent, report.remaining), (0, 1), "{:?}", report.to_json());
    let seen = proxy.seen();
    assert!(!seen.is_empty());
    assert!(seen[0].line.starts_with("CONNECT graph.example.invalid:443 "), "{:?}", seen[0].line);
    // The tunnel request carries no token: that goes inside the encrypted tunnel.
    assert!(seen.iter().all(|r| r.headers.iter().all(|(k, _)| k != "authorization")));
    assert!(t.status().unwrap().to_string().contains("network: proxy"));
}

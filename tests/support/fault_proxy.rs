//! A fault-injecting HTTP/1.1 proxy to put in front of a double (moto_server): the real binary
//! talks to the proxy (`AWS_ENDPOINT_URL`), the proxy forwards to the double and, where a rule
//! says so, fails the way networks and AWS fail: a connection reset before or after the request
//! reached the double, a reply that never comes back (forwarded, then the connection closed), a
//! delay or a stall, an HTTP 500 with or without a body, a throttling error in the protocol's own
//! shape, an answer cut short (the full `Content-Length` announced, half the body sent, then the
//! connection closed). Rules match an AWS action (the query protocol's `Action=` form field, or
//! the JSON protocols' `X-Amz-Target` header; `*` matches every request) from its nth occurrence
//! on, a given number of times, or at a rate (each matching request faulted with a probability,
//! drawn from a seeded generator so a run can be repeated). The proxy counts what it saw and what
//! it did, so a test can assert that the fault really happened.
//!
//! It runs on its own thread and runtime, so a test may block on `Command::output()` meanwhile.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a rule does to a request it matches.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Reset the connection (TCP RST) before forwarding: the double never sees the request.
    ResetBefore,
    /// Forward, let the double act, then reset the connection instead of answering.
    ResetAfter,
    /// Forward, let the double act, then close the connection (FIN) without answering.
    DropReply,
    /// Wait this long, then forward and answer normally.
    Delay(Duration),
    /// Never answer: hold the connection until the client gives up.
    Stall,
    /// Answer 500 without forwarding; `body` adds an `InternalFailure` error body.
    Http500 { body: bool },
    /// Answer with a throttling error in the protocol's shape: 400 `Throttling` (XML) for the
    /// query protocols, 400 `ThrottlingException` (JSON) for `X-Amz-Target`, `RequestLimitExceeded`
    /// in EC2's own shape, 503 `SlowDown` for S3's REST calls.
    Throttling,
    /// Forward, then send the answer's head and only half its body, and close the connection.
    Truncated,
    /// One of these, chosen at random each time (with a rate rule).
    OneOf(Vec<Fault>),
}

/// One rule: `fault` for the `from`th (1-based) request of `action` and the `times - 1` after it
/// (`times: None`: every one from then on).
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: String,
    pub from: u32,
    pub times: Option<u32>,
    pub fault: Fault,
    /// Fire on a matching request with this probability only.
    pub rate: Option<f64>,
}

impl Rule {
    /// `fault` once, on the `nth` request of `action`.
    pub fn nth(action: &str, nth: u32, fault: Fault) -> Rule {
        Rule { action: action.into(), from: nth, times: Some(1), fault, rate: None }
    }

    /// `fault` on every request of `action` from the `nth` on.
    pub fn from_nth(action: &str, nth: u32, fault: Fault) -> Rule {
        Rule { action: action.into(), from: nth, times: None, fault, rate: None }
    }

    /// One of `faults` on each request of `action` (`*`: any) with probability `rate`.
    pub fn rate(action: &str, rate: f64, faults: Vec<Fault>) -> Rule {
        Rule { action: action.into(), from: 1, times: None, fault: Fault::OneOf(faults), rate: Some(rate) }
    }

    fn matches(&self, action: &str) -> bool {
        self.action == "*" || self.action == action
    }

    fn applies(&self, occurrence: u32) -> bool {
        occurrence >= self.from && self.times.is_none_or(|t| occurrence < self.from + t)
    }
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    /// Requests seen per action (faulted or not).
    seen: BTreeMap<String, u32>,
    /// How many times each rule fired, by index.
    fired: Vec<u32>,
    /// Requests forwarded to the double, per action.
    forwarded: BTreeMap<String, u32>,
    /// The bodies of the requests seen, per action (as text), to check what was sent.
    bodies: BTreeMap<String, Vec<String>>,
    /// Faults done, by kind (`Http500`, `Throttling`, …).
    done: BTreeMap<String, u32>,
    /// Longest time a request was held (delays and stalls).
    longest_hold: Duration,
    /// Each fault done: `action fault (amz-sdk-request header)`.
    log: Vec<String>,
    rng: Option<rand::rngs::StdRng>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str, rules: Vec<Rule>) -> FaultProxy {
        FaultProxy::start_seeded(upstream, rules, 13)
    }

    /// [`FaultProxy::start`], with the generator of the rate rules seeded with `seed`.
    pub fn start_seeded(upstream: &str, rules: Vec<Rule>, seed: u64) -> FaultProxy {
        use rand::SeedableRng;
        let fired = vec![0; rules.len()];
        let rng = Some(rand::rngs::StdRng::seed_from_u64(seed));
        let state = Arc::new(Mutex::new(State { rules, fired, rng, ..State::default() }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let upstream = upstream.trim_end_matches('/').to_string();
        let st = state.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                let accept = async {
                    loop {
                        let Ok((sock, _)) = listener.accept().await else { continue };
                        let (st, client, upstream) = (st.clone(), client.clone(), upstream.clone());
                        tokio::spawn(async move { serve(sock, st, client, upstream).await });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stopped => {}
                }
            });
        });
        let port = ready_rx.recv_timeout(Duration::from_secs(10)).expect("fault proxy did not start");
        FaultProxy { port, state, stop: Some(stop) }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests of `action` seen so far.
    pub fn seen(&self, action: &str) -> u32 {
        self.state.lock().unwrap().seen.get(action).copied().unwrap_or(0)
    }

    /// Requests of `action` that reached the double.
    pub fn forwarded(&self, action: &str) -> u32 {
        self.state.lock().unwrap().forwarded.get(action).copied().unwrap_or(0)
    }

    /// The bodies of the requests of `action` seen, in order.
    pub fn bodies(&self, action: &str) -> Vec<String> {
        self.state.lock().unwrap().bodies.get(action).cloned().unwrap_or_default()
    }

    /// How many times rule `index` (in the order given to `start`) fired.
    pub fn fired(&self, index: usize) -> u32 {
        self.state.lock().unwrap().fired.get(index).copied().unwrap_or(0)
    }

    /// Faults done, by kind (`Http500`, `Throttling`, `Stall`, …).
    pub fn done(&self) -> BTreeMap<String, u32> {
        self.state.lock().unwrap().done.clone()
    }

    /// Every fault done.
    pub fn faults(&self) -> u32 {
        self.state.lock().unwrap().done.values().sum()
    }

    /// Requests seen, all actions.
    pub fn seen_total(&self) -> u32 {
        self.state.lock().unwrap().seen.values().sum()
    }

    /// The longest a delay or stall held a request.
    pub fn longest_hold(&self) -> Duration {
        self.state.lock().unwrap().longest_hold
    }

    /// Everything the proxy counted, for failure messages.
    pub fn report(&self) -> String {
        let s = self.state.lock().unwrap();
        let rules: Vec<String> =
            s.rules.iter().zip(&s.fired).map(|(r, n)| format!("{} {:?}: fired {n}", r.action, r.fault)).collect();
        format!(
            "seen {:?}; forwarded {:?}; rules: {}; faults: {}",
            s.seen,
            s.forwarded,
            rules.join("; "),
            s.log.join(", ")
        )
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// One parsed request.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The AWS action: `X-Amz-Target: TrentService.ScheduleKeyDeletion` → `ScheduleKeyDeletion`;
    /// a form body `Action=DeleteStack&…` → `DeleteStack`; otherwise `METHOD path`.
    fn action(&self) -> String {
        if let Some(t) = self.header("x-amz-target") {
            return t.rsplit('.').next().unwrap_or(t).to_string();
        }
        let form = String::from_utf8_lossy(&self.body);
        let query = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        for pair in form.split('&').chain(query.split('&')) {
            if let Some(v) = pair.strip_prefix("Action=") {
                return v.to_string();
            }
        }
        format!("{} {}", self.method, self.target.split('?').next().unwrap_or(""))
    }
}

/// Read one request; `None` at a clean end of the connection.
async fn read_request(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))).collect();
    let get = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    if get("expect").is_some_and(|e| e.eq_ignore_ascii_case("100-continue")) {
        sock.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.ok()?;
    }
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|t| t.to_ascii_lowercase().contains("chunked")) {
        loop {
            let line = read_line(sock, buf).await?;
            let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
            read_exact(sock, buf, size + 2).await.map(|b| body.extend_from_slice(&b[..size]))?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(len) = get("content-length").and_then(|l| l.parse::<usize>().ok()) {
        body = read_exact(sock, buf, len).await?;
    }
    Some(Request { method, target, headers, body })
}

async fn read_line(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..i]).into_owned();
            buf.drain(..i + 2);
            return Some(line);
        }
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn read_exact(sock: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> Option<Vec<u8>> {
    while buf.len() < len {
        let mut chunk = [0u8; 8192];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(buf.drain(..len).collect())
}

/// The fault for this request, if a rule applies (counting the request either way).
fn decide(state: &Mutex<State>, action: &str, body: &[u8], attempt: &str) -> Option<Fault> {
    let mut s = state.lock().unwrap();
    s.bodies.entry(action.to_string()).or_default().push(String::from_utf8_lossy(body).into_owned());
    let n = {
        let e = s.seen.entry(action.to_string()).or_insert(0);
        *e += 1;
        *e
    };
    let mut hit = None;
    for i in 0..s.rules.len() {
        let r = &s.rules[i];
        if !(r.matches(action) && r.applies(n)) {
            continue;
        }
        if let Some(rate) = r.rate {
            let draw: f64 = s.rng.as_mut().map(rand::Rng::random).unwrap_or(1.0);
            if draw >= rate {
                continue;
            }
        }
        hit = Some(i);
        break;
    }
    let hit = hit?;
    s.fired[hit] += 1;
    let mut fault = s.rules[hit].fault.clone();
    if let Fault::OneOf(choices) = &fault {
        let i = s.rng.as_mut().map(|g| rand::Rng::random_range(g, 0..choices.len().max(1))).unwrap_or(0);
        fault = choices.get(i).cloned().unwrap_or(Fault::Throttling);
    }
    let kind = format!("{fault:?}");
    let kind = kind.split(['(', ' ', '{']).next().unwrap_or("").to_string();
    *s.done.entry(kind.clone()).or_insert(0) += 1;
    s.log.push(format!("{action} {kind} ({attempt})"));
    Some(fault)
}

fn held(state: &Mutex<State>, since: std::time::Instant) {
    let mut s = state.lock().unwrap();
    s.longest_hold = s.longest_hold.max(since.elapsed());
}

fn reset(sock: TcpStream) {
    // SO_LINGER 0: closing sends RST instead of FIN. (tokio deprecates set_linger because a
    // non-zero linger blocks the thread on drop; a zero linger does not wait.)
    #[allow(deprecated)]
    let _ = sock.set_linger(Some(Duration::from_secs(0)));
    drop(sock);
}

async fn serve(mut sock: TcpStream, state: Arc<Mutex<State>>, client: reqwest::Client, upstream: String) {
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut sock, &mut buf).await {
        let action = req.action();
        let attempt = req.header("amz-sdk-request").unwrap_or("").to_string();
        let fault = decide(&state, &action, &req.body, &attempt);
        match &fault {
            Some(Fault::ResetBefore) => return reset(sock),
            Some(Fault::Stall) => {
                // Hold on until the client closes its side.
                let since = std::time::Instant::now();
                let mut sink = [0u8; 1024];
                while matches!(sock.read(&mut sink).await, Ok(n) if n > 0) {}
                held(&state, since);
                return;
            }
            Some(Fault::Http500 { body }) => {
                let text = if *body {
                    "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>We encountered an internal error. Please try again.</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
                } else {
                    ""
                };
                if sock.write_all(&answer("500 Internal Server Error", "text/xml", text)).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Fault::Throttling) => {
                // S3 (REST-XML, no `Action`) slows callers down with 503 SlowDown in its own shape.
                let rest = req.header("x-amz-target").is_none() && action.contains(' ');
                let (status, ctype, text) = if req.header("x-amz-target").is_some() {
                    (
                        "400 Bad Request",
                        "application/x-amz-json-1.1",
                        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
                    )
                } else if req.header("authorization").is_some_and(|a| a.contains("/ec2/aws4_request")) {
                    // EC2's query protocol has its own error shape and code.
                    ("503 Service Unavailable", "text/xml", "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>")
                } else if rest {
                    ("503 Slow Down", "application/xml", "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>")
                } else {
                    ("400 Bad Request", "text/xml", "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>")
                };
                if sock.write_all(&answer(status, ctype, text)).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Fault::Delay(d)) => {
                let since = std::time::Instant::now();
                tokio::time::sleep(*d).await;
                held(&state, since);
            }
            _ => {}
        }
        let reply = forward(&client, &upstream, &req).await;
        *state.lock().unwrap().forwarded.entry(action).or_insert(0) += 1;
        match fault {
            Some(Fault::ResetAfter) => return reset(sock),
            Some(Fault::DropReply) => {
                let _ = sock.shutdown().await;
                return;
            }
            Some(Fault::Truncated) => {
                let head_end = reply.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(reply.len());
                let cut = head_end + (reply.len() - head_end) / 2;
                let _ = sock.write_all(&reply[..cut]).await;
                let _ = sock.shutdown().await;
                return;
            }
            _ => {}
        }
        if sock.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// An answer made by the proxy itself, as AWS sends one.
fn answer(status: &str, ctype: &str, text: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nx-amzn-RequestId: fault-proxy\r\n\r\n{text}",
        text.len()
    )
    .into_bytes()
}

/// Send the request on to the double; the answer as HTTP/1.1 bytes (502 when it cannot be reached).
async fn forward(client: &reqwest::Client, upstream: &str, req: &Request) -> Vec<u8> {
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut out = client.request(method.clone(), format!("{upstream}{}", req.target));
    for (k, v) in &req.headers {
        if !["host", "content-length", "connection", "transfer-encoding", "expect"]
            .contains(&k.to_ascii_lowercase().as_str())
        {
            out = out.header(k, v);
        }
    }
    let answer = match out.body(req.body.clone()).send().await {
        Ok(a) => a,
        Err(e) => {
            let text = format!("fault proxy: upstream unreachable: {e}");
            return format!("HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{text}", text.len()).into_bytes();
        }
    };
    let status = answer.status();
    let mut head = format!("HTTP/1.1 {} {}\r\n", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let mut length: Option<String> = None;
    for (k, v) in answer.headers() {
        let name = k.as_str().to_ascii_lowercase();
        if name == "content-length" {
            length = v.to_str().ok().map(String::from);
            continue;
        }
        if ["transfer-encoding", "connection"].contains(&name.as_str()) {
            continue;
        }
        head.push_str(&format!("{}: {}\r\n", k.as_str(), v.to_str().unwrap_or("")));
    }
    let body = answer.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    // HEAD answers carry the length of the body they do not send.
    let len =
        if method == reqwest::Method::HEAD { length.unwrap_or_else(|| "0".into()) } else { body.len().to_string() };
    head.push_str(&format!("Content-Length: {len}\r\n\r\n"));
    let mut bytes = head.into_bytes();
    if method != reqwest::Method::HEAD {
        bytes.extend_from_slice(&body);
    }
    bytes
}

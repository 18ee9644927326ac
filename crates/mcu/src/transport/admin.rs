//! The operator's HTTP listener (docs/OPERATIONS.md): health, Prometheus metrics, the live
//! state as JSON and a few actions. A deliberately small HTTP/1.1 server (one request per
//! connection, `Connection: close`): the endpoints are few and the clients are scrapers,
//! probes and `curl`. The live state comes from the hub (a snapshot message); the room core
//! itself stays free of I/O.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::forward::{MediaStats, StreamStats};
use super::hub::{HubMsg, Snapshot};
use crate::config::AdminAccount;
use crate::room::Input;
use conference_proto::{MAX_CHAT_BYTES, MediaType};

/// Counters kept by the transport for the admin listener (all monotonic except `ready`).
#[derive(Default)]
pub struct Counters {
    /// The accept loop runs and the server is not shutting down.
    pub ready: AtomicBool,
    pub connections_accepted: AtomicU64,
    pub connections_refused_limit: AtomicU64,
    pub logins_accepted: AtomicU64,
    pub logins_refused_password: AtomicU64,
    pub logins_refused_version: AtomicU64,
    pub logins_refused_timeout: AtomicU64,
    pub logins_refused_throttled: AtomicU64,
    /// TLS handshakes completed on the client port.
    pub tls_connections: AtomicU64,
    pub heartbeat_rtt: RttHistogram,
}

/// Upper bounds of the heartbeat round-trip buckets, in µs (Prometheus `le`, cumulative).
pub const RTT_BUCKETS_US: [u64; 11] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
];

/// Heartbeat round trips of every connection: a Prometheus histogram.
#[derive(Default)]
pub struct RttHistogram {
    /// Non-cumulative counts per bucket; the last one is +Inf.
    buckets: [AtomicU64; RTT_BUCKETS_US.len() + 1],
    sum_us: AtomicU64,
}

impl RttHistogram {
    pub fn observe(&self, rtt: Duration) {
        let us = u64::try_from(rtt.as_micros()).unwrap_or(u64::MAX);
        let bucket = RTT_BUCKETS_US
            .iter()
            .position(|&le| us <= le)
            .unwrap_or(RTT_BUCKETS_US.len());
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// The exposition lines (`_bucket{le=..}`, `_sum`, `_count`) after the metric name.
    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut cumulative = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = RTT_BUCKETS_US
                .get(i)
                .map_or("+Inf".to_string(), |us| format!("{}", *us as f64 / 1e6));
            lines.push(format!("_bucket{{le=\"{le}\"}} {cumulative}"));
        }
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        lines.push(format!("_sum {sum}"));
        lines.push(format!("_count {cumulative}"));
        lines
    }
}

/// The answer to a reload request: `Err` carries why the file was refused.
pub type ReloadReply = oneshot::Sender<Result<(), String>>;

/// A logged-in operator.
struct AdminSession {
    csrf: String,
    expires: Instant,
}

/// What the admin listener needs.
pub struct AdminState {
    pub hub: mpsc::Sender<HubMsg>,
    pub stats: Arc<MediaStats>,
    pub counters: Arc<Counters>,
    accounts: Mutex<Vec<AdminAccount>>,
    reload: mpsc::Sender<ReloadReply>,
    sessions: Mutex<HashMap<String, AdminSession>>,
    /// Failed admin logins: no attempt before this instant.
    throttle_until: Mutex<Instant>,
    started: Instant,
    /// Per sender and stream type: (frames/s, kbit/s) over the last second (see `sample`).
    rates: Mutex<HashMap<u32, [(f64, f64); 4]>>,
    /// This node's fleet (`/api/cluster`), if it is in one.
    fleet: Option<Arc<crate::cluster::Fleet>>,
}

const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
const LOGIN_PENALTY: Duration = Duration::from_secs(1);
const MAX_REQUEST: usize = 16 * 1024;

impl AdminState {
    pub fn new(
        hub: mpsc::Sender<HubMsg>,
        stats: Arc<MediaStats>,
        counters: Arc<Counters>,
        accounts: Vec<AdminAccount>,
        reload: mpsc::Sender<ReloadReply>,
        fleet: Option<Arc<crate::cluster::Fleet>>,
    ) -> Self {
        AdminState {
            hub,
            stats,
            counters,
            accounts: Mutex::new(accounts),
            reload,
            sessions: Mutex::new(HashMap::new()),
            throttle_until: Mutex::new(Instant::now()),
            started: Instant::now(),
            rates: Mutex::new(HashMap::new()),
            fleet,
        }
    }

    /// After a reload: the new operator accounts (open sessions stay valid).
    pub fn set_accounts(&self, accounts: Vec<AdminAccount>) {
        *self.accounts.lock() = accounts;
    }
}

/// Serves admin requests on `listener` forever (the task is aborted at shutdown; the
/// connections, event streams included, are its children and go with it, so nothing keeps
/// the hub alive).
pub async fn serve(listener: TcpListener, state: Arc<AdminState>) {
    let mut connections = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut sampler = RateSampler::default();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    connections.spawn(async move { handle_conn(stream, &state).await });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = tick.tick() => sampler.sample(&state),
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

struct Response {
    status: u16,
    content_type: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Response {
            status,
            content_type,
            headers: Vec::new(),
            body: body.into(),
        }
    }
    fn text(status: u16, body: &str) -> Self {
        Response::new(status, "text/plain; charset=utf-8", format!("{body}\n"))
    }
    fn json(status: u16, value: &serde_json::Value) -> Self {
        Response::new(status, "application/json", value.to_string())
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST {
        return None;
    }
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 2048];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// Turns the senders' counters into rates, once a second.
#[derive(Default)]
struct RateSampler {
    previous: HashMap<u32, ([u64; 4], [u64; 4])>,
    last: Option<Instant>,
}

impl RateSampler {
    fn sample(&mut self, state: &AdminState) {
        let secs = self
            .last
            .map_or(1.0, |last| last.elapsed().as_secs_f64().max(0.001));
        self.last = Some(Instant::now());
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let now: HashMap<u32, ([u64; 4], [u64; 4])> = state
            .stats
            .senders
            .lock()
            .iter()
            .map(|(user, counts)| {
                (
                    *user,
                    (
                        counts.frames.each_ref().map(load),
                        counts.bytes.each_ref().map(load),
                    ),
                )
            })
            .collect();
        let rates = now
            .iter()
            .map(|(user, (frames, bytes))| {
                let (old_frames, old_bytes) = self.previous.get(user).copied().unwrap_or_default();
                let rate = std::array::from_fn(|i| {
                    let df = frames[i].saturating_sub(old_frames[i]) as f64;
                    let db = bytes[i].saturating_sub(old_bytes[i]) as f64;
                    (df / secs, db * 8.0 / 1000.0 / secs)
                });
                (*user, rate)
            })
            .collect();
        *state.rates.lock() = rates;
        self.previous = now;
    }
}

/// The live state as the API and the page show it: the rooms, and per user the rates of the
/// streams it sends.
fn rooms_json(state: &AdminState, snap: &Snapshot) -> serde_json::Value {
    let rates = state.rates.lock().clone();
    let mut rooms = serde_json::to_value(&snap.rooms).unwrap_or_default();
    for user in rooms
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|room| room["users"].as_array_mut())
        .flatten()
    {
        let id = user["id"].as_u64().unwrap_or(0) as u32;
        let streams: Vec<serde_json::Value> = rates
            .get(&id)
            .into_iter()
            .flat_map(|rate| rate.iter().enumerate())
            .filter(|(_, (fps, _))| *fps > 0.0)
            .map(|(i, (fps, kbps))| {
                serde_json::json!({"stream": MediaType::ALL[i].label(), "fps": (fps * 10.0).round() / 10.0,
                                   "kbps": (kbps * 10.0).round() / 10.0})
            })
            .collect();
        user["streams"] = serde_json::Value::Array(streams);
    }
    serde_json::json!({
        "connections": snap.connections,
        "sessions": snap.sessions,
        "rooms": rooms,
    })
}

/// `GET /api/events`: Server-Sent Events, one `data:` line with the live state whenever it
/// changes (checked twice a second), a comment every 15 s to keep proxies from timing out.
async fn event_stream(mut stream: TcpStream, state: &AdminState) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\nretry: 1000\n\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let mut sent = String::new();
    let mut quiet = Instant::now();
    loop {
        let Some(snap) = snapshot(state).await else {
            return;
        };
        let now = rooms_json(state, &snap).to_string();
        let message = if now != sent {
            format!("data: {now}\n\n")
        } else if quiet.elapsed() > Duration::from_secs(15) {
            ": keep-alive\n\n".to_string()
        } else {
            String::new()
        };
        if !message.is_empty() {
            if stream.write_all(message.as_bytes()).await.is_err() {
                return;
            }
            quiet = Instant::now();
            sent = now;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn handle_conn(mut stream: TcpStream, state: &AdminState) {
    let limit = Duration::from_secs(10);
    let Ok(Some(request)) = tokio::time::timeout(limit, read_request(&mut stream)).await else {
        return;
    };
    if request.method == "GET"
        && request.path.split('?').next() == Some("/api/events")
        && authorised(&request, state, false).is_ok()
    {
        return event_stream(stream, state).await;
    }
    let Ok(response) = tokio::time::timeout(limit, route(&request, state)).await else {
        return;
    };
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        _ => "Service Unavailable",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    );
    for (name, value) in &response.headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(response.body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn snapshot(state: &AdminState) -> Option<Snapshot> {
    let (tx, rx) = oneshot::channel();
    state.hub.send(HubMsg::Snapshot(tx)).await.ok()?;
    tokio::time::timeout(Duration::from_secs(5), rx)
        .await
        .ok()?
        .ok()
}

async fn route(request: &Request, state: &AdminState) -> Response {
    let path = request.path.split('?').next().unwrap_or("");
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["healthz"]) => Response::text(200, "ok"),
        // The live page: static, self-contained (no CDN); it logs in and subscribes itself.
        ("GET", [""] | ["admin"]) => Response::new(
            200,
            "text/html; charset=utf-8",
            include_str!("admin_page.html"),
        ),
        ("GET", ["api", "events"]) => match authorised(request, state, false) {
            Err(response) => response,
            Ok(()) => Response::text(400, "an event stream"),
        },
        ("GET", ["readyz"]) => {
            if state.counters.ready.load(Ordering::Relaxed) {
                Response::text(200, "ready")
            } else {
                Response::text(503, "not ready")
            }
        }
        ("GET", ["metrics"]) => match snapshot(state).await {
            Some(snap) => Response::new(
                200,
                "text/plain; version=0.0.4; charset=utf-8",
                metrics(state, &snap),
            ),
            None => Response::text(503, "hub unavailable"),
        },
        ("GET", ["api", "rooms"]) => {
            if let Err(response) = authorised(request, state, false) {
                return response;
            }
            match snapshot(state).await {
                Some(snap) => Response::json(200, &rooms_json(state, &snap)),
                None => Response::text(503, "hub unavailable"),
            }
        }
        ("POST", ["api", "login"]) => login(request, state),
        // The fleet as this node sees it; drain: no new rooms, rooms released as they empty
        // (docs/CLUSTER.md).
        ("GET", ["api", "cluster"]) | ("POST", ["api", "cluster", "drain"]) => {
            let action = request.method == "POST";
            if let Err(response) = authorised(request, state, action) {
                return response;
            }
            let Some(fleet) = &state.fleet else {
                return Response::text(404, "this MCU is not in a fleet");
            };
            if action {
                fleet.drain();
            }
            Response::json(200, &fleet.status())
        }
        ("POST", ["api", "reload"]) => {
            if let Err(response) = authorised(request, state, true) {
                return response;
            }
            let (tx, rx) = oneshot::channel();
            if state.reload.send(tx).await.is_err() {
                return Response::text(503, "server stopping");
            }
            match rx.await {
                Ok(Ok(())) => Response::json(200, &serde_json::json!({"reloaded": true})),
                Ok(Err(why)) => {
                    Response::json(400, &serde_json::json!({"reloaded": false, "error": why}))
                }
                Err(_) => Response::text(503, "server stopping"),
            }
        }
        ("POST", ["api", "rooms", room, "users", user, "kick"]) => {
            if let Err(response) = authorised(request, state, true) {
                return response;
            }
            let (Ok(room), Ok(user)) = (room.parse(), user.parse()) else {
                return Response::text(400, "bad room or user id");
            };
            let Some(snap) = snapshot(state).await else {
                return Response::text(503, "hub unavailable");
            };
            let present = snap
                .rooms
                .iter()
                .any(|r| r.id == room && r.users.iter().any(|u| u.id == user));
            if !present {
                return Response::text(404, "no such user in that room");
            }
            if state
                .hub
                .send(HubMsg::Core(Input::AdminKick { room, user }))
                .await
                .is_err()
            {
                return Response::text(503, "hub unavailable");
            }
            tracing::info!(room, user, "kicked by an operator");
            Response::json(200, &serde_json::json!({"kicked": user, "room": room}))
        }
        ("POST", ["api", "rooms", room, "close"]) => {
            if let Err(response) = authorised(request, state, true) {
                return response;
            }
            let Ok(room) = room.parse() else {
                return Response::text(400, "bad room id");
            };
            let Some(snap) = snapshot(state).await else {
                return Response::text(503, "hub unavailable");
            };
            if !snap.rooms.iter().any(|r| r.id == room) {
                return Response::text(404, "no such room");
            }
            if state
                .hub
                .send(HubMsg::Core(Input::AdminCloseRoom { room }))
                .await
                .is_err()
            {
                return Response::text(503, "hub unavailable");
            }
            tracing::info!(room, "room closed by an operator");
            Response::json(200, &serde_json::json!({"closed": room}))
        }
        ("POST", ["api", "rooms", room, "notice"]) => {
            if let Err(response) = authorised(request, state, true) {
                return response;
            }
            let Ok(room) = room.parse() else {
                return Response::text(400, "bad room id");
            };
            let body = serde_json::from_slice::<serde_json::Value>(&request.body).ok();
            let Some(text) = body.as_ref().and_then(|b| b["text"].as_str()) else {
                return Response::text(400, "expected a JSON body {\"text\":…, \"color\":…}");
            };
            // The vendor's chat struct holds 127 bytes of text.
            if text.is_empty() || text.len() > MAX_CHAT_BYTES {
                return Response::text(400, "the text must be 1 to 127 bytes of UTF-8");
            }
            let color = body
                .as_ref()
                .and_then(|b| b["color"].as_i64())
                .unwrap_or(0xFF0000);
            let Ok(color) = i32::try_from(color) else {
                return Response::text(400, "bad color");
            };
            let Some(snap) = snapshot(state).await else {
                return Response::text(503, "hub unavailable");
            };
            let Some(users) = snap
                .rooms
                .iter()
                .find(|r| r.id == room)
                .map(|r| r.users.len())
            else {
                return Response::text(404, "no such room");
            };
            let notice = Input::AdminNotice {
                room,
                text: text.to_string(),
                color,
            };
            if state.hub.send(HubMsg::Core(notice)).await.is_err() {
                return Response::text(503, "hub unavailable");
            }
            tracing::info!(room, users, "notice broadcast by an operator");
            Response::json(200, &serde_json::json!({"room": room, "told": users}))
        }
        (_, ["healthz" | "readyz" | "metrics"] | ["api", ..]) => {
            Response::text(405, "method not allowed")
        }
        _ => Response::text(404, "not found"),
    }
}

fn cookie(request: &Request, name: &str) -> Option<String> {
    request.headers.get("cookie")?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// The JSON API needs an operator session (cookie); actions also the CSRF token header.
fn authorised(request: &Request, state: &AdminState, action: bool) -> Result<(), Response> {
    let Some(token) = cookie(request, "conference_admin") else {
        return Err(Response::text(401, "log in first (POST /api/login)"));
    };
    let mut sessions = state.sessions.lock();
    let now = Instant::now();
    sessions.retain(|_, s| s.expires > now);
    let Some(session) = sessions.get(&token) else {
        return Err(Response::text(401, "session expired"));
    };
    if action && request.headers.get("x-csrf-token") != Some(&session.csrf) {
        return Err(Response::text(403, "missing or wrong X-CSRF-Token"));
    }
    Ok(())
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    if let Ok(mut file) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = file.read_exact(&mut bytes);
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `POST /api/login` with a JSON body `{"username": …, "password": …}`.
fn login(request: &Request, state: &AdminState) -> Response {
    let now = Instant::now();
    // After a failure, every attempt within LOGIN_PENALTY is refused unchecked.
    if *state.throttle_until.lock() > now {
        return Response::text(429, "too many attempts, wait a second");
    }
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&request.body) else {
        return Response::text(400, "expected a JSON body {\"username\":…,\"password\":…}");
    };
    let username = body["username"].as_str().unwrap_or("");
    let password = body["password"].as_str().unwrap_or("");
    let accounts = state.accounts.lock().clone();
    let ok = accounts.iter().any(|account| {
        account.username == username
            && crate::password::verify_password(password, &account.password_hash)
    });
    if !ok {
        *state.throttle_until.lock() = Instant::now() + LOGIN_PENALTY;
        tracing::warn!(username, "admin login refused");
        return Response::text(401, "wrong username or password");
    }
    let token = random_token();
    let csrf = random_token();
    state.sessions.lock().insert(
        token.clone(),
        AdminSession {
            csrf: csrf.clone(),
            expires: Instant::now() + SESSION_TTL,
        },
    );
    tracing::info!(username, "admin logged in");
    let mut response = Response::json(200, &serde_json::json!({ "csrf_token": csrf }));
    response.headers.push((
        "Set-Cookie".into(),
        format!("conference_admin={token}; HttpOnly; SameSite=Strict; Path=/"),
    ));
    response
}

fn metrics(state: &AdminState, snap: &Snapshot) -> String {
    let mut out = String::new();
    let c = &state.counters;
    let s = &state.stats;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let gauge = |out: &mut String, name: &str, help: &str, kind: &str, lines: &[String]| {
        let _ = writeln!(out, "# HELP conference_{name} {help}");
        let _ = writeln!(out, "# TYPE conference_{name} {kind}");
        for line in lines {
            let _ = writeln!(out, "conference_{name}{line}");
        }
    };
    gauge(
        &mut out,
        "up",
        "1 while the MCU runs.",
        "gauge",
        &[" 1".into()],
    );
    gauge(
        &mut out,
        "ready",
        "1 while logins are accepted.",
        "gauge",
        &[format!(" {}", u8::from(c.ready.load(Ordering::Relaxed)))],
    );
    gauge(
        &mut out,
        "rooms",
        "Configured rooms.",
        "gauge",
        &[format!(" {}", snap.rooms.len())],
    );
    gauge(
        &mut out,
        "room_users",
        "Users in each room.",
        "gauge",
        &snap
            .rooms
            .iter()
            .map(|r| format!("{{room=\"{}\"}} {}", r.id, r.users.len()))
            .collect::<Vec<_>>(),
    );
    gauge(
        &mut out,
        "connections",
        "Open client connections (logged in or not).",
        "gauge",
        &[format!(" {}", snap.connections)],
    );
    gauge(
        &mut out,
        "sessions",
        "Logged-in connections.",
        "gauge",
        &[format!(" {}", snap.sessions)],
    );
    gauge(
        &mut out,
        "connections_accepted_total",
        "TCP connections accepted.",
        "counter",
        &[format!(" {}", load(&c.connections_accepted))],
    );
    gauge(
        &mut out,
        "connections_refused_total",
        "TCP connections refused at the connection limit.",
        "counter",
        &[format!(" {}", load(&c.connections_refused_limit))],
    );
    gauge(
        &mut out,
        "logins_accepted_total",
        "Logins whose credentials were accepted.",
        "counter",
        &[format!(" {}", load(&c.logins_accepted))],
    );
    gauge(
        &mut out,
        "logins_refused_total",
        "Logins refused, by reason.",
        "counter",
        &[
            format!(
                "{{reason=\"password\"}} {}",
                load(&c.logins_refused_password)
            ),
            format!("{{reason=\"version\"}} {}", load(&c.logins_refused_version)),
            format!("{{reason=\"timeout\"}} {}", load(&c.logins_refused_timeout)),
            format!(
                "{{reason=\"throttled\"}} {}",
                load(&c.logins_refused_throttled)
            ),
        ],
    );
    gauge(
        &mut out,
        "tls_connections_total",
        "Client connections that completed a TLS 1.3 handshake.",
        "counter",
        &[format!(" {}", load(&c.tls_connections))],
    );
    gauge(
        &mut out,
        "media_frames_in_total",
        "Media frames received from senders (all stream types).",
        "counter",
        &[format!(" {}", load(&s.frames_in))],
    );
    gauge(
        &mut out,
        "media_fragments_out_total",
        "Media fragments queued to subscribers (all stream types).",
        "counter",
        &[format!(" {}", load(&s.fragments_out))],
    );
    gauge(
        &mut out,
        "media_dropped_total",
        "Media fragments dropped, by reason.",
        "counter",
        &[
            format!("{{reason=\"slow_subscriber\"}} {}", load(&s.dropped_slow)),
            format!("{{reason=\"unrouted\"}} {}", load(&s.dropped_unrouted)),
        ],
    );
    let per_stream = |field: fn(&StreamStats) -> &AtomicU64| {
        MediaType::ALL
            .iter()
            .zip(&s.by_stream)
            .map(|(stream, stats)| {
                format!("{{stream=\"{}\"}} {}", stream.label(), load(field(stats)))
            })
            .collect::<Vec<_>>()
    };
    gauge(
        &mut out,
        "media_in_frames_total",
        "Media frames (fragments) received from senders, by stream type.",
        "counter",
        &per_stream(|s| &s.frames_in),
    );
    gauge(
        &mut out,
        "media_in_bytes_total",
        "Media bytes received from senders (frame header included), by stream type.",
        "counter",
        &per_stream(|s| &s.bytes_in),
    );
    gauge(
        &mut out,
        "media_out_fragments_total",
        "Media fragments queued to subscribers, by stream type.",
        "counter",
        &per_stream(|s| &s.fragments_out),
    );
    gauge(
        &mut out,
        "media_out_bytes_total",
        "Media bytes queued to subscribers, by stream type.",
        "counter",
        &per_stream(|s| &s.bytes_out),
    );
    gauge(
        &mut out,
        "key_frame_requests_total",
        "Key-frame requests (LOOKED ctrl 1) sent to senders.",
        "counter",
        &[format!(" {}", snap.key_frame_requests)],
    );
    gauge(
        &mut out,
        "heartbeat_rtt_seconds",
        "Heartbeat round trips of all connections.",
        "histogram",
        &c.heartbeat_rtt.lines(),
    );
    gauge(
        &mut out,
        "suspended_sessions",
        "Sessions kept for a resume after a network cut (docs/PROTOCOL.md section 8).",
        "gauge",
        &[format!(" {}", snap.suspended_sessions)],
    );
    gauge(
        &mut out,
        "resumes_total",
        "Sessions resumed after a network cut.",
        "counter",
        &[format!(" {}", snap.resumes)],
    );
    let mut signal = [0usize; 6];
    for user in snap.rooms.iter().flat_map(|r| r.users.iter()) {
        signal[usize::from(user.signal.min(5))] += 1;
    }
    gauge(
        &mut out,
        "signal_status_users",
        "Room members by signal status (m_u8SignalStatus 0..5).",
        "gauge",
        &signal
            .iter()
            .enumerate()
            .map(|(status, n)| format!("{{status=\"{status}\"}} {n}"))
            .collect::<Vec<_>>(),
    );
    if let Some(fleet) = &state.fleet {
        fleet.metrics(&mut out);
    }
    process_metrics(&mut out, state.started);
    out
}

/// CPU, RSS and descriptors of this process from /proc/self.
fn process_metrics(out: &mut String, started: Instant) {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat")
        && let Some((_, rest)) = stat.rsplit_once(')')
    {
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields after the command: state=0, utime=11, stime=12, rss=21.
        let num = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu = (num(11) + num(12)) as f64 / ticks;
        let _ = writeln!(
            out,
            "# HELP conference_process_cpu_seconds_total User and system CPU time.\n# TYPE conference_process_cpu_seconds_total counter\nconference_process_cpu_seconds_total {cpu}"
        );
        let _ = writeln!(
            out,
            "# HELP conference_process_resident_memory_bytes Resident set size.\n# TYPE conference_process_resident_memory_bytes gauge\nconference_process_resident_memory_bytes {}",
            num(21) * page
        );
    }
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        let _ = writeln!(
            out,
            "# HELP conference_process_open_fds Open file descriptors.\n# TYPE conference_process_open_fds gauge\nconference_process_open_fds {}",
            dir.count()
        );
    }
    let _ = writeln!(
        out,
        "# HELP conference_process_uptime_seconds Seconds since the MCU started.\n# TYPE conference_process_uptime_seconds gauge\nconference_process_uptime_seconds {}",
        started.elapsed().as_secs()
    );
}

//! A fleet of real `conference-mcu` processes on a real NATS cluster (docs/CLUSTER.md), and
//! the client side of a redirect: join, and follow `Response.redirect` to the room's node.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use conference_proto::pb::{self, client_message::Body};
use conference_proto::{ErrorCode, PROTOCOL_VERSION};

use crate::child::ChildProcess;
use crate::client::{DEFAULT_TIMEOUT, TestClient};
use crate::nats::NatsCluster;
use crate::{McuProcess, SpawnOptions, TestConfig, hash_password_cheap};

/// The operator account every fleet node gets (its admin API shows the fleet).
const OPS: (&str, &str) = ("ops", "ops-secret");

/// Timing of the test fleets: short leases keep failover tests short.
#[derive(Clone, Debug)]
pub struct FleetTiming {
    pub heartbeat_ms: u64,
    pub lease_ms: u64,
}

impl Default for FleetTiming {
    fn default() -> Self {
        FleetTiming {
            heartbeat_ms: 300,
            lease_ms: 2000,
        }
    }
}

pub struct FleetNode {
    pub name: String,
    pub mcu: McuProcess,
    pub admin: SocketAddr,
}

pub struct TestFleet {
    pub nodes: Vec<FleetNode>,
    /// Declared after the nodes: the MCUs stop before NATS does.
    pub nats: NatsCluster,
    pub timing: FleetTiming,
    binary: PathBuf,
}

/// A fleet node's file: `config` (accounts, rooms, `[server]`), the operator's admin
/// account and `[cluster]` with the node's name and timing; with `from_kv`, `config = "kv"`.
pub fn node_toml(config: &TestConfig, name: &str, timing: &FleetTiming, from_kv: bool) -> String {
    format!(
        "{}\n[admin]\nlisten = \"127.0.0.1:0\"\n\n[[admin.account]]\nusername = {:?}\n\
         password_hash = {:?}\n\n[cluster]\nnode = {name:?}\nheartbeat_ms = {}\n\
         lease_ms = {}\nsecret = \"a test fleet's shared key\"\nconfig = {:?}\n",
        config.to_toml(),
        OPS.0,
        hash_password_cheap(OPS.1),
        timing.heartbeat_ms,
        timing.lease_ms,
        if from_kv { "kv" } else { "file" },
    )
}

/// A temporary file, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(text: &str) -> TempFile {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "conference-fleet-{}-{}.toml",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, text).expect("write a temporary file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `binary` with `args` (then `--config` a file holding `config_toml`, if given) to its
/// exit, within `timeout`: a node expected to refuse to start, say.
pub fn run_to_exit(
    binary: &Path,
    config_toml: Option<&str>,
    args: &[String],
    timeout: Duration,
) -> Output {
    let file = config_toml.map(TempFile::new);
    let mut command = Command::new(binary);
    command.args(args);
    if let Some(file) = &file {
        command.arg("--config").arg(&file.0);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child =
        ChildProcess::spawn("conference-mcu", &mut command).expect("start conference-mcu");
    child
        .output(timeout)
        .unwrap_or_else(|| panic!("conference-mcu {args:?} did not exit within {timeout:?}"))
}

/// `conference-mcu --cluster URLS publish-config FILE`, FILE holding `toml`.
fn publish(binary: &Path, urls: &str, toml: &str) -> Output {
    let file = TempFile::new(toml);
    let args = [
        "--cluster".to_string(),
        urls.to_string(),
        "publish-config".to_string(),
        file.0.display().to_string(),
    ];
    run_to_exit(binary, None, &args, Duration::from_secs(30))
}

impl TestFleet {
    /// `mcus` nodes named `mcu0..` on a NATS cluster of `nats` servers, all serving
    /// `config` (plus the operator), started by `binary`; returns once every node sees every
    /// node alive.
    pub fn start(config: &TestConfig, mcus: usize, nats: usize, binary: PathBuf) -> TestFleet {
        TestFleet::start_with(config, mcus, nats, binary, FleetTiming::default())
    }

    /// [`TestFleet::start`] with other heartbeat and lease intervals.
    pub fn start_with(
        config: &TestConfig,
        mcus: usize,
        nats: usize,
        binary: PathBuf,
        timing: FleetTiming,
    ) -> TestFleet {
        let nats = NatsCluster::start(nats);
        TestFleet::start_nodes(config, mcus, nats, binary, timing, false)
    }

    /// A fleet whose nodes take accounts and rooms from KV (`[cluster] config = "kv"`):
    /// `shared` is published with `conference-mcu publish-config` before the nodes start;
    /// each node's own file holds `file`'s accounts and rooms (not used).
    pub fn start_from_kv(
        file: &TestConfig,
        shared: &TestConfig,
        mcus: usize,
        nats: usize,
        binary: PathBuf,
    ) -> TestFleet {
        let nats = NatsCluster::start(nats);
        let published = publish(&binary, &nats.urls(), &shared.to_toml());
        assert!(
            published.status.success(),
            "publish-config failed: {}",
            String::from_utf8_lossy(&published.stderr)
        );
        TestFleet::start_nodes(file, mcus, nats, binary, FleetTiming::default(), true)
    }

    fn start_nodes(
        config: &TestConfig,
        mcus: usize,
        nats: NatsCluster,
        binary: PathBuf,
        timing: FleetTiming,
        from_kv: bool,
    ) -> TestFleet {
        let nodes = (0..mcus)
            .map(|i| {
                let name = format!("mcu{i}");
                let mcu = McuProcess::spawn_with(SpawnOptions {
                    config: Some(node_toml(config, &name, &timing, from_kv)),
                    args: vec!["--cluster".into(), nats.urls()],
                    env: vec![("CONFERENCE_MCU_LOG".into(), "info,async_nats=warn".into())],
                    binary: Some(binary.clone()),
                    ..SpawnOptions::default()
                });
                let admin = mcu.admin_addr();
                FleetNode { name, mcu, admin }
            })
            .collect();
        let fleet = TestFleet {
            nodes,
            nats,
            timing,
            binary,
        };
        fleet.wait_all_alive(Duration::from_secs(30));
        fleet
    }

    /// `conference-mcu --cluster <this fleet's NATS> publish-config <a file of config>`.
    pub fn publish(&self, config: &TestConfig) -> Output {
        publish(&self.binary, &self.nats.urls(), &config.to_toml())
    }

    /// Writes `value` to the shared configuration's key as it is, the way `nats kv put`
    /// would (no validation); returns the revision.
    pub fn put_shared_raw(&self, value: &[u8]) -> u64 {
        use conference_mcu::cluster::{kv, shared_config};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let js = kv::connect(&self.nats.urls(), "test").await.expect("NATS");
            let replicas = if self.nats.servers.len() > 1 { 3 } else { 1 };
            let store = kv::config_bucket(&js, "conference", replicas)
                .await
                .expect("the config bucket");
            store
                .put(shared_config::KEY, bytes::Bytes::copy_from_slice(value))
                .await
                .expect("a KV write")
        })
    }

    /// The shared configuration's revision node `i` runs (`GET /api/cluster`).
    pub fn config_revision(&self, i: usize) -> u64 {
        let status = self.status(i);
        status["config"]["revision"]
            .as_u64()
            .unwrap_or_else(|| panic!("no shared configuration revision: {status}"))
    }

    /// `user` (password = user name) in `room` through node `from`, following redirects;
    /// retried while the fleet refuses (a re-placement in progress) until `timeout`.
    pub fn land(&self, from: usize, user: &str, room: u32, timeout: Duration) -> Landed {
        let deadline = Instant::now() + timeout;
        loop {
            match join_following(self.nodes[from].mcu.addr, user, user, room) {
                Ok(landed) => return landed,
                Err(code) => {
                    assert!(
                        Instant::now() < deadline,
                        "{user} could not join {room} from node {from}: code {code:#x}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// The node whose client address is `address` (as a redirect names it).
    pub fn index_of(&self, address: &str) -> Option<usize> {
        self.nodes
            .iter()
            .position(|node| node.mcu.addr.to_string() == address)
    }

    /// The fleet as node `i` sees it (`GET /api/cluster`).
    pub fn status(&self, i: usize) -> serde_json::Value {
        AdminClient::login(self.nodes[i].admin).get_json("/api/cluster")
    }

    /// The home node of `room` as node `i` sees it.
    pub fn home_seen_by(&self, i: usize, room: u32) -> Option<String> {
        let status = self.status(i);
        status["rooms"]
            .as_array()?
            .iter()
            .find(|r| r["room"].as_u64() == Some(u64::from(room)))
            .and_then(|r| r["home"].as_str().map(str::to_string))
    }

    /// Until every running node is connected and sees every running node alive.
    pub fn wait_all_alive(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let names: Vec<&str> = self.nodes.iter().map(|n| n.name.as_str()).collect();
        for i in 0..self.nodes.len() {
            loop {
                let status = self.status(i);
                let alive: Vec<&str> = status["nodes"]
                    .as_array()
                    .map(|nodes| {
                        nodes
                            .iter()
                            .filter(|n| n["alive"].as_bool() == Some(true))
                            .filter_map(|n| n["record"]["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let ready = status["lease_held"].as_bool() == Some(true)
                    && names.iter().all(|name| alive.contains(name));
                if ready {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "fleet not ready: node {i} sees {status}\nlog:\n{}",
                    self.nodes[i].mcu.log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// What a JoinRoom got.
#[derive(Debug)]
pub enum JoinAnswer {
    Joined(pb::RoomJoined),
    Redirect(pb::Redirect),
    Refused(u32),
}

fn answer(response: pb::Response) -> JoinAnswer {
    match (response.code, response.result) {
        (0, Some(pb::response::Result::Joined(joined))) => JoinAnswer::Joined(joined),
        (_, Some(pb::response::Result::Redirect(redirect))) => JoinAnswer::Redirect(redirect),
        (code, _) => JoinAnswer::Refused(code),
    }
}

/// Sends `ClientMessage{join_room, redirect_token}` and reads the answer.
pub fn join_carrying(client: &mut TestClient, room: u32, token: &[u8]) -> JoinAnswer {
    let id = client.send_request_with_token(Body::JoinRoom(pb::JoinRoom { room_id: room }), token);
    let response = client
        .response(id, DEFAULT_TIMEOUT)
        .expect("an answer to JoinRoom");
    answer(response)
}

/// Where a redirected or direct join ended.
pub struct Landed {
    pub client: TestClient,
    pub joined: pb::RoomJoined,
    /// The node that took the join.
    pub addr: SocketAddr,
    /// Redirects followed.
    pub hops: usize,
}

/// Logs in at `addr` and joins `room`, following redirects (at most 3) as the SDK does:
/// a new connection to the named node, a login, the join with the token. A redirect to a node
/// that refuses the connection (it stopped after the redirecting node's view was taken) is
/// `Err(retCode_NetworkException)`, a refused login there its code: ask the entry node again.
pub fn join_following(
    addr: SocketAddr,
    username: &str,
    password: &str,
    room: u32,
) -> Result<Landed, u32> {
    let mut addr = addr;
    let mut token = Vec::new();
    for hops in 0..4 {
        let mut client = match TestClient::try_connect(addr) {
            Ok(client) => client,
            Err(_) if hops > 0 => return Err(ErrorCode::NetworkException.code()),
            Err(err) => panic!("connect to the entry node {addr}: {err}"),
        };
        match client.hello(PROTOCOL_VERSION, username, password) {
            Ok(_) => {}
            // The target is stopping.
            Err(code) if hops > 0 => return Err(code),
            Err(code) => panic!("login of {username} refused: {code:#x}"),
        }
        match join_carrying(&mut client, room, &token) {
            JoinAnswer::Joined(joined) => {
                return Ok(Landed {
                    client,
                    joined,
                    addr,
                    hops,
                });
            }
            JoinAnswer::Redirect(redirect) => {
                addr = redirect.address.parse().expect("a host:port redirect");
                token = redirect.token.to_vec();
            }
            JoinAnswer::Refused(code) => return Err(code),
        }
    }
    panic!("more than 3 redirects for room {room}");
}

/// A logged-in operator of one node's admin API.
pub struct AdminClient {
    addr: SocketAddr,
    cookie: String,
    csrf: String,
}

impl AdminClient {
    pub fn login(addr: SocketAddr) -> AdminClient {
        let body = format!(r#"{{"username":"{}","password":"{}"}}"#, OPS.0, OPS.1);
        let (status, head, body) = http(addr, "POST", "/api/login", &[], &body);
        assert_eq!(status, 200, "admin login: {body}");
        let cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("Set-Cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        let value: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let csrf = value["csrf_token"]
            .as_str()
            .expect("a CSRF token")
            .to_string();
        AdminClient { addr, cookie, csrf }
    }

    pub fn get_text(&self, path: &str) -> String {
        let (status, _, body) = http(self.addr, "GET", path, &[("Cookie", &self.cookie)], "");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        let (status, _, body) = http(self.addr, "GET", path, &[("Cookie", &self.cookie)], "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    pub fn post_json(&self, path: &str) -> serde_json::Value {
        let headers = [
            ("Cookie", self.cookie.as_str()),
            ("X-CSRF-Token", &self.csrf),
        ];
        let (status, _, body) = http(self.addr, "POST", path, &headers, "");
        assert_eq!(status, 200, "POST {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }
}

/// One HTTP/1.1 exchange: (status, head, body).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin listener");
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .expect("send the request");
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

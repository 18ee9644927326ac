//! A NATS cluster for the fleet tests: `nats-server` processes with JetStream on loopback,
//! joined by cluster routes, their stores in a temporary directory; killed on drop.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `nats-server`: `NATS_SERVER_BIN`, else on the path (or /usr/sbin), else installed by
/// `scripts/nats-server.sh` (Debian's package).
pub fn nats_server_binary() -> PathBuf {
    static FOUND: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = found.as_ref() {
        return path.clone();
    }
    let path = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .or_else(on_path)
        .unwrap_or_else(install);
    *found = Some(path.clone());
    path
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

fn install() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/nats-server.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/nats-server.sh");
    assert!(
        output.status.success(),
        "scripts/nats-server.sh could not install nats-server"
    );
    let text = String::from_utf8_lossy(&output.stdout);
    PathBuf::from(
        text.lines()
            .last()
            .expect("the script prints the path")
            .trim(),
    )
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

pub struct NatsServer {
    pub name: String,
    pub port: u16,
    pub cluster_port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl NatsServer {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn config(&self, routes: &[u16]) -> String {
        let routes: Vec<String> = routes
            .iter()
            .map(|port| format!("\"nats-route://127.0.0.1:{port}\""))
            .collect();
        let mut config = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\n\
             jetstream {{\n  store_dir: {store:?}\n  max_memory_store: 64MB\n  max_file_store: 256MB\n}}\n",
            name = self.name,
            port = self.port,
            store = self.dir.join("store"),
        );
        // A lone server runs JetStream without a cluster (one without routes refuses to).
        if !routes.is_empty() {
            config.push_str(&format!(
                "cluster {{\n  name: conference-test\n  listen: 127.0.0.1:{cluster}\n  routes: [{routes}]\n}}\n",
                cluster = self.cluster_port,
                routes = routes.join(", "),
            ));
        }
        config
    }

    fn start(&mut self, routes: &[u16]) {
        let config = self.dir.join("nats.conf");
        std::fs::write(&config, self.config(routes)).expect("write the nats-server config");
        let log = std::fs::File::create(self.dir.join("nats.log")).expect("create the log");
        let child = Command::new(nats_server_binary())
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("nats.log")).unwrap_or_default()
    }
}

/// `n` clustered servers with JetStream (a 3-server cluster keeps R3 buckets writable
/// with one server down); one server runs alone.
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
    dir: PathBuf,
}

impl NatsCluster {
    pub fn start(n: usize) -> NatsCluster {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conference-nats-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut servers: Vec<NatsServer> = (0..n)
            .map(|i| {
                let server_dir = dir.join(format!("n{i}"));
                std::fs::create_dir_all(&server_dir).expect("create the server's directory");
                NatsServer {
                    name: format!("n{i}"),
                    port: free_port(),
                    cluster_port: free_port(),
                    child: None,
                    dir: server_dir,
                }
            })
            .collect();
        let cluster_ports: Vec<u16> = servers.iter().map(|s| s.cluster_port).collect();
        for server in &mut servers {
            let routes: Vec<u16> = cluster_ports
                .iter()
                .copied()
                .filter(|port| *port != server.cluster_port)
                .collect();
            server.start(&routes);
        }
        let cluster = NatsCluster { servers, dir };
        cluster.wait_listening(Duration::from_secs(20));
        cluster
    }

    /// Every server's client URL, comma-separated (`--cluster`).
    pub fn urls(&self) -> String {
        let urls: Vec<String> = self.servers.iter().map(NatsServer::url).collect();
        urls.join(",")
    }

    fn wait_listening(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        for server in &self.servers {
            while TcpStream::connect_timeout(&server.addr(), Duration::from_millis(200)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "nats-server {} did not listen; log:\n{}",
                    server.name,
                    server.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Every server's log, for a failing test's output.
    pub fn logs(&self) -> String {
        self.servers
            .iter()
            .map(|s| format!("---- {} ----\n{}", s.name, s.log()))
            .collect()
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for server in &mut self.servers {
            server.kill();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

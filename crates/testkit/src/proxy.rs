//! TCP proxies between real clients and a real MCU, for the security tests: one that records
//! every byte both ways, and a man in the middle that terminates TLS with its own certificate
//! (recording the plaintext it sees) and talks TLS or plain TCP to the MCU.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::pki::CertFiles;

/// What went through: client → MCU and MCU → client, all connections appended.
#[derive(Clone, Debug, Default)]
pub struct Capture {
    pub to_server: Vec<u8>,
    pub to_client: Vec<u8>,
    pub connections: usize,
}

impl Capture {
    /// Whether `needle` occurs in either direction.
    pub fn contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty()
            && [&self.to_server, &self.to_client]
                .iter()
                .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
    }
}

#[derive(Clone)]
enum Mode {
    Record,
    Mitm {
        acceptor: TlsAcceptor,
        upstream_tls: bool,
    },
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    capture: Arc<Mutex<Capture>>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    /// Relays and records every byte (TLS stays encrypted).
    pub fn record(upstream: SocketAddr) -> Proxy {
        Proxy::start(upstream, Mode::Record)
    }

    /// Terminates the client's TLS with `impostor` and relays to the MCU over TLS (not
    /// verifying it) or plain TCP, recording the plaintext.
    pub fn mitm(upstream: SocketAddr, impostor: &CertFiles, upstream_tls: bool) -> Proxy {
        let chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(&impostor.certificate)
                .expect("impostor certificate")
                .collect::<Result<_, _>>()
                .expect("impostor PEM");
        let key = PrivateKeyDer::from_pem_file(&impostor.private_key).expect("impostor key");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("TLS 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("impostor config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        Proxy::start(
            upstream,
            Mode::Mitm {
                acceptor,
                upstream_tls,
            },
        )
    }

    fn start(upstream: SocketAddr, mode: Mode) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let capture = Arc::new(Mutex::new(Capture::default()));
        let shared = capture.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                shared.lock().unwrap().connections += 1;
                tokio::spawn(serve(client, upstream, mode.clone(), shared.clone()));
            }
        });
        Proxy {
            addr,
            capture,
            _runtime: runtime,
        }
    }

    /// Everything recorded so far.
    pub fn captured(&self) -> Capture {
        self.capture.lock().unwrap().clone()
    }
}

async fn serve(client: TcpStream, upstream: SocketAddr, mode: Mode, capture: Arc<Mutex<Capture>>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    match mode {
        Mode::Record => relay(client, server, capture).await,
        Mode::Mitm {
            acceptor,
            upstream_tls,
        } => {
            let Ok(client) = acceptor.accept(client).await else {
                return;
            };
            if upstream_tls {
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_protocol_versions(&[&rustls::version::TLS13])
                .expect("TLS 1.3")
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything))
                .with_no_client_auth();
                let name = ServerName::try_from("127.0.0.1").expect("name");
                let Ok(server) = TlsConnector::from(Arc::new(config))
                    .connect(name, server)
                    .await
                else {
                    return;
                };
                relay(client, server, capture).await;
            } else {
                relay(client, server, capture).await;
            }
        }
    }
}

/// Copies both ways until either side ends, recording.
async fn relay<C, S>(client: C, server: S, capture: Arc<Mutex<Capture>>)
where
    C: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (client_read, client_write) = tokio::io::split(client);
    let (server_read, server_write) = tokio::io::split(server);
    let up = pump(client_read, server_write, capture.clone(), true);
    let down = pump(server_read, client_write, capture, false);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn pump<R, W>(mut from: R, mut to: W, capture: Arc<Mutex<Capture>>, to_server: bool)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        {
            let mut capture = capture.lock().unwrap();
            let side = if to_server {
                &mut capture.to_server
            } else {
                &mut capture.to_client
            };
            side.extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The man in the middle trusts whatever the MCU shows.
#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a [`FaultProxy`] does to the bytes it relays (this machine's kernel has no `netem`:
/// faults are injected in user space).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fault {
    /// Relay everything.
    #[default]
    None,
    /// Drop every byte both ways, silently; the sockets stay open.
    BlackHole,
    /// Hold the client → MCU direction (bytes kept, delivered when the fault is cleared).
    StallUp,
    /// Hold the MCU → client direction.
    StallDown,
}

/// A reset planned for one connection: once `at` bytes went through it in one direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Client → MCU (else MCU → client).
    pub up: bool,
    pub at: u64,
}

#[derive(Default)]
struct FaultState {
    /// Cuts for the next connections, one each, in accept order (`None`: that one is spared).
    planned: std::collections::VecDeque<Option<Cut>>,
    /// What went through each connection, in accept order: (client → MCU, MCU → client).
    relayed: Vec<(Vec<u8>, Vec<u8>)>,
    fault: Fault,
    delay: std::time::Duration,
    jitter: std::time::Duration,
    /// Bytes per second, each direction.
    bandwidth: Option<u64>,
    /// Reset every connection once this many client → MCU bytes went through it.
    cut_up_at: Option<u64>,
    /// Bumped by [`FaultProxy::reset`] and [`FaultProxy::half_close`]: connections started
    /// before act on it.
    generation: u64,
    half_close: bool,
}

/// A TCP proxy that injects faults between real clients and a real MCU: black hole, one-way
/// stall, reset, half-close, added delay and jitter, a bandwidth cap, a cut at a byte offset.
pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<FaultState>>,
    changed: Arc<tokio::sync::Notify>,
    _runtime: tokio::runtime::Runtime,
}

impl FaultProxy {
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("proxy runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(Mutex::new(FaultState::default()));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (shared, notify) = (state.clone(), changed.clone());
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (state, changed) = (shared.clone(), notify.clone());
                let (cut, index) = {
                    let mut s = state.lock().unwrap();
                    s.relayed.push(Default::default());
                    (s.planned.pop_front().flatten(), s.relayed.len() - 1)
                };
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let link = Link { cut, index };
                    faulty_relay(client, server, state, changed, link).await;
                });
            }
        });
        FaultProxy {
            addr,
            state,
            changed,
            _runtime: runtime,
        }
    }

    fn update(&self, change: impl FnOnce(&mut FaultState)) {
        change(&mut self.state.lock().unwrap());
        self.changed.notify_waiters();
    }

    pub fn set(&self, fault: Fault) {
        self.update(|s| s.fault = fault);
    }

    /// Added one-way delay per chunk, plus up to `jitter` more (order is kept).
    pub fn set_delay(&self, delay: std::time::Duration, jitter: std::time::Duration) {
        self.update(|s| {
            s.delay = delay;
            s.jitter = jitter;
        });
    }

    /// Caps each direction at `bytes_per_second` (`None`: no cap).
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        self.update(|s| s.bandwidth = bytes_per_second);
    }

    /// Resets (RST) every connection once `n` client → MCU bytes went through it.
    pub fn cut_up_at(&self, n: Option<u64>) {
        self.update(|s| s.cut_up_at = n);
    }

    /// Plans one reset per coming connection, in accept order (`None` spares one): a cut
    /// at a chosen byte of a lesson, then of the resume that follows, and so on.
    pub fn plan_cuts(&self, cuts: impl IntoIterator<Item = Option<Cut>>) {
        self.update(|s| s.planned = cuts.into_iter().collect());
    }

    /// What went through each connection so far: (client → MCU, MCU → client) bytes.
    pub fn relayed(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.state.lock().unwrap().relayed.clone()
    }

    /// Resets every open connection now (both sides see a reset).
    pub fn reset(&self) {
        self.update(|s| {
            s.generation += 1;
            s.half_close = false;
        });
    }

    /// Closes the MCU → client direction of every open connection (the client reads EOF
    /// without a `Bye`), the other direction staying open.
    pub fn half_close(&self) {
        self.update(|s| {
            s.generation += 1;
            s.half_close = true;
        });
    }
}

/// One relayed connection: its planned cut and its place in the record.
#[derive(Clone, Copy)]
struct Link {
    cut: Option<Cut>,
    index: usize,
}

async fn faulty_relay(
    client: TcpStream,
    server: TcpStream,
    state: Arc<Mutex<FaultState>>,
    changed: Arc<tokio::sync::Notify>,
    link: Link,
) {
    use std::os::fd::AsRawFd;
    let born = state.lock().unwrap().generation;
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let fds = [client.as_raw_fd(), server.as_raw_fd()];
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = faulty_pump(
        client_read,
        server_write,
        true,
        born,
        &state,
        &changed,
        link,
    );
    let down = faulty_pump(
        server_read,
        client_write,
        false,
        born,
        &state,
        &changed,
        link,
    );
    tokio::pin!(up, down);
    let (reset, up_ended) = tokio::select! {
        reset = &mut up => (reset, true),
        reset = &mut down => (reset, false),
    };
    if reset {
        // SO_LINGER 0 on both sockets while the other pump still owns halves of both (the
        // descriptors are open): dropping it closes them with RST, each peer sees a reset.
        for fd in fds {
            let _ = linger_zero(fd);
        }
        return;
    }
    // One direction ended (EOF, forwarded as a FIN): the other runs to its own end, and a
    // reset asked for meanwhile just closes it.
    let _ = if up_ended { down.await } else { up.await };
}

/// Sets SO_LINGER to 0 on `fd`, so closing it sends RST.
fn linger_zero(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a descriptor owned by a live half, and a correctly sized option value.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One direction; true when the connection is to be reset.
async fn faulty_pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    up: bool,
    born: u64,
    state: &Mutex<FaultState>,
    changed: &tokio::sync::Notify,
    link: Link,
) -> bool {
    let planned = link.cut.filter(|cut| cut.up == up).map(|cut| cut.at);
    let mut buf = vec![0u8; 16 * 1024];
    let mut forwarded = 0u64;
    let mut held: Vec<u8> = Vec::new();
    loop {
        let notified = changed.notified();
        let (fault, generation, half_close, cut) = {
            let s = state.lock().unwrap();
            (s.fault, s.generation, s.half_close, s.cut_up_at)
        };
        if generation != born {
            if !half_close {
                return true;
            }
            if !up {
                let _ = to.shutdown().await;
                // Keep reading (and dropping) what the MCU sends until the proxy is reset or
                // the MCU closes.
                loop {
                    match from.read(&mut buf).await {
                        Ok(0) | Err(_) => return false,
                        Ok(_) => {}
                    }
                }
            }
        }
        let stalled = matches!(
            (fault, up),
            (Fault::StallUp, true) | (Fault::StallDown, false)
        );
        if !stalled && !held.is_empty() {
            if to.write_all(&held).await.is_err() {
                return false;
            }
            forwarded += held.len() as u64;
            held.clear();
        }
        let n = tokio::select! {
            read = from.read(&mut buf) => match read {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown().await;
                    return false;
                }
                Ok(n) => n,
            },
            () = notified => continue,
        };
        let (fault, delay, jitter, bandwidth) = {
            let s = state.lock().unwrap();
            (s.fault, s.delay, s.jitter, s.bandwidth)
        };
        let mut chunk = &buf[..n];
        let cut = if up { cut } else { None };
        if let Some(cut) = [cut, planned].into_iter().flatten().min() {
            let room = cut.saturating_sub(forwarded) as usize;
            if room < chunk.len() {
                chunk = &chunk[..room];
                let _ = to.write_all(chunk).await;
                record(state, link, up, chunk);
                return true;
            }
        }
        match fault {
            Fault::BlackHole => continue,
            Fault::StallUp if up => {
                held.extend_from_slice(chunk);
                continue;
            }
            Fault::StallDown if !up => {
                held.extend_from_slice(chunk);
                continue;
            }
            _ => {}
        }
        let mut wait = delay;
        if !jitter.is_zero() {
            let mut byte = [0u8; 1];
            let _ = getrandom_byte(&mut byte);
            wait += jitter.mul_f64(f64::from(byte[0]) / 255.0);
        }
        if let Some(rate) = bandwidth.filter(|r| *r > 0) {
            wait += std::time::Duration::from_secs_f64(chunk.len() as f64 / rate as f64);
        }
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        if to.write_all(chunk).await.is_err() {
            return false;
        }
        record(state, link, up, chunk);
        forwarded += chunk.len() as u64;
    }
}

fn record(state: &Mutex<FaultState>, link: Link, up: bool, chunk: &[u8]) {
    let mut s = state.lock().unwrap();
    if let Some((to_server, to_client)) = s.relayed.get_mut(link.index) {
        if up {
            to_server.extend_from_slice(chunk);
        } else {
            to_client.extend_from_slice(chunk);
        }
    }
}

/// One random byte for the jitter (the test's own seed does not matter here).
fn getrandom_byte(out: &mut [u8; 1]) -> std::io::Result<()> {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")?.read_exact(out)
}

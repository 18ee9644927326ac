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

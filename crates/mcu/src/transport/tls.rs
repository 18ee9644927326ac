//! TLS 1.3 on the client port (docs/SECURITY.md): plain and TLS connections share the port,
//! told apart by their first byte, a TLS record (`0x16`, handshake) or a frame header (whose
//! length's top byte is 0: frames are at most 4 MiB).
//!
//! A TLS connection is terminated here and bridged to the ordinary connection task over a
//! socket pair, so the connection code (its direct-write fast path included) is the same for
//! both; the bridge costs TLS links one more copy. The TLS exporter of the session
//! (RFC 9266) goes to the login for channel binding.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use conference_proto::scram::{ChannelBinding, TLS_EXPORTER_LABEL, TLS_EXPORTER_LEN};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpStream, UnixStream};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsSection;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// The MCU's TLS settings, loaded.
#[derive(Clone, Default)]
pub struct TlsServer {
    acceptor: Option<TlsAcceptor>,
    /// Plain connections are refused.
    pub require: bool,
}

impl TlsServer {
    /// Loads the certificate chain and key named by the configuration (none: plain only).
    pub fn load(section: &TlsSection) -> anyhow::Result<TlsServer> {
        let acceptor = match (&section.certificate, &section.private_key) {
            (Some(cert), Some(key)) => Some(acceptor(cert, key)?),
            (None, None) => None,
            _ => anyhow::bail!("tls: certificate and private_key go together"),
        };
        if section.require && acceptor.is_none() {
            anyhow::bail!("tls.require needs a certificate and a private_key");
        }
        Ok(TlsServer {
            acceptor,
            require: section.require,
        })
    }

    pub fn enabled(&self) -> bool {
        self.acceptor.is_some()
    }
}

fn acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the certificate {}", cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad PEM in {}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("{}: no certificate in it", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the private key {}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .context("TLS 1.3 with ring")?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .context("the certificate and the key do not go together")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// What a new connection speaks.
pub enum Link {
    Plain(TcpStream),
    /// TLS, terminated: the connection task reads and writes plain frames on `socket`.
    Tls {
        socket: UnixStream,
        binding: ChannelBinding,
    },
}

/// Why a connection is closed before the login.
pub enum Refusal {
    /// The peer went away before its first byte.
    Gone,
    /// Nothing arrived within the login time: the connection still gets a `Bye`.
    Idle(TcpStream),
    /// TLS offered, no certificate configured.
    TlsUnavailable,
    /// The handshake failed.
    Handshake(String),
    /// Plain offered, TLS required: the connection still gets a `Bye`.
    PlainRefused(TcpStream),
}

/// Looks at the first byte and, for TLS, completes the handshake, by `deadline` (the login's).
pub async fn classify(
    stream: TcpStream,
    tls: &TlsServer,
    deadline: tokio::time::Instant,
) -> Result<Link, Refusal> {
    let first = tokio::time::timeout_at(deadline, async {
        let mut byte = [0u8; 1];
        stream.peek(&mut byte).await.map(|n| (n, byte[0]))
    })
    .await;
    let first = match first {
        Ok(Ok((1, byte))) => byte,
        Ok(_) => return Err(Refusal::Gone),
        Err(_) => return Err(Refusal::Idle(stream)),
    };
    if first != TLS_HANDSHAKE {
        return if tls.require {
            Err(Refusal::PlainRefused(stream))
        } else {
            Ok(Link::Plain(stream))
        };
    }
    let Some(acceptor) = &tls.acceptor else {
        return Err(Refusal::TlsUnavailable);
    };
    let accepted = tokio::time::timeout_at(deadline, acceptor.accept(stream))
        .await
        .map_err(|_| Refusal::Handshake("timed out".into()))?
        .map_err(|err| Refusal::Handshake(err.to_string()))?;
    let mut exporter = [0u8; TLS_EXPORTER_LEN];
    accepted
        .get_ref()
        .1
        .export_keying_material(&mut exporter, TLS_EXPORTER_LABEL, None)
        .map_err(|err| Refusal::Handshake(err.to_string()))?;
    let (socket, inner) = UnixStream::pair().map_err(|err| Refusal::Handshake(err.to_string()))?;
    tokio::spawn(bridge(accepted, inner));
    Ok(Link::Tls {
        socket,
        binding: ChannelBinding::TlsExporter(exporter),
    })
}

/// Moves bytes between the TLS session and the connection task until either side ends.
async fn bridge(mut tls: tokio_rustls::server::TlsStream<TcpStream>, mut inner: UnixStream) {
    if let Err(err) = tokio::io::copy_bidirectional(&mut tls, &mut inner).await {
        tracing::debug!("TLS bridge ended: {err}");
    }
}

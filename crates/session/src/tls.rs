//! TLS 1.3 to the MCU (docs/SECURITY.md), configured without any change to the firmware:
//! `CONFERENCE_SDK_TLS=off|prefer|require` (default `prefer`), trust from
//! `CONFERENCE_SDK_TLS_CA` (a PEM file) or `CONFERENCE_SDK_TLS_PIN` (SHA-256 of the server
//! certificate's SubjectPublicKeyInfo, hex or base64), or the same through
//! `conference_set_tls()`.
//!
//! Without a CA or a pin the certificate is not checked: the SCRAM login binds itself to this
//! TLS session (`tls-exporter`), so a man in the middle with its own certificate fails the
//! login instead of learning anything. With a CA or a pin the certificate must pass, and
//! `prefer` does not fall back to a plain link (a stripped TLS would otherwise skip the check).

use std::path::PathBuf;
use std::sync::Arc;

use conference_proto::ErrorCode;
use conference_proto::scram::{TLS_EXPORTER_LABEL, TLS_EXPORTER_LEN};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

mod der;

/// Whether the link to the MCU uses TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP only.
    Off,
    /// TLS when the MCU offers it, else plain (unless a CA or pin is set).
    #[default]
    Prefer,
    /// TLS or nothing (`retCode_OpNotSupport` when the MCU has none).
    Require,
}

/// What `connect_MCU` uses for the link.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: TlsMode,
    /// Trust anchors (PEM).
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the certificate's SubjectPublicKeyInfo.
    pub pin: Option<[u8; 32]>,
}

impl TlsSettings {
    /// From the environment; a value that does not parse is an error, not a silent default
    /// (a typo in `require` must not downgrade the link).
    pub fn from_env() -> Result<TlsSettings, ErrorCode> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mode = match var("CONFERENCE_SDK_TLS") {
            None => TlsMode::Prefer,
            Some(value) => parse_mode(&value).ok_or_else(|| {
                tracing::error!(value, "CONFERENCE_SDK_TLS must be off, prefer or require");
                ErrorCode::ParamErr
            })?,
        };
        let pin = match var("CONFERENCE_SDK_TLS_PIN") {
            None => None,
            Some(value) => Some(parse_pin(&value).ok_or_else(|| {
                tracing::error!("CONFERENCE_SDK_TLS_PIN is not a SHA-256 (64 hex or 44 base64)");
                ErrorCode::ParamErr
            })?),
        };
        Ok(TlsSettings {
            mode,
            ca_file: var("CONFERENCE_SDK_TLS_CA").map(PathBuf::from),
            pin,
        })
    }

    /// A CA or a pin is configured: the certificate is checked and TLS is required.
    pub fn verifies(&self) -> bool {
        self.ca_file.is_some() || self.pin.is_some()
    }
}

/// Settings from [`set_tls`], which win over the environment.
static OVERRIDE: parking_lot::Mutex<Option<TlsSettings>> = parking_lot::Mutex::new(None);

/// Sets (or with `None` clears) the TLS settings of every later `connect_MCU` in this
/// process, after checking they can be used (the CA file must hold a certificate).
pub fn set_tls(settings: Option<TlsSettings>) -> Result<(), ErrorCode> {
    if let Some(settings) = &settings {
        client_config(settings)?;
    }
    *OVERRIDE.lock() = settings;
    Ok(())
}

impl TlsSettings {
    /// What the next connection uses: [`set_tls`]'s settings, else the environment's.
    pub fn effective() -> Result<TlsSettings, ErrorCode> {
        match OVERRIDE.lock().clone() {
            Some(settings) => Ok(settings),
            None => TlsSettings::from_env(),
        }
    }
}

pub fn parse_mode(value: &str) -> Option<TlsMode> {
    match value.trim().to_ascii_lowercase().as_str() {
        "off" => Some(TlsMode::Off),
        "prefer" => Some(TlsMode::Prefer),
        "require" => Some(TlsMode::Require),
        _ => None,
    }
}

/// A SHA-256 as 64 hex digits (colons allowed) or base64 (with or without a `sha256//`,
/// `sha256/`, `sha256:` or `pin-sha256=` prefix).
pub fn parse_pin(value: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let value = value.trim();
    let hex: String = value.chars().filter(|c| *c != ':').collect();
    if hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        return Some(out);
    }
    let b64 = ["sha256//", "sha256/", "sha256:", "pin-sha256="]
        .iter()
        .find_map(|prefix| value.strip_prefix(prefix))
        .unwrap_or(value)
        .trim_matches('"');
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .ok()?
        .try_into()
        .ok()
}

/// The pin of a DER certificate: SHA-256 of its SubjectPublicKeyInfo.
pub fn pin_of(certificate: &[u8]) -> Option<[u8; 32]> {
    let spki = der::subject_public_key_info(certificate)?;
    Some(Sha256::digest(spki).into())
}

/// A TLS session to the MCU and its exporter for channel binding.
pub(crate) struct Established {
    pub stream: TlsStream<TcpStream>,
    pub exporter: [u8; TLS_EXPORTER_LEN],
}

/// Why the TLS handshake failed.
pub(crate) enum TlsFailure {
    /// The MCU does not speak TLS (closed, reset, or answered with something else).
    NotOffered,
    /// It does, and its certificate was refused: the code `connect_MCU` returns.
    Refused(ErrorCode),
}

/// The TLS handshake over `tcp` to `host`.
pub(crate) async fn handshake(
    tcp: TcpStream,
    host: &str,
    settings: &TlsSettings,
) -> Result<Established, TlsFailure> {
    let config = client_config(settings).map_err(TlsFailure::Refused)?;
    let literal = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let name = ServerName::try_from(literal.to_string())
        .map_err(|_| TlsFailure::Refused(ErrorCode::AddrErr))?;
    let stream = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|err| classify(&err))?;
    let mut exporter = [0u8; TLS_EXPORTER_LEN];
    stream
        .get_ref()
        .1
        .export_keying_material(&mut exporter, TLS_EXPORTER_LABEL, None)
        .map_err(|_| TlsFailure::Refused(ErrorCode::ErrorAuthFailed))?;
    Ok(Established { stream, exporter })
}

fn classify(err: &std::io::Error) -> TlsFailure {
    let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    else {
        tracing::info!(%err, "TLS handshake failed: the MCU does not offer TLS");
        return TlsFailure::NotOffered;
    };
    tracing::warn!(%tls, "TLS handshake failed");
    match tls {
        rustls::Error::InvalidCertificate(cert) => TlsFailure::Refused(match cert {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => ErrorCode::VerifiFailureErr,
            CertificateError::ApplicationVerificationFailure => ErrorCode::IDEnrityErr,
            _ => ErrorCode::ErrorAuthFailed,
        }),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => TlsFailure::NotOffered,
        _ => TlsFailure::Refused(ErrorCode::ErrorAuthFailed),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(settings: &TlsSettings) -> Result<rustls::ClientConfig, ErrorCode> {
    let provider = provider();
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = if let Some(pin) = settings.pin {
        Arc::new(PinVerifier { pin, algorithms })
    } else if let Some(path) = &settings.ca_file {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<_, _>>())
            .map_err(|err| {
                tracing::error!(path = %path.display(), %err, "cannot read the TLS CA file");
                ErrorCode::ParamErr
            })?;
        let mut roots = RootCertStore::empty();
        for cert in &certs {
            roots.add(cert.clone()).map_err(|_| ErrorCode::ParamErr)?;
        }
        if roots.is_empty() {
            tracing::error!(path = %path.display(), "no certificate in the TLS CA file");
            return Err(ErrorCode::ParamErr);
        }
        let chain = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|_| ErrorCode::ParamErr)?;
        Arc::new(CaVerifier {
            chain,
            trusted: certs,
            algorithms,
        })
    } else {
        Arc::new(Unverified { algorithms })
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|_| ErrorCode::Exception)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// No certificate check: the login's channel binding stands in for it.
#[derive(Debug)]
struct Unverified {
    algorithms: WebPkiSupportedAlgorithms,
}

/// The certificate's key must hash to the pin, and the certificate must be within its
/// validity period.
#[derive(Debug)]
struct PinVerifier {
    pin: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
}

macro_rules! signatures {
    () => {
        fn verify_tls12_signature(
            &self,
            _message: &[u8],
            _cert: &CertificateDer<'_>,
            _dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            // TLS 1.3 only.
            Err(rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::Tls12NotOffered,
            ))
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algorithms.supported_schemes()
        }
    };
}

/// The certificate chains to the CA file's certificates and names the host (webpki), or is
/// itself one of them: a self-signed MCU certificate given as its own CA is trusted as that
/// exact certificate (validity dates checked, name not).
#[derive(Debug)]
struct CaVerifier {
    chain: Arc<WebPkiServerVerifier>,
    trusted: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .trusted
            .iter()
            .any(|t| t.as_ref() == end_entity.as_ref())
        {
            check_validity(end_entity, now)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.chain
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    signatures!();
}

/// The certificate's notBefore ≤ now ≤ notAfter.
fn check_validity(certificate: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let (not_before, not_after) = der::validity(certificate).ok_or(
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
    )?;
    let now = now.as_secs() as i64;
    if now < not_before {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > not_after {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

impl ServerCertVerifier for Unverified {
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

    signatures!();
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
        let pin = pin_of(end_entity).ok_or_else(bad)?;
        if pin != self.pin {
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        check_validity(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
    }

    signatures!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_pins_parse_strictly() {
        assert_eq!(parse_mode("Require"), Some(TlsMode::Require));
        assert_eq!(parse_mode(" off "), Some(TlsMode::Off));
        assert_eq!(parse_mode("prefer"), Some(TlsMode::Prefer));
        assert_eq!(parse_mode("requir"), None);
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let pin = parse_pin(hex).unwrap();
        assert_eq!(pin[1], 0x11);
        assert_eq!(parse_pin(&hex.to_uppercase()), Some(pin));
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(pin);
        assert_eq!(parse_pin(&b64), Some(pin));
        for prefixed in [
            format!("sha256//{b64}"),
            format!("sha256/{b64}"),
            format!("pin-sha256=\"{b64}\""),
        ] {
            assert_eq!(parse_pin(&prefixed), Some(pin), "{prefixed}");
        }
        assert_eq!(parse_pin(&hex[..62]), None);
        assert_eq!(parse_pin("not a pin"), None);
    }
}

//! Certificates for the TLS tests, written as PEM files into a scratch directory: a test CA,
//! the MCU's certificate signed by it (for 127.0.0.1 and localhost), the same key in an
//! expired certificate, and an impostor's self-signed certificate (a man in the middle).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, SanType, date_time_ymd,
};
use sha2::{Digest, Sha256};

/// A certificate and its key, as files.
#[derive(Clone, Debug)]
pub struct CertFiles {
    pub certificate: PathBuf,
    pub private_key: PathBuf,
    /// SHA-256 of the SubjectPublicKeyInfo, hex: what `CONFERENCE_SDK_TLS_PIN` takes.
    pub pin: String,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

impl CertFiles {
    /// The `[tls]` section serving this certificate.
    pub fn tls_section(&self, require: bool) -> String {
        format!(
            "[tls]\ncertificate = {:?}\nprivate_key = {:?}\nrequire = {require}\n",
            self.certificate, self.private_key
        )
    }
}

pub struct TestPki {
    /// The CA's certificate (trust anchor for `CONFERENCE_SDK_TLS_CA`).
    pub ca: PathBuf,
    /// The MCU's certificate, signed by the CA.
    pub server: CertFiles,
    /// The MCU's key in a certificate that expired in 2020 (same pin as `server`).
    pub expired: CertFiles,
    /// A self-signed certificate with another key.
    pub impostor: CertFiles,
}

impl TestPki {
    /// Generates everything into `dir` (created).
    pub fn generate(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("create the PKI directory");
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "conference test CA");
        let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
        let ca_path = dir.join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).expect("write the CA");

        let server_key = KeyPair::generate().expect("server key");
        let server = leaf(&server_key, &ca, &ca_key, None);
        let expired = leaf(
            &server_key,
            &ca,
            &ca_key,
            Some((date_time_ymd(2019, 1, 1), date_time_ymd(2020, 1, 1))),
        );
        let impostor_key = KeyPair::generate().expect("impostor key");
        let impostor = params().self_signed(&impostor_key).expect("impostor");
        TestPki {
            ca: ca_path,
            server: write(dir, "server", &server, &server_key),
            expired: write(dir, "expired", &expired, &server_key),
            impostor: write(dir, "impostor", &impostor, &impostor_key),
        }
    }
}

fn params() -> CertificateParams {
    let mut params =
        CertificateParams::new(vec!["localhost".to_string()]).expect("certificate params");
    params
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    params
        .distinguished_name
        .push(DnType::CommonName, "conference-mcu");
    params
}

fn leaf(
    key: &KeyPair,
    ca: &Certificate,
    ca_key: &KeyPair,
    validity: Option<(time::OffsetDateTime, time::OffsetDateTime)>,
) -> Certificate {
    let mut params = params();
    if let Some((not_before, not_after)) = validity {
        params.not_before = not_before;
        params.not_after = not_after;
    }
    params
        .signed_by(key, ca, ca_key)
        .expect("sign the certificate")
}

fn write(dir: &Path, name: &str, cert: &Certificate, key: &KeyPair) -> CertFiles {
    let certificate = dir.join(format!("{name}.pem"));
    let private_key = dir.join(format!("{name}.key"));
    std::fs::write(&certificate, cert.pem()).expect("write the certificate");
    std::fs::write(&private_key, key.serialize_pem()).expect("write the key");
    let pin = Sha256::digest(key.public_key_der())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    CertFiles {
        certificate,
        private_key,
        pin,
        der: cert.der().to_vec(),
    }
}

//! SCRAM-SHA-256 (RFC 5802, RFC 7677) for the login, without I/O: the client side (SDK,
//! testkit, load generator) and the server side (MCU) of the two messages each way.
//!
//! Neither the password nor anything replayable crosses the wire: the client proves it knows
//! the salted password over nonces from both sides; the MCU stores only `StoredKey` and
//! `ServerKey` ([`Verifier`]), which verify a proof but cannot make one. On a TLS link both
//! sides bind the exchange to the TLS session (`tls-exporter`, RFC 9266): a man in the middle
//! that terminates TLS with its own certificate has a different exporter and the proof fails.
//!
//! Usernames are escaped (`=2C`, `=3D`) but not SASLprep-normalised; passwords are used as
//! their UTF-8 bytes (docs/SECURITY.md).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The mechanism name, as in the SASL registry.
pub const MECHANISM: &str = "SCRAM-SHA-256";
/// RFC 7677's minimum iteration count; what the demo and the tests use.
pub const MIN_ITERATIONS: u32 = 4096;
/// Iterations of a new verifier from `conference-mcu hash-password`.
pub const DEFAULT_ITERATIONS: u32 = 32_768;
/// Largest iteration count a client accepts (a hostile MCU must not make it spin for minutes).
pub const MAX_ITERATIONS: u32 = 1_000_000;
/// Length of the TLS exporter used for channel binding (RFC 9266).
pub const TLS_EXPORTER_LEN: usize = 32;
/// The exporter label of RFC 9266.
pub const TLS_EXPORTER_LABEL: &[u8] = b"EXPORTER-Channel-Binding";

const NONCE_BYTES: usize = 18;
const SALT_BYTES: usize = 16;

/// What went wrong in an exchange. Every variant ends the login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed SCRAM message")]
    Malformed,
    #[error("the server's nonce does not extend the client's")]
    NonceMismatch,
    #[error("iteration count out of range")]
    Iterations,
    #[error("channel binding does not match this link")]
    ChannelBinding,
    #[error("the proof does not verify")]
    BadProof,
    #[error("the server's signature does not verify: it does not hold this account")]
    BadServerSignature,
    #[error("the server refused: {0}")]
    ServerError(&'static str),
}

/// The channel a login runs over, as both sides see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelBinding {
    /// A plain TCP link: gs2 flag `n`.
    None,
    /// A TLS link: gs2 `p=tls-exporter` with the link's exporter value.
    TlsExporter([u8; TLS_EXPORTER_LEN]),
}

impl ChannelBinding {
    fn gs2_header(&self) -> &'static str {
        match self {
            ChannelBinding::None => "n,,",
            ChannelBinding::TlsExporter(_) => "p=tls-exporter,,",
        }
    }

    /// The `c=` attribute's value: gs2 header, then the binding data.
    fn attribute(&self) -> String {
        let mut data = self.gs2_header().as_bytes().to_vec();
        if let ChannelBinding::TlsExporter(exporter) = self {
            data.extend_from_slice(exporter);
        }
        B64.encode(data)
    }
}

/// What the MCU stores for an account: enough to check a proof, not to make one.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: [u8; 32],
    pub server_key: [u8; 32],
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for `password` with a fresh random salt.
    pub fn generate(password: &str, iterations: u32) -> Verifier {
        let mut salt = vec![0u8; SALT_BYTES];
        fill_random(&mut salt);
        Verifier::with_salt(password, &salt, iterations)
    }

    pub fn with_salt(password: &str, salt: &[u8], iterations: u32) -> Verifier {
        let salted = salted_password(password, salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        Verifier {
            salt: salt.to_vec(),
            iterations,
            stored_key: Sha256::digest(client_key).into(),
            server_key: hmac(&salted, b"Server Key"),
        }
    }

    /// PostgreSQL's text form: `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn encode(&self) -> String {
        format!(
            "{MECHANISM}${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(self.stored_key),
            B64.encode(self.server_key)
        )
    }

    /// The text form back; `None` when it is not one.
    pub fn parse(text: &str) -> Option<Verifier> {
        let rest = text.strip_prefix(MECHANISM)?.strip_prefix('$')?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iterations.parse().ok()?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return None;
        }
        Some(Verifier {
            salt: B64.decode(salt).ok().filter(|s| !s.is_empty())?,
            iterations,
            stored_key: B64.decode(stored).ok()?.try_into().ok()?,
            server_key: B64.decode(server).ok()?.try_into().ok()?,
        })
    }
}

/// The client after its first message, waiting for the server's.
pub struct ClientFirst {
    binding: ChannelBinding,
    nonce: String,
    bare: String,
}

/// The client after its final message, waiting for the server's signature.
pub struct ClientFinal {
    expected_signature: [u8; 32],
    session_key: [u8; 32],
}

impl ClientFirst {
    /// Starts a login as `username` over `binding`; returns the client-first-message.
    pub fn start(username: &str, binding: ChannelBinding) -> (ClientFirst, String) {
        ClientFirst::start_with_nonce(username, binding, &random_nonce())
    }

    pub fn start_with_nonce(
        username: &str,
        binding: ChannelBinding,
        nonce: &str,
    ) -> (ClientFirst, String) {
        let bare = format!("n={},r={nonce}", escape_username(username));
        let message = format!("{}{bare}", binding.gs2_header());
        let state = ClientFirst {
            binding,
            nonce: nonce.to_string(),
            bare,
        };
        (state, message)
    }

    /// The server-first-message in, the client-final-message out.
    pub fn finish(
        self,
        password: &str,
        server_first: &str,
    ) -> Result<(ClientFinal, String), ScramError> {
        let attrs = Attributes::parse(server_first)?;
        if let Some(error) = attrs.get('e') {
            return Err(ScramError::ServerError(server_error(error)));
        }
        let nonce = attrs.require('r')?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::NonceMismatch);
        }
        let salt = B64
            .decode(attrs.require('s')?)
            .map_err(|_| ScramError::Malformed)?;
        let iterations: u32 = attrs
            .require('i')?
            .parse()
            .map_err(|_| ScramError::Malformed)?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::Iterations);
        }
        let without_proof = format!("c={},r={nonce}", self.binding.attribute());
        let auth_message = format!("{},{server_first},{without_proof}", self.bare);
        let salted = salted_password(password, &salt, iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac(&salted, b"Server Key");
        let state = ClientFinal {
            expected_signature: hmac(&server_key, auth_message.as_bytes()),
            session_key: session_key(&stored_key, &auth_message),
        };
        Ok((state, format!("{without_proof},p={}", B64.encode(proof))))
    }
}

impl ClientFinal {
    /// Checks the server-final-message: the MCU holds this account's verifier.
    pub fn verify(&self, server_final: &str) -> Result<(), ScramError> {
        let attrs = Attributes::parse(server_final)?;
        if let Some(error) = attrs.get('e') {
            return Err(ScramError::ServerError(server_error(error)));
        }
        let signature = B64
            .decode(attrs.require('v')?)
            .map_err(|_| ScramError::Malformed)?;
        if bool::from(signature.ct_eq(&self.expected_signature)) {
            Ok(())
        } else {
            Err(ScramError::BadServerSignature)
        }
    }

    /// The key this login shares with the MCU (never sent): it proves a resume.
    pub fn session_key(&self) -> [u8; 32] {
        self.session_key
    }
}

/// A key both ends of one SCRAM exchange can compute and an eavesdropper cannot: keyed by
/// StoredKey (which never travels), over this exchange's AuthMessage (its nonces).
fn session_key(stored_key: &[u8; 32], auth_message: &str) -> [u8; 32] {
    let mut data = b"conference resume key,".to_vec();
    data.extend_from_slice(auth_message.as_bytes());
    hmac(stored_key, &data)
}

/// The server's view of a client-first-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub username: String,
    client_nonce: String,
    bare: String,
    gs2_header: String,
}

impl ClientHello {
    /// Parses a client-first-message. A gs2 header other than `n` or `p=tls-exporter` is
    /// malformed (no authzid, no other binding types).
    pub fn parse(message: &str) -> Result<ClientHello, ScramError> {
        let (gs2_header, bare) = if let Some(bare) = message.strip_prefix("n,,") {
            ("n,,", bare)
        } else if let Some(bare) = message.strip_prefix("p=tls-exporter,,") {
            ("p=tls-exporter,,", bare)
        } else {
            return Err(ScramError::Malformed);
        };
        let attrs = Attributes::parse(bare)?;
        if attrs.get('m').is_some() {
            return Err(ScramError::Malformed);
        }
        let username = unescape_username(attrs.require('n')?)?;
        let client_nonce = attrs.require('r')?.to_string();
        if client_nonce.is_empty() {
            return Err(ScramError::Malformed);
        }
        Ok(ClientHello {
            username,
            client_nonce,
            bare: bare.to_string(),
            gs2_header: gs2_header.to_string(),
        })
    }

    /// Whether the client bound the exchange to a TLS link.
    pub fn binds_tls(&self) -> bool {
        self.gs2_header.starts_with("p=")
    }
}

/// The server after its first message, waiting for the client's proof.
pub struct ServerFirst {
    hello: ClientHello,
    nonce: String,
    server_first: String,
    verifier: Verifier,
}

impl ServerFirst {
    /// Answers `hello` with `verifier`'s salt and count; returns the server-first-message.
    /// For an unknown user pass a [`Verifier::decoy`]: the exchange looks the same and fails
    /// at the proof.
    pub fn start(hello: ClientHello, verifier: Verifier) -> (ServerFirst, String) {
        ServerFirst::start_with_nonce(hello, verifier, &random_nonce())
    }

    pub fn start_with_nonce(
        hello: ClientHello,
        verifier: Verifier,
        server_nonce: &str,
    ) -> (ServerFirst, String) {
        let nonce = format!("{}{server_nonce}", hello.client_nonce);
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        let state = ServerFirst {
            hello,
            nonce,
            server_first: server_first.clone(),
            verifier,
        };
        (state, server_first)
    }

    /// Checks the client-final-message against `binding`, the link this server sees. On
    /// success returns the server-final-message.
    pub fn finish(self, client_final: &str, binding: ChannelBinding) -> Result<String, ScramError> {
        self.finish_with_key(client_final, binding)
            .map(|(server_final, _)| server_final)
    }

    /// [`finish`](Self::finish), with the session key the client derives too (resume).
    pub fn finish_with_key(
        self,
        client_final: &str,
        binding: ChannelBinding,
    ) -> Result<(String, [u8; 32]), ScramError> {
        let (without_proof, proof) = client_final
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed)?;
        let attrs = Attributes::parse(without_proof)?;
        let expected = ChannelBinding::attribute_for(&self.hello.gs2_header, binding)
            .ok_or(ScramError::ChannelBinding)?;
        if attrs.require('c')? != expected {
            return Err(ScramError::ChannelBinding);
        }
        if attrs.require('r')? != self.nonce {
            return Err(ScramError::NonceMismatch);
        }
        let proof = B64.decode(proof).map_err(|_| ScramError::Malformed)?;
        if proof.len() != 32 {
            return Err(ScramError::Malformed);
        }
        let auth_message = format!("{},{},{without_proof}", self.hello.bare, self.server_first);
        let signature = hmac(&self.verifier.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(signature).map(|(p, s)| p ^ s).collect();
        let stored: [u8; 32] = Sha256::digest(&client_key).into();
        if !bool::from(stored.ct_eq(&self.verifier.stored_key)) {
            return Err(ScramError::BadProof);
        }
        let server_signature = hmac(&self.verifier.server_key, auth_message.as_bytes());
        let key = session_key(&self.verifier.stored_key, &auth_message);
        Ok((format!("v={}", B64.encode(server_signature)), key))
    }
}

impl ChannelBinding {
    /// The `c=` a client must send given its gs2 header, when the server sees `binding`; `None`
    /// when the header does not fit the link (a TLS binding claimed over plain TCP, or a
    /// client that does not bind over TLS: both a man in the middle's doing).
    fn attribute_for(gs2_header: &str, binding: ChannelBinding) -> Option<String> {
        match (gs2_header, binding) {
            ("n,,", ChannelBinding::None) => Some(ChannelBinding::None.attribute()),
            ("p=tls-exporter,,", ChannelBinding::TlsExporter(_)) => Some(binding.attribute()),
            _ => None,
        }
    }
}

impl Verifier {
    /// A verifier for an account that does not exist, the same for the same name and
    /// `secret` (so repeated probes see one salt), matching nothing.
    pub fn decoy(username: &str, secret: &[u8; 32], iterations: u32) -> Verifier {
        let salt = hmac(secret, username.as_bytes());
        let mut stored_key = [0u8; 32];
        let mut server_key = [0u8; 32];
        fill_random(&mut stored_key);
        fill_random(&mut server_key);
        Verifier {
            salt: salt[..SALT_BYTES].to_vec(),
            iterations,
            stored_key,
            server_key,
        }
    }
}

/// Fills `out` from the operating system's generator.
pub fn fill_random(out: &mut [u8]) {
    getrandom::fill(out).expect("the operating system's random generator failed");
}

pub(crate) fn random_nonce() -> String {
    let mut bytes = [0u8; NONCE_BYTES];
    fill_random(&mut bytes);
    B64.encode(bytes)
}

/// RFC 5802's SaltedPassword (PBKDF2-HMAC-SHA-256): what a client derives from the password.
pub fn salted_password(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    out
}

pub(crate) fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn escape_username(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

fn unescape_username(name: &str) -> Result<String, ScramError> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('=') {
        out.push_str(&rest[..at]);
        match rest.get(at..at + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(ScramError::Malformed),
        }
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

fn server_error(value: &str) -> &'static str {
    match value {
        "invalid-proof" => "invalid-proof",
        "channel-bindings-dont-match" => "channel-bindings-dont-match",
        _ => "other-error",
    }
}

/// `k=v` pairs separated by commas, in order.
struct Attributes<'a>(Vec<(char, &'a str)>);

impl<'a> Attributes<'a> {
    fn parse(message: &'a str) -> Result<Self, ScramError> {
        let mut out = Vec::new();
        for part in message.split(',') {
            let mut chars = part.chars();
            let key = chars.next().ok_or(ScramError::Malformed)?;
            if !key.is_ascii_alphabetic() || chars.next() != Some('=') {
                return Err(ScramError::Malformed);
            }
            out.push((key, &part[2..]));
        }
        Ok(Attributes(out))
    }

    fn get(&self, key: char) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn require(&self, key: char) -> Result<&'a str, ScramError> {
        self.get(key).ok_or(ScramError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3.
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_NONCE: &str = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const SALT: &str = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const CLIENT_FIRST: &str = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    fn rfc_verifier() -> Verifier {
        Verifier::with_salt("pencil", &B64.decode(SALT).unwrap(), 4096)
    }

    #[test]
    fn rfc7677_client_side() {
        let (client, first) =
            ClientFirst::start_with_nonce("user", ChannelBinding::None, CLIENT_NONCE);
        assert_eq!(first, CLIENT_FIRST);
        let (client, last) = client.finish("pencil", SERVER_FIRST).unwrap();
        assert_eq!(last, CLIENT_FINAL);
        client.verify(SERVER_FINAL).unwrap();
        assert_eq!(
            client.verify("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::BadServerSignature)
        );
    }

    #[test]
    fn rfc7677_server_side() {
        let hello = ClientHello::parse(CLIENT_FIRST).unwrap();
        assert_eq!(hello.username, "user");
        assert!(!hello.binds_tls());
        let (server, first) = ServerFirst::start_with_nonce(hello, rfc_verifier(), SERVER_NONCE);
        assert_eq!(first, SERVER_FIRST);
        assert_eq!(
            server.finish(CLIENT_FINAL, ChannelBinding::None).unwrap(),
            SERVER_FINAL
        );
    }

    #[test]
    fn verifier_text_round_trips_and_holds_no_password_equivalent() {
        let verifier = rfc_verifier();
        let text = verifier.encode();
        assert!(text.starts_with("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"));
        assert_eq!(Verifier::parse(&text), Some(verifier.clone()));
        for bad in [
            "",
            "SCRAM-SHA-256$0:AAAA$AAAA:AAAA",
            "SCRAM-SHA-256$4096:$x:y",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA",
            &text[..text.len() - 4],
        ] {
            assert_eq!(Verifier::parse(bad), None, "{bad}");
        }
        // Knowing StoredKey and ServerKey, a proof still needs ClientKey: a "proof" made
        // from the stored key alone is refused.
        let hello = ClientHello::parse(CLIENT_FIRST).unwrap();
        let (server, _) = ServerFirst::start_with_nonce(hello, verifier.clone(), SERVER_NONCE);
        let forged = format!(
            "c=biws,r={CLIENT_NONCE}{SERVER_NONCE},p={}",
            B64.encode(verifier.stored_key)
        );
        assert_eq!(
            server.finish(&forged, ChannelBinding::None),
            Err(ScramError::BadProof)
        );
    }

    fn exchange(
        password: &str,
        verifier: Verifier,
        client_link: ChannelBinding,
        server_link: ChannelBinding,
    ) -> Result<(), ScramError> {
        let (client, first) = ClientFirst::start("name,with=odd", client_link);
        let hello = ClientHello::parse(&first)?;
        assert_eq!(hello.username, "name,with=odd");
        let (server, server_first) = ServerFirst::start(hello, verifier);
        let (client, last) = client.finish(password, &server_first)?;
        let server_final = server.finish(&last, server_link)?;
        client.verify(&server_final)
    }

    #[test]
    fn channel_binding_catches_a_man_in_the_middle() {
        let verifier = Verifier::generate("secret", MIN_ITERATIONS);
        let tls_a = ChannelBinding::TlsExporter([1; 32]);
        let tls_b = ChannelBinding::TlsExporter([2; 32]);
        assert_eq!(exchange("secret", verifier.clone(), tls_a, tls_a), Ok(()));
        assert_eq!(
            exchange(
                "secret",
                verifier.clone(),
                ChannelBinding::None,
                ChannelBinding::None
            ),
            Ok(())
        );
        // Two TLS sessions (client ↔ proxy, proxy ↔ MCU), TLS stripped, TLS added.
        for (client, server) in [
            (tls_a, tls_b),
            (tls_a, ChannelBinding::None),
            (ChannelBinding::None, tls_b),
        ] {
            assert_eq!(
                exchange("secret", verifier.clone(), client, server),
                Err(ScramError::ChannelBinding)
            );
        }
        assert_eq!(
            exchange("Secret", verifier, tls_a, tls_a),
            Err(ScramError::BadProof)
        );
    }

    #[test]
    fn a_decoy_looks_stable_and_matches_nothing() {
        let secret = [7; 32];
        let a = Verifier::decoy("ghost", &secret, 4096);
        let b = Verifier::decoy("ghost", &secret, 4096);
        assert_eq!(a.salt, b.salt);
        assert_ne!(a.salt, Verifier::decoy("other", &secret, 4096).salt);
        assert_eq!(
            exchange("anything", a, ChannelBinding::None, ChannelBinding::None),
            Err(ScramError::BadProof)
        );
    }

    #[test]
    fn hostile_server_messages_are_refused() {
        let start = || ClientFirst::start_with_nonce("user", ChannelBinding::None, CLIENT_NONCE).0;
        for (message, error) in [
            ("", ScramError::Malformed),
            ("garbage", ScramError::Malformed),
            ("r=someoneelse,s=AAAA,i=4096", ScramError::NonceMismatch),
            (
                "r=rOprNGfwEbeRWgbNEkqO,s=AAAA,i=4096",
                ScramError::NonceMismatch,
            ),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=AAAA,i=0", ScramError::Iterations),
            (
                "r=rOprNGfwEbeRWgbNEkqOx,s=AAAA,i=4000000000",
                ScramError::Iterations,
            ),
            ("r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=4096", ScramError::Malformed),
            ("e=invalid-proof", ScramError::ServerError("invalid-proof")),
        ] {
            assert_eq!(
                start().finish("pencil", message).err(),
                Some(error),
                "{message}"
            );
        }
        for message in [
            "",
            "n=user",
            "y,,n=user,r=x",
            "n,a=admin,n=user,r=x",
            "n,,n=u=ZZ,r=x",
            "n,,n=user,r=",
        ] {
            assert!(ClientHello::parse(message).is_err(), "{message}");
        }
    }
}

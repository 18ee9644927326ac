//! Nothing secret on the wire (issue 13), through the real library and a real MCU: the login
//! is SCRAM-SHA-256 (no password, nothing replayable), TLS 1.3 on the same port, a man in the
//! middle refused by a pin, by a CA and, with neither, by channel binding; each certificate
//! failure with its documented code (docs/SECURITY.md). tests/c/login_app.c is the client.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use common::{C99_STRICT, c_source, cc, include_dir, link_sdk, run, scratch, shared_library};
use conference_proto::scram::{self, Verifier};
use conference_testkit::pki::TestPki;
use conference_testkit::proxy::{Capture, Proxy};
use conference_testkit::{McuProcess, TestConfig};

const USER: &str = "recorder7";
const PASSWORD: &str = "Lecture-Hall-7!";
const LEGACY_USER: &str = "oldbox";
const LEGACY_PASSWORD: &str = "Old-Box-Pass";

// ret_code_e values (docs/SECURITY.md "Codes").
const SUCCESS: i32 = 0;
const OP_NOT_SUPPORT: i32 = 92;
const IDENTITY_ERR: i32 = 94;
const USER_PASSWORD_ERR: i32 = 106;
const VERIFY_FAILURE: i32 = 0x1006;
const AUTH_FAILED: i32 = 0x10035;
const CONNECT_MCU_FAILED: i32 = 12;

fn login_app() -> PathBuf {
    let exe = scratch("security").join("login_app");
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        run(link_sdk(
            Command::new(cc())
                .args(C99_STRICT)
                .arg("-I")
                .arg(include_dir())
                .arg(c_source("login_app.c"))
                .arg("-o")
                .arg(&exe),
            &shared_library(),
        ));
    });
    exe
}

/// A fresh PKI per call (tests run in parallel: each needs its own files).
fn pki() -> TestPki {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    TestPki::generate(&scratch("security").join(format!("pki-{}-{n}", std::process::id())))
}

fn config(extra: &str) -> String {
    TestConfig::new()
        .account(USER, PASSWORD, true)
        .account(LEGACY_USER, LEGACY_PASSWORD, false)
        .legacy(LEGACY_USER)
        .room(1001, "Hall 7", USER, 8)
        .extra(extra)
        .to_toml()
}

/// How the client is told about TLS.
#[derive(Clone, Default)]
struct Client<'a> {
    /// `CONFERENCE_SDK_TLS`.
    env_mode: Option<&'a str>,
    env_ca: Option<PathBuf>,
    env_pin: Option<String>,
    /// `conference_set_tls(mode, ca, pin)` arguments.
    api: Option<(i32, Option<PathBuf>, Option<String>)>,
}

struct Outcome {
    connect: i32,
    lesson: Option<i32>,
    event: String,
    stdout: String,
}

fn login(addr: std::net::SocketAddr, user: &str, password: &str, client: &Client) -> Outcome {
    let mut command = Command::new(login_app());
    command
        .arg("127.0.0.1")
        .arg(addr.port().to_string())
        .arg(user)
        .arg(password);
    if let Some((mode, ca, pin)) = &client.api {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        command
            .arg(mode.to_string())
            .arg(text(&ca.as_ref().map(|p| p.display().to_string())))
            .arg(text(pin));
    }
    for name in [
        "CONFERENCE_SDK_TLS",
        "CONFERENCE_SDK_TLS_CA",
        "CONFERENCE_SDK_TLS_PIN",
    ] {
        command.env_remove(name);
    }
    if let Some(mode) = client.env_mode {
        command.env("CONFERENCE_SDK_TLS", mode);
    }
    if let Some(ca) = &client.env_ca {
        command.env("CONFERENCE_SDK_TLS_CA", ca);
    }
    if let Some(pin) = &client.env_pin {
        command.env("CONFERENCE_SDK_TLS_PIN", pin);
    }
    command.env("CONFERENCE_SDK_LOG", "info");
    let output = run(&mut command);
    let stdout = format!(
        "{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let value = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().parse::<i32>().expect("a code"))
    };
    Outcome {
        connect: value("connect=").unwrap_or_else(|| panic!("no connect line:\n{stdout}")),
        lesson: value("lesson="),
        event: stdout
            .lines()
            .find(|l| l.starts_with("event "))
            .unwrap_or("")
            .to_string(),
        stdout,
    }
}

fn assert_connects(outcome: &Outcome) {
    assert_eq!(outcome.connect, SUCCESS, "{}", outcome.stdout);
    assert_eq!(outcome.lesson, Some(SUCCESS), "{}", outcome.stdout);
}

fn assert_refused(outcome: &Outcome, code: i32) {
    assert_eq!(outcome.connect, code, "{}", outcome.stdout);
    assert_eq!(
        outcome.event,
        format!("event state={CONNECT_MCU_FAILED} result={code}"),
        "{}",
        outcome.stdout
    );
}

/// What must never appear on the wire for `password`: the password itself, and its salted
/// form (raw and base64), whatever the account's salt and count.
fn secrets_of(password: &str, verifier_text: Option<&str>) -> Vec<Vec<u8>> {
    let mut out = vec![password.as_bytes().to_vec()];
    if let Some(verifier) = verifier_text.and_then(Verifier::parse) {
        let salted = scram::salted_password(password, &verifier.salt, verifier.iterations);
        out.push(salted.to_vec());
        out.push(B64.encode(salted).into_bytes());
        out.push(verifier.stored_key.to_vec());
        out.push(B64.encode(verifier.stored_key).into_bytes());
        out.push(B64.encode(verifier.server_key).into_bytes());
    }
    out
}

fn assert_clean(capture: &Capture, secrets: &[Vec<u8>], what: &str) {
    assert!(
        capture.to_server.len() > 100 && capture.to_client.len() > 100,
        "{what}: the capture holds the lesson"
    );
    for secret in secrets {
        assert!(
            !capture.contains(secret),
            "{what}: a secret ({} bytes) crossed the wire",
            secret.len()
        );
    }
}

fn account_verifier(config: &str, user: &str) -> String {
    let table: toml::Table = toml::from_str(config).unwrap();
    table["account"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"].as_str() == Some(user))
        .and_then(|a| a["password_hash"].as_str())
        .unwrap()
        .to_string()
}

#[test]
fn no_password_or_reusable_secret_crosses_the_wire_plain_or_tls() {
    let pki = pki();
    let text = config(&pki.server.tls_section(false));
    let mcu = McuProcess::spawn(Some(&text));
    let secrets = secrets_of(PASSWORD, Some(&account_verifier(&text, USER)));

    // A plain link: SCRAM alone.
    let plain = Proxy::record(mcu.addr);
    let outcome = login(
        plain.addr,
        USER,
        PASSWORD,
        &Client {
            env_mode: Some("off"),
            ..Default::default()
        },
    );
    assert_connects(&outcome);
    let captured = plain.captured();
    assert_clean(&captured, &secrets, "plain link");
    assert!(
        captured.contains(b"n,,n=recorder7,r="),
        "a SCRAM login on the wire"
    );

    // Replaying that login (its Hello and Authenticate as captured) is refused: the MCU's
    // nonce is new each time.
    let replayed = replay(mcu.addr, &captured.to_server);
    assert!(
        replayed.contains(&(USER_PASSWORD_ERR as u32)),
        "the replayed proof was refused: {replayed:?}"
    );

    // TLS by default (prefer, no trust configured): encrypted and channel-bound.
    let tls = Proxy::record(mcu.addr);
    assert_connects(&login(tls.addr, USER, PASSWORD, &Client::default()));
    let captured = tls.captured();
    assert_clean(&captured, &secrets, "TLS link");
    assert_eq!(captured.to_server[0], 0x16, "a TLS handshake first");
    assert!(
        !captured.contains(b"recorder7"),
        "not even the username in clear"
    );

    // The legacy account's password goes only inside TLS: on the wire, nothing.
    let legacy = Proxy::record(mcu.addr);
    assert_connects(&login(
        legacy.addr,
        LEGACY_USER,
        LEGACY_PASSWORD,
        &Client::default(),
    ));
    assert_clean(
        &legacy.captured(),
        &secrets_of(LEGACY_PASSWORD, None),
        "legacy over TLS",
    );
}

/// Sends `captured` (a client's bytes of a whole login) again on a new connection; returns the
/// codes of the responses.
fn replay(addr: std::net::SocketAddr, captured: &[u8]) -> Vec<u32> {
    use conference_proto::frame::{decode_frame, encode_control};
    use conference_proto::message::{decode_client, decode_server};
    use conference_proto::pb::server_message::Body;
    let mut frames = bytes::BytesMut::from(captured);
    let mut login = Vec::new();
    while let Ok(Some(frame)) = decode_frame(&mut frames) {
        if let Ok((id, body)) = decode_client(&frame) {
            let is_login = matches!(
                body,
                conference_proto::pb::client_message::Body::Hello(_)
                    | conference_proto::pb::client_message::Body::Authenticate(_)
            );
            if is_login {
                login.push(encode_control(
                    &conference_proto::pb::ClientMessage::request(id, body),
                ));
            }
        }
    }
    assert_eq!(login.len(), 2, "Hello and Authenticate captured");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    for frame in &login {
        stream.write_all(frame).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        received.extend_from_slice(&chunk[..n]);
    }
    let mut buf = bytes::BytesMut::from(&received[..]);
    let mut codes = Vec::new();
    while let Ok(Some(frame)) = decode_frame(&mut buf) {
        match decode_server(&frame) {
            Ok(Body::Response(r)) => codes.push(r.code),
            Ok(Body::Bye(b)) => codes.push(b.code),
            _ => {}
        }
    }
    codes
}

#[test]
fn a_man_in_the_middle_is_refused_by_pin_by_ca_and_by_channel_binding() {
    let pki = pki();
    let text = config(&pki.server.tls_section(false));
    let mcu = McuProcess::spawn(Some(&text));
    let secrets = secrets_of(PASSWORD, Some(&account_verifier(&text, USER)));
    for upstream_tls in [true, false] {
        let mitm = Proxy::mitm(mcu.addr, &pki.impostor, upstream_tls);
        // A pin: the impostor's key is not the pinned one.
        assert_refused(
            &login(
                mitm.addr,
                USER,
                PASSWORD,
                &Client {
                    env_pin: Some(pki.server.pin.clone()),
                    ..Default::default()
                },
            ),
            IDENTITY_ERR,
        );
        // A CA: the impostor's certificate is not signed by it.
        assert_refused(
            &login(
                mitm.addr,
                USER,
                PASSWORD,
                &Client {
                    env_ca: Some(pki.ca.clone()),
                    ..Default::default()
                },
            ),
            AUTH_FAILED,
        );
        // Neither: the TLS session ends at the impostor, the login is bound to it, the MCU
        // sees another (or none) and refuses the proof; the impostor read no password.
        assert_refused(
            &login(mitm.addr, USER, PASSWORD, &Client::default()),
            USER_PASSWORD_ERR,
        );
        let seen = mitm.captured();
        assert!(
            seen.contains(b"n=recorder7"),
            "the impostor saw the plaintext login"
        );
        for secret in &secrets {
            assert!(!seen.contains(secret), "the impostor learnt a secret");
        }
    }
    // The same trust settings through conference_set_tls(), the real MCU: accepted.
    for client in [
        Client {
            api: Some((2, None, Some(pki.server.pin.clone()))),
            ..Default::default()
        },
        Client {
            api: Some((1, Some(pki.ca.clone()), None)),
            ..Default::default()
        },
        Client {
            env_mode: Some("require"),
            env_ca: Some(pki.ca.clone()),
            ..Default::default()
        },
    ] {
        assert_connects(&login(mcu.addr, USER, PASSWORD, &client));
    }
}

#[test]
fn each_certificate_and_link_failure_has_its_code() {
    let pki = pki();
    // An expired certificate (the right key): refused with a CA and with a pin.
    let expired = McuProcess::spawn(Some(&config(&pki.expired.tls_section(false))));
    for client in [
        Client {
            env_ca: Some(pki.ca.clone()),
            ..Default::default()
        },
        Client {
            env_pin: Some(pki.expired.pin.clone()),
            ..Default::default()
        },
    ] {
        assert_refused(
            &login(expired.addr, USER, PASSWORD, &client),
            VERIFY_FAILURE,
        );
    }
    // A wrong pin, through the API.
    let wrong_pin = "00".repeat(32);
    assert_refused(
        &login(
            expired.addr,
            USER,
            PASSWORD,
            &Client {
                api: Some((2, None, Some(wrong_pin))),
                ..Default::default()
            },
        ),
        IDENTITY_ERR,
    );

    // The MCU requires TLS, the recorder offers plain.
    let tls_only = McuProcess::spawn(Some(&config(&pki.server.tls_section(true))));
    assert_refused(
        &login(
            tls_only.addr,
            USER,
            PASSWORD,
            &Client {
                env_mode: Some("off"),
                ..Default::default()
            },
        ),
        OP_NOT_SUPPORT,
    );
    assert_connects(&login(tls_only.addr, USER, PASSWORD, &Client::default()));

    // The recorder requires TLS (or has a pin), the MCU has none; `prefer` falls back.
    let plain_only = McuProcess::spawn(Some(&config("")));
    for client in [
        Client {
            env_mode: Some("require"),
            ..Default::default()
        },
        Client {
            env_pin: Some(pki.server.pin.clone()),
            ..Default::default()
        },
    ] {
        assert_refused(
            &login(plain_only.addr, USER, PASSWORD, &client),
            OP_NOT_SUPPORT,
        );
    }
    assert_connects(&login(plain_only.addr, USER, PASSWORD, &Client::default()));
    // A legacy account on a plain link: refused like a wrong password.
    assert_refused(
        &login(
            plain_only.addr,
            LEGACY_USER,
            LEGACY_PASSWORD,
            &Client::default(),
        ),
        USER_PASSWORD_ERR,
    );
    assert!(
        plain_only
            .log()
            .contains("legacy argon2 account on a plain link")
    );

    // Bad settings fail before any connection.
    for (client, code) in [
        (
            Client {
                env_mode: Some("requir"),
                ..Default::default()
            },
            2,
        ),
        (
            Client {
                env_pin: Some("abc".into()),
                ..Default::default()
            },
            2,
        ),
    ] {
        assert_refused(&login(plain_only.addr, USER, PASSWORD, &client), code);
    }
    let bad_api = login(
        plain_only.addr,
        USER,
        PASSWORD,
        &Client {
            api: Some((7, None, None)),
            ..Default::default()
        },
    );
    assert!(bad_api.stdout.contains("set_tls=2"), "{}", bad_api.stdout);
    let missing_ca = login(
        plain_only.addr,
        USER,
        PASSWORD,
        &Client {
            api: Some((1, Some(PathBuf::from("/nonexistent/ca.pem")), None)),
            ..Default::default()
        },
    );
    assert!(
        missing_ca.stdout.contains("set_tls=2"),
        "{}",
        missing_ca.stdout
    );
}

#[test]
fn openssl_sees_tls_1_3_on_the_client_port() {
    let pki = pki();
    let mcu = McuProcess::spawn(Some(&config(&pki.server.tls_section(false))));
    let output = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(mcu.addr.to_string())
        .arg("-CAfile")
        .arg(&pki.ca)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("TLSv1.3"), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    // TLS 1.2 is not offered.
    let tls12 = Command::new("openssl")
        .args(["s_client", "-tls1_2", "-connect"])
        .arg(mcu.addr.to_string())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client -tls1_2");
    assert!(!tls12.status.success() || !String::from_utf8_lossy(&tls12.stdout).contains("TLSv1.2"));
}

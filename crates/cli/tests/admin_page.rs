//! The MCU's live admin page in a real browser: headless Chromium driven through WebDriver
//! (chromedriver; Debian's `chromium` and `chromium-driver`, installed when missing) against a
//! real MCU process and real SDK clients (`conference-cli` processes). The page logs in,
//! shows the teacher joining and taking the master role and class1 joining with its hand
//! raised, updates without a reload (Server-Sent Events), and a kick from the page removes
//! class1 (its client sees USER_KICKED and leaves); the MCU still stops at once with the
//! page's event stream open. A screenshot is written to the target
//! directory, and to docs/admin-page.png with CONFERENCE_UPDATE_SCREENSHOT=1.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conference_testkit::child::ChildProcess;
use conference_testkit::{McuProcess, SpawnOptions, TestConfig, hash_password_cheap};
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const WAIT: Duration = Duration::from_secs(20);

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Chromium and chromedriver from Debian, installed if missing (this test needs them).
fn ensure_browser() {
    if installed("chromium") && installed("chromedriver") {
        return;
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(["chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status();
    assert!(
        status.is_ok_and(|s| s.success()) && installed("chromedriver"),
        "this test needs Debian's chromium and chromium-driver, and installing them failed"
    );
}

/// One HTTP/1.1 request with a JSON body; the JSON answer.
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Read the head, then exactly Content-Length bytes (chromedriver keeps connections
    // open whatever the request says).
    let mut reply = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = reply.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let n = stream.read(&mut chunk).expect("read an HTTP answer");
        assert!(n > 0, "connection closed before the answer's head");
        reply.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&reply[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    match length {
        Some(length) => {
            while reply.len() < head_end + length {
                let n = stream.read(&mut chunk).expect("read an HTTP body");
                assert!(n > 0, "connection closed inside the body");
                reply.extend_from_slice(&chunk[..n]);
            }
        }
        None => {
            let _ = stream.read_to_end(&mut reply);
        }
    }
    serde_json::from_slice(&reply[head_end..]).unwrap_or(Value::Null)
}

struct Browser {
    /// Killed when the browser is dropped, after its session is deleted.
    _driver: ChildProcess,
    addr: SocketAddr,
    session: String,
}

impl Browser {
    fn start() -> Browser {
        ensure_browser();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = ChildProcess::spawn(
            "chromedriver",
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .expect("start chromedriver");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + WAIT;
        while TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "chromedriver does not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1280,720"]
            }
        }}});
        let created = http(addr, "POST", "/session", Some(&capabilities));
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_string();
        Browser {
            _driver: driver,
            addr,
            session,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        http(self.addr, method, &path, body.as_ref())["value"].clone()
    }

    fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css);
        self.call(
            "POST",
            &format!("/element/{id}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let id = self.element(css);
        self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
    }

    fn js(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Waits until `script` returns true in the page.
    fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + WAIT;
        while self.js(script) != Value::Bool(true) {
            let page = self.js("return document.body.innerText;");
            assert!(
                Instant::now() < deadline,
                "the page never showed {what}:\n{page}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn screenshot(&self) -> Vec<u8> {
        let png = self.call("GET", "/screenshot", None);
        base64_decode(png.as_str().expect("a base64 screenshot"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|c| *c != b'=' && !c.is_ascii_whitespace())
        .collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= u32::from(value(*c)) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn cli(mcu: &McuProcess, user: &str, args: &[&str]) -> ChildProcess {
    ChildProcess::spawn(
        user,
        common::cli(mcu, user)
            .arg("--json")
            .args(args)
            .stdout(Stdio::piped()),
    )
    .expect("start conference-cli")
}

fn user_row(name: &str, condition: &str) -> String {
    format!(
        "return [...document.querySelectorAll('#room-1001 tr[data-username]')]\
         .some(r => r.dataset.username === '{name}' && {condition});"
    )
}

#[test]
fn the_live_page_follows_the_room_and_kicks() {
    let mut config = TestConfig::demo().to_toml();
    config.push_str(&format!(
        "[admin]\nlisten = \"127.0.0.1:0\"\n\n[[admin.account]]\nusername = \"ops\"\npassword_hash = {:?}\n",
        hash_password_cheap("ops-secret")
    ));
    let mut mcu = McuProcess::spawn_with(SpawnOptions {
        config: Some(config),
        ..SpawnOptions::default()
    });
    let admin = mcu.admin_addr();
    let browser = Browser::start();
    browser.go(&format!("http://{admin}/admin"));
    browser.type_into("#username", "ops");
    browser.type_into("#password", "ops-secret");
    browser.click("#login-button");
    browser.wait_for(
        "return document.querySelector('#room-1001') !== null;",
        "the room",
    );
    browser.wait_for(
        "return document.querySelector('#room-1001').dataset.users === '0';",
        "an empty room",
    );

    let mut teacher = cli(
        &mcu,
        "teacher",
        &[
            "join",
            "0",
            "--master",
            "--bcast",
            "--publish",
            "--for",
            "30",
        ],
    );
    browser.wait_for(
        &user_row("teacher", "r.dataset.master === '1'"),
        "the teacher as master",
    );
    let mut class1 = cli(
        &mcu,
        "class1",
        &[
            "join",
            "0",
            "--raise-hand",
            "--pull",
            "teacher",
            "--for",
            "30",
        ],
    );
    browser.wait_for(
        &user_row("class1", "r.dataset.hand === '1'"),
        "class1's raised hand",
    );
    // The teacher's published streams (pulled by class1) show their rates.
    browser.wait_for(
        "return document.querySelector('#room-1001').innerText.includes('video_major');",
        "the teacher's stream rates",
    );

    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG screenshot");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-page.png");
    std::fs::write(&target, &png).unwrap();
    if std::env::var_os("CONFERENCE_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/admin-page.png");
        std::fs::write(docs, &png).unwrap();
    }

    // Kick class1 from the page: its row goes, and its client was told.
    let id = browser.js(
        "return [...document.querySelectorAll('#room-1001 tr[data-username]')]\
         .find(r => r.dataset.username === 'class1').id.slice(5);",
    );
    browser.click(&format!("#kick-{}", id.as_str().unwrap()));
    browser.wait_for(
        &user_row("class1", "true").replace("return [", "return !["),
        "class1 gone",
    );
    let status = class1.wait_timeout(WAIT);
    assert!(status.is_some_and(|s| s.success()), "class1: {status:?}");
    let mut out = String::new();
    class1
        .take_stdout()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("\"USER_KICKED\""), "{out}");
    teacher.kill();
    // The page's open event stream does not hold the MCU's shutdown up.
    let stopped = mcu.terminate(Duration::from_secs(10));
    assert!(
        stopped.is_some_and(|s| s.success()),
        "MCU exit: {stopped:?}"
    );
}

//! The operator's HTTP listener against the real MCU process: health, metrics following real
//! clients, the JSON API behind an admin login, and a kick through the API.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use conference_proto::message::StateId;
use conference_proto::{ErrorCode, MediaType};
use conference_testkit::client::TestClient;
use conference_testkit::{McuProcess, SpawnOptions, TestConfig, hash_password_cheap};

struct Reply {
    status: u16,
    head: String,
    body: String,
}

fn http(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect to the admin listener");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read the reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP reply");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

fn get(addr: SocketAddr, path: &str) -> Reply {
    http(addr, "GET", path, &[], "")
}

/// The value of one sample line (`name{labels}`) of a Prometheus text page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
}

fn metric(addr: SocketAddr, series: &str) -> f64 {
    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    sample(&reply.body, series).unwrap_or_else(|| panic!("no {series} in:\n{}", reply.body))
}

/// `config` plus an operator `ops` / `ops-secret`, admin listener on a free port.
fn with_admin(config: &TestConfig) -> String {
    let mut toml = config.to_toml();
    toml.push_str(&format!(
        "[admin]\nlisten = \"127.0.0.1:0\"\n\n[[admin.account]]\nusername = \"ops\"\npassword_hash = {:?}\n",
        hash_password_cheap("ops-secret")
    ));
    toml
}

/// The demo accounts plus the operator.
fn start() -> (McuProcess, SocketAddr) {
    let mcu = McuProcess::spawn_with(SpawnOptions {
        config: Some(with_admin(&TestConfig::demo())),
        binary: Some(env!("CARGO_BIN_EXE_conference-mcu").into()),
        ..SpawnOptions::default()
    });
    let admin = mcu.admin_addr();
    (mcu, admin)
}

/// Logs the operator in: (cookie header value, CSRF token).
fn admin_login(admin: SocketAddr) -> (String, String) {
    let ok = http(
        admin,
        "POST",
        "/api/login",
        &[("Content-Type", "application/json")],
        r#"{"username":"ops","password":"ops-secret"}"#,
    );
    assert_eq!(ok.status, 200, "{}", ok.body);
    let cookie = ok
        .head
        .lines()
        .find_map(|l| l.strip_prefix("Set-Cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let body: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_string())
}

/// The next event of `state`, skipping others (bounded).
fn skip_to(client: &mut TestClient, state: StateId) -> conference_proto::pb::Event {
    loop {
        let event = client
            .next_event(Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no {state:?} event"));
        if event.state == state as u32 {
            return event;
        }
    }
}

#[test]
fn health_and_metrics_follow_the_clients() {
    let (mut mcu, admin) = start();
    assert_eq!(get(admin, "/healthz").status, 200);
    assert_eq!(get(admin, "/readyz").status, 200);
    assert_eq!(get(admin, "/nothing").status, 404);

    let page = get(admin, "/metrics").body;
    for family in [
        "conference_rooms",
        "conference_connections",
        "conference_logins_accepted_total",
        "conference_media_frames_in_total",
        "conference_process_resident_memory_bytes",
        "conference_process_open_fds",
        "conference_process_cpu_seconds_total",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{page}"
        );
    }
    assert_eq!(sample(&page, "conference_rooms"), Some(1.0));
    assert_eq!(
        sample(&page, "conference_room_users{room=\"1001\"}"),
        Some(0.0)
    );
    assert!(sample(&page, "conference_process_resident_memory_bytes").unwrap() > 0.0);

    let a = enter(&mcu, "class1");
    let b = enter(&mcu, "class2");
    assert_eq!(metric(admin, "conference_room_users{room=\"1001\"}"), 2.0);
    assert_eq!(metric(admin, "conference_sessions"), 2.0);
    assert_eq!(metric(admin, "conference_logins_accepted_total"), 2.0);
    assert_eq!(
        metric(admin, "conference_signal_status_users{status=\"5\"}")
            + metric(admin, "conference_signal_status_users{status=\"4\"}")
            + metric(admin, "conference_signal_status_users{status=\"3\"}")
            + metric(admin, "conference_signal_status_users{status=\"2\"}")
            + metric(admin, "conference_signal_status_users{status=\"1\"}")
            + metric(admin, "conference_signal_status_users{status=\"0\"}"),
        2.0
    );

    assert_eq!(
        metric(
            admin,
            "conference_logins_refused_total{reason=\"password\"}"
        ),
        0.0
    );
    let mut wrong = TestClient::connect(mcu.addr);
    let refused = wrong.hello(conference_proto::PROTOCOL_VERSION, "class3", "wrong");
    assert_eq!(refused.err(), Some(code(ErrorCode::UserPasswordErr)));
    assert_eq!(
        metric(
            admin,
            "conference_logins_refused_total{reason=\"password\"}"
        ),
        1.0
    );

    drop(a);
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(admin, "conference_room_users{room=\"1001\"}") != 1.0 {
        assert!(Instant::now() < deadline, "the leaver is still counted");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(b);
    // The admin listener does not hold the shutdown up.
    let status = mcu
        .terminate(Duration::from_secs(10))
        .expect("the MCU exits");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn api_needs_a_login_and_kicks() {
    let (mcu, admin) = start();
    let mut victim = enter(&mcu, "class4");
    let mut watcher = enter(&mcu, "class5");
    watcher.drain_events(QUIET);
    victim.drain_events(QUIET);

    assert_eq!(get(admin, "/api/rooms").status, 401);
    let json = [("Content-Type", "application/json")];
    let (cookie, csrf) = admin_login(admin);

    // A wrong password is refused, and the next attempt at once is throttled.
    let bad = http(
        admin,
        "POST",
        "/api/login",
        &json,
        r#"{"username":"ops","password":"guess"}"#,
    );
    assert_eq!(bad.status, 401);
    let again = http(
        admin,
        "POST",
        "/api/login",
        &json,
        r#"{"username":"ops","password":"guess2"}"#,
    );
    assert_eq!(again.status, 429);

    let rooms = http(admin, "GET", "/api/rooms", &[("Cookie", &cookie)], "");
    assert_eq!(rooms.status, 200);
    let state: serde_json::Value = serde_json::from_str(&rooms.body).unwrap();
    let room = &state["rooms"][0];
    assert_eq!(room["id"], 1001);
    let users: Vec<&str> = room["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["class4", "class5"]);
    let victim_id = room["users"][0]["id"].as_u64().unwrap();
    assert!(room["users"][0]["signal"].as_u64().is_some());
    assert_eq!(room["users"][0]["hand_raised"], false);

    let kick = format!("/api/rooms/1001/users/{victim_id}/kick");
    // Without the CSRF header: refused, nobody kicked.
    assert_eq!(
        http(admin, "POST", &kick, &[("Cookie", &cookie)], "").status,
        403
    );
    let done = http(
        admin,
        "POST",
        &kick,
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(done.status, 200, "{}", done.body);
    let told = victim.expect_event(StateId::UserKicked);
    assert_eq!(told.user.map(|u| u64::from(u.id)), Some(victim_id));
    let exit = victim.expect_event(StateId::RoomExit);
    assert_eq!(exit.result, code(ErrorCode::KickOut));
    let kicked = watcher.expect_event(StateId::UserKicked);
    assert_eq!(kicked.user.map(|u| u64::from(u.id)), Some(victim_id));
    assert_eq!(metric(admin, "conference_room_users{room=\"1001\"}"), 1.0);
    // Closing the room: the one left gets ROOM_EXIT with retCode_RoomClosed.
    let close = http(
        admin,
        "POST",
        "/api/rooms/1001/close",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(close.status, 200, "{}", close.body);
    let exit = skip_to(&mut watcher, StateId::RoomExit);
    assert_eq!(exit.result, code(ErrorCode::RoomClosed));
    assert_eq!(metric(admin, "conference_room_users{room=\"1001\"}"), 0.0);
    // Kicking someone who is not there is a 404.
    assert_eq!(
        http(
            admin,
            "POST",
            &kick,
            &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
            ""
        )
        .status,
        404
    );
}

#[test]
fn reload_adds_and_removes_rooms_and_keeps_a_bad_file_out() {
    let dir = std::env::temp_dir().join(format!("conference-admin-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mcu.toml");
    let before = TestConfig::demo().room(1002, "Chemistry", "teacher", 8);
    std::fs::write(&path, with_admin(&before)).unwrap();
    let mcu = McuProcess::spawn_with(SpawnOptions {
        args: vec!["--config".into(), path.display().to_string()],
        binary: Some(env!("CARGO_BIN_EXE_conference-mcu").into()),
        ..SpawnOptions::default()
    });
    let admin = mcu.admin_addr();
    assert_eq!(metric(admin, "conference_rooms"), 2.0);
    let mut stays = enter(&mcu, "class1");
    let (mut leaves, _) = TestClient::join(mcu.addr, "class2", "class2", 1002);
    stays.drain_events(QUIET);
    leaves.drain_events(QUIET);

    // SIGHUP: 1002 removed, 1003 added, while both lessons go on.
    let after = TestConfig::demo().room(1003, "Biology", "teacher", 8);
    std::fs::write(&path, with_admin(&after)).unwrap();
    // SAFETY: plain kill(2) on our own child's pid.
    unsafe {
        libc::kill(mcu.pid() as libc::pid_t, libc::SIGHUP);
    }
    let exit = leaves.expect_event(StateId::RoomExit);
    assert_eq!(exit.result, code(ErrorCode::RoomClosed));
    assert_eq!(metric(admin, "conference_rooms"), 2.0);
    assert_eq!(
        sample(
            &get(admin, "/metrics").body,
            "conference_room_users{room=\"1002\"}"
        ),
        None
    );
    assert_eq!(metric(admin, "conference_room_users{room=\"1001\"}"), 1.0);
    let (newcomer, joined) = TestClient::join(mcu.addr, "class3", "class3", 1003);
    drop((newcomer, joined));
    assert!(
        stays
            .drain_events(QUIET)
            .iter()
            .all(|e| e.state != StateId::RoomExit as u32),
        "the user of a kept room stays"
    );

    // An invalid file through the API: refused, the running configuration stays.
    let (cookie, csrf) = admin_login(admin);
    std::fs::write(&path, "[[room]]\nid = \"not a number\"\n").unwrap();
    let refused = http(
        admin,
        "POST",
        "/api/reload",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(mcu.log().contains("reload refused"), "{}", mcu.log());
    assert_eq!(metric(admin, "conference_rooms"), 2.0);

    // And a good one through the API: an added room and account take effect.
    let more = TestConfig::demo()
        .room(1003, "Biology", "teacher", 8)
        .room(1004, "Music", "teacher", 8)
        .account("guest", "guest-pw", false);
    std::fs::write(&path, with_admin(&more)).unwrap();
    let done = http(
        admin,
        "POST",
        "/api/reload",
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "",
    );
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(metric(admin, "conference_rooms"), 3.0);
    let (_guest, _) = TestClient::join(mcu.addr, "guest", "guest-pw", 1004);
    assert_eq!(metric(admin, "conference_room_users{room=\"1004\"}"), 1.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn json_log_format_writes_one_object_per_line() {
    let mcu = McuProcess::spawn_with(SpawnOptions {
        config: Some(TestConfig::demo().to_toml()),
        args: vec!["--log-format".into(), "json".into()],
        binary: Some(env!("CARGO_BIN_EXE_conference-mcu").into()),
        ..SpawnOptions::default()
    });
    let _client = enter(&mcu, "class1");
    let log = mcu.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "listening" && l["level"] == "INFO"),
        "{log}"
    );
}

#[test]
fn media_key_frame_requests_and_heartbeat_rtts_in_metrics() {
    let mcu = McuProcess::spawn_with(SpawnOptions {
        config: Some(with_admin(&TestConfig::demo().heartbeat_ms(100))),
        binary: Some(env!("CARGO_BIN_EXE_conference-mcu").into()),
        ..SpawnOptions::default()
    });
    let admin = mcu.admin_addr();
    let (mut teacher, joined) = TestClient::join(mcu.addr, "teacher", "teacher", ROOM);
    let teacher_id = joined.self_.expect("own record").id;
    assert_eq!(teacher.call(bcast_video(teacher_id)), 0);
    let mut viewer = enter(&mcu, "class1");
    assert_eq!(
        metric(admin, "conference_key_frame_requests_total"),
        0.0,
        "nobody watched yet"
    );
    assert_eq!(
        viewer.call(subscribe(teacher_id, MediaType::VideoMajor, true)),
        0
    );
    assert_eq!(metric(admin, "conference_key_frame_requests_total"), 1.0);
    // The API lists the subscription, users in join order.
    let (cookie, _) = admin_login(admin);
    let rooms = http(admin, "GET", "/api/rooms", &[("Cookie", &cookie)], "");
    let state: serde_json::Value = serde_json::from_str(&rooms.body).unwrap();
    let users = &state["rooms"][0]["users"];
    assert_eq!(users[0]["username"], "teacher");
    assert_eq!(users[1]["watching"], 1);
    assert_eq!(
        users[1]["subscriptions"],
        serde_json::json!([{"user": teacher_id, "stream": "video_major"}])
    );

    let header = conference_testkit::client::media_header(MediaType::VideoMajor, 3, true, 40);
    teacher.send_media(&header, &[9; 1000]);
    assert!(viewer.next_media(Duration::from_secs(10)).is_some());
    let video = "{stream=\"video_major\"}";
    assert_eq!(
        metric(admin, &format!("conference_media_in_frames_total{video}")),
        1.0
    );
    assert_eq!(
        metric(
            admin,
            &format!("conference_media_out_fragments_total{video}")
        ),
        1.0
    );
    let bytes_in = metric(admin, &format!("conference_media_in_bytes_total{video}"));
    assert!(bytes_in > 1000.0, "{bytes_in}");
    assert_eq!(
        metric(admin, &format!("conference_media_out_bytes_total{video}")),
        bytes_in
    );
    assert_eq!(
        metric(admin, "conference_media_in_frames_total{stream=\"audio\"}"),
        0.0
    );

    // Heartbeats every 100 ms: round trips recorded, every one in the +Inf bucket.
    let deadline = Instant::now() + Duration::from_secs(10);
    while metric(admin, "conference_heartbeat_rtt_seconds_count") < 4.0 {
        assert!(
            Instant::now() < deadline,
            "no heartbeat round trip recorded"
        );
        // The blocking clients answer pings while they read.
        teacher.drain_events(Duration::from_millis(50));
        viewer.drain_events(Duration::from_millis(50));
    }
    let page = get(admin, "/metrics").body;
    assert!(page.contains("# TYPE conference_heartbeat_rtt_seconds histogram"));
    let count = sample(&page, "conference_heartbeat_rtt_seconds_count").unwrap();
    assert_eq!(
        sample(
            &page,
            "conference_heartbeat_rtt_seconds_bucket{le=\"+Inf\"}"
        ),
        Some(count)
    );
    // Loopback: every round trip well under a second.
    assert_eq!(
        sample(&page, "conference_heartbeat_rtt_seconds_bucket{le=\"1\"}"),
        Some(count)
    );
    assert!(sample(&page, "conference_heartbeat_rtt_seconds_sum").unwrap() < count);
}

#[test]
fn a_notice_from_the_operator_reaches_everyone_in_the_room() {
    let (mcu, admin) = start();
    let mut class1 = enter(&mcu, "class1");
    let mut class2 = enter(&mcu, "class2");
    class1.drain_events(QUIET);
    class2.drain_events(QUIET);
    let (cookie, csrf) = admin_login(admin);
    let auth = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let notice = "/api/rooms/1001/notice";
    let body = r#"{"text":"Fire drill at 10:30","color":255}"#;

    assert_eq!(
        http(admin, "POST", notice, &[("Cookie", &cookie)], body).status,
        403,
        "no CSRF token"
    );
    let long = format!(r#"{{"text":"{}"}}"#, "x".repeat(128));
    assert_eq!(http(admin, "POST", notice, &auth, &long).status, 400);
    assert_eq!(http(admin, "POST", notice, &auth, "not json").status, 400);
    assert_eq!(
        http(admin, "POST", "/api/rooms/4242/notice", &auth, body).status,
        404
    );
    let done = http(admin, "POST", notice, &auth, body);
    assert_eq!(done.status, 200, "{}", done.body);
    let reply: serde_json::Value = serde_json::from_str(&done.body).unwrap();
    assert_eq!(reply["told"], 2);
    for client in [&mut class1, &mut class2] {
        let event = skip_to(client, StateId::UserChat);
        assert!(event.user.is_none(), "from no user: {event:?}");
        let Some(conference_proto::pb::event::Extra::Chat(chat)) = event.extra else {
            panic!("a chat payload: {event:?}");
        };
        assert_eq!((chat.src_id, chat.dst_id, chat.color), (0, 0, 255));
        assert_eq!(&chat.content[..], b"Fire drill at 10:30");
    }
}

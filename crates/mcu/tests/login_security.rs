//! Password guessing against the real MCU process (issue 13, docs/SECURITY.md "Brute force"):
//! failed logins are throttled per address and account at the documented cost, an unknown
//! name and a wrong password look and cost the same, and each refusal is logged once with
//! the address.

use std::time::{Duration, Instant};

use conference_proto::login::{ClientLogin, LoginParams, Next};
use conference_proto::pb;
use conference_proto::scram::{ClientHello, MIN_ITERATIONS};
use conference_proto::{ErrorCode, PROTOCOL_VERSION};
use conference_testkit::client::TestClient;
use conference_testkit::{McuProcess, TestConfig};

const WRONG: u32 = ErrorCode::UserPasswordErr.code();

/// One login attempt on a new connection; the code of its last response.
fn attempt(mcu: &McuProcess, user: &str, password: &str) -> u32 {
    let mut client = TestClient::connect(mcu.addr);
    client
        .hello(PROTOCOL_VERSION, user, password)
        .err()
        .unwrap_or(0)
}

#[test]
fn a_thousand_wrong_passwords_cost_at_least_the_documented_99_seconds() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let start = Instant::now();
    for guess in 0..1000 {
        let code = attempt(&mcu, "teacher", &format!("guess-{guess}"));
        assert_eq!(code, WRONG, "guess {guess}");
    }
    let elapsed = start.elapsed();
    // 5 free, then 25 + 50 + 993 × 100 ms of spacing (docs/SECURITY.md).
    assert!(
        elapsed >= Duration::from_millis(99_375),
        "1,000 guesses took only {elapsed:?}"
    );
    println!("1,000 wrong passwords from one address: {elapsed:.1?}");
    // The right password still works (at its slot): no lockout.
    assert_eq!(attempt(&mcu, "teacher", "teacher"), 0);
    // Parallel guesses queue for the same slots; beyond the login deadline they are refused
    // at once without being tried.
    let mcu = &mcu;
    let parallel: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..120)
            .map(|i| scope.spawn(move || attempt(mcu, "class1", &format!("p{i}"))))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let throttled = parallel
        .iter()
        .filter(|&&c| c == ErrorCode::MuchVisitedErr.code())
        .count();
    assert!(throttled > 0, "{parallel:?}");
    assert!(
        parallel
            .iter()
            .all(|&c| c == WRONG || c == ErrorCode::MuchVisitedErr.code()),
        "{parallel:?}"
    );
    // Each refusal logged once, with the address.
    let log = mcu.log();
    let refusals = log
        .lines()
        .filter(|l| l.contains("login refused") && l.contains("127.0.0.1"))
        .count();
    assert_eq!(refusals, 1000 + parallel.len(), "one line per refusal");
}

#[test]
fn an_unknown_name_and_a_wrong_password_look_and_cost_the_same() {
    let config = TestConfig::demo()
        .extra("[login]\nfree_failures = 1000000")
        .to_toml();
    let mcu = McuProcess::spawn(Some(&config));
    let mut times = [Vec::new(), Vec::new()];
    let mut challenges = [Vec::new(), Vec::new()];
    for round in 0..40 {
        for (which, user) in ["class2", "nobody-at-all"].iter().enumerate() {
            let mut client = TestClient::connect(mcu.addr);
            let start = Instant::now();
            let (mut login, hello) = ClientLogin::start(&LoginParams::new("t", user, "wrong"));
            let challenge = client.raw_request(hello);
            let Some(pb::response::Result::Challenge(c)) = &challenge.result else {
                panic!("round {round}: {user} not challenged: {challenge:?}");
            };
            challenges[which].push(c.clone());
            let Ok(Next::Send(auth)) = login.on_response(challenge.clone()) else {
                panic!("a proof to send");
            };
            let refused = client.raw_request(auth);
            times[which].push(start.elapsed());
            assert_eq!(refused.code, WRONG, "{user}");
            assert_eq!(client.wait_closed(Duration::from_secs(5)), Some(WRONG));
        }
    }
    // The same shape: salt length, iteration count, nonce length; a stable salt per name.
    let shape = |c: &pb::Challenge| {
        let attrs: Vec<(String, usize)> = c
            .scram_first
            .split(',')
            .map(|kv| (kv[..1].to_string(), kv.len()))
            .collect();
        let iterations = c.scram_first.rsplit("i=").next().unwrap().to_string();
        (attrs, iterations, c.legacy)
    };
    assert_eq!(shape(&challenges[0][0]), shape(&challenges[1][0]));
    assert_eq!(shape(&challenges[1][0]).1, MIN_ITERATIONS.to_string());
    let salt = |c: &pb::Challenge| c.scram_first.split(",s=").nth(1).map(str::to_string);
    assert!(
        challenges[1]
            .iter()
            .all(|c| salt(c) == salt(&challenges[1][0]))
    );
    // The same cost: medians within noise (the MCU does the same HMACs for both).
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut times[0]), median(&mut times[1]));
    println!("median refusal: wrong password {known:?}, unknown name {unknown:?}");
    let gap = known.abs_diff(unknown);
    assert!(
        gap < Duration::from_millis(5).max(known / 2),
        "wrong password {known:?} vs unknown name {unknown:?}"
    );
    // Without throttling nothing was refused for rate.
    assert!(!mcu.log().contains("throttled"));
    // A malformed SCRAM Hello is a protocol error, not a login attempt.
    assert!(ClientHello::parse("y,,n=x").is_err());
    let mut client = TestClient::connect(mcu.addr);
    client
        .raw()
        .send_request(pb::client_message::Body::Hello(pb::Hello {
            protocol_version: PROTOCOL_VERSION,
            client_name: "t".into(),
            scram_first: "y,,n=x".into(),
            ..Default::default()
        }));
    assert_eq!(
        client.wait_closed(Duration::from_secs(5)),
        Some(ErrorCode::MsgErr.code())
    );
}

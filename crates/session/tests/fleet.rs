//! The SDK in a fleet of real MCUs on a real NATS server (docs/CLUSTER.md): a join at any
//! node lands in the room wherever it lives (one `login_conference_room` for the
//! application), and a lesson goes on after its node dies or is sent away by a node that
//! froze past its lease, without the application doing anything.

mod common;

use std::time::{Duration, Instant};

use common::Client;
use conference_session::{ErrorCode, SdkConfig, StateId};
use conference_testkit::client::TestClient;
use conference_testkit::fleet::{Landed, TestFleet};
use conference_testkit::{TestConfig, mcu_binary};

const LESSON: u32 = 1001;

/// Three MCUs on one nats-server (the NATS cluster's own failures are the MCU tests' job).
fn fleet() -> TestFleet {
    init_log();
    let mut config = TestConfig::demo();
    // Testkit clients answer pings only while read: a long interval keeps idle ones alive.
    config.heartbeat_ms = Some(10_000);
    TestFleet::start(&config, 3, 1, mcu_binary())
}

/// The SDK's own log (`RUST_LOG=conference_session=info`) shows the moves on failure.
fn init_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A testkit client in the lesson through node `from`, following redirects; retried while
/// the fleet re-places the room.
fn land(fleet: &TestFleet, from: usize, user: &str) -> Landed {
    fleet.land(from, user, LESSON, Duration::from_secs(10))
}

/// The node hosting the lesson, as node `at` sees it.
fn home(fleet: &TestFleet, at: usize) -> usize {
    let name = fleet
        .home_seen_by(at, LESSON)
        .expect("the lesson is placed");
    fleet
        .nodes
        .iter()
        .position(|node| node.name == name)
        .expect("a known node")
}

/// An SDK user connected to node `entry` and in the lesson.
fn sdk_in_lesson(fleet: &TestFleet, entry: usize, name: &str) -> Client {
    let client = Client::start(SdkConfig::default());
    let port = fleet.nodes[entry].mcu.addr.port();
    client
        .sdk
        .connect("127.0.0.1", port, name, name)
        .unwrap_or_else(|e| panic!("connect {name}: {e:?}"));
    client
        .sdk
        .login_room(LESSON)
        .unwrap_or_else(|e| panic!("{name} joins through node {entry}: {e:?}"));
    client
}

/// Waits until `client` hears that user `id` entered.
fn wait_enter(client: &mut TestClient, id: u32, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = client
            .next_event(left)
            .unwrap_or_else(|| panic!("no USER_ENTER of {id} within {timeout:?}"));
        if event.state == StateId::UserEnter.id() && event.user.is_some_and(|u| u.id == id) {
            return;
        }
    }
}

/// What tells an application its lesson ended.
fn endings(client: &Client) -> Vec<(StateId, Result<(), ErrorCode>)> {
    client
        .log
        .states()
        .into_iter()
        .filter(|s| {
            matches!(
                s.state,
                StateId::RoomExit | StateId::UserClose | StateId::LoginRoomFailed
            )
        })
        .map(|s| (s.state, s.result))
        .collect()
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a child process of this test.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

#[test]
fn a_join_at_any_node_lands_and_a_killed_home_is_rejoined_elsewhere() {
    let mut fleet = fleet();
    let teacher = land(&fleet, 0, "teacher");
    let home = fleet.index_of(&teacher.addr.to_string()).unwrap();
    let entry = (home + 1) % 3;
    // Redirected: one successful call, one LOGIN_MCU, one LOGIN_ROOM, in the teacher's room.
    let class1 = sdk_in_lesson(&fleet, entry, "class1");
    let id = class1.own_id();
    let mut teacher = teacher.client;
    wait_enter(&mut teacher, id, Duration::from_secs(5));
    // Events reach the application on the dispatcher thread: wait for the last one.
    class1
        .log
        .wait_state(StateId::LoginRoom, |s| s.result.is_ok());
    assert_eq!(class1.log.count_state(StateId::LoginMcu), 1);
    assert_eq!(class1.log.count_state(StateId::LoginRoom), 1);
    assert_eq!(class1.sdk.user_count(), Ok(2));
    // Joined at the home directly: no redirect needed.
    let class2 = sdk_in_lesson(&fleet, home, "class2");
    let id2 = class2.own_id();
    wait_enter(&mut teacher, id2, Duration::from_secs(5));

    // The home dies. class1 rejoins through its entry, class2 (whose entry died) through
    // another node its login named; the fleet re-places the lesson after the lease; nobody
    // does anything.
    let killed = Instant::now();
    signal(fleet.nodes[home].mcu.pid(), libc::SIGKILL);
    let teacher_id = teacher.user_id;
    for client in [&class1, &class2] {
        client.log.wait_state(StateId::UserLeave, |s| {
            s.user.as_ref().is_some_and(|u| u.id == teacher_id)
        });
    }
    let survivor = (home + 2) % 3;
    let mut class3 = land(&fleet, survivor, "class3");
    assert_ne!(class3.addr, fleet.nodes[home].mcu.addr);
    for user in [id, id2] {
        if !class3.joined.users.iter().any(|u| u.id == user) {
            wait_enter(&mut class3.client, user, Duration::from_secs(15));
        }
    }
    eprintln!("lesson running again {:?} after the kill", killed.elapsed());
    for client in [&class1, &class2] {
        client.log.wait_state(StateId::UserEnter, |s| {
            s.user.as_ref().is_some_and(|u| u.username == "class3")
        });
        assert_eq!(
            endings(client),
            vec![],
            "the application saw its lesson end"
        );
        assert_eq!(client.sdk.user_count(), Ok(3));
    }
    fleet.nodes.remove(home);
}

#[test]
fn a_home_frozen_past_its_lease_sends_the_sdk_on_to_the_new_home() {
    let fleet = fleet();
    let class1 = sdk_in_lesson(&fleet, 0, "class1");
    let id = class1.own_id();
    let home = home(&fleet, 0);
    let pid = fleet.nodes[home].mcu.pid();
    signal(pid, libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(fleet.timing.lease_ms + 1500));
    let other = (home + 1) % 3;
    let mut class2 = land(&fleet, other, "class2");
    assert_ne!(
        class2.addr, fleet.nodes[home].mcu.addr,
        "landed on a frozen node"
    );
    signal(pid, libc::SIGCONT);
    // Back, the stale home sends class1 away; the SDK finds the lesson on its new node.
    wait_enter(&mut class2.client, id, Duration::from_secs(15));
    class1.log.wait_state(StateId::UserEnter, |s| {
        s.user.as_ref().is_some_and(|u| u.username == "class2")
    });
    assert_eq!(
        endings(&class1),
        vec![],
        "the application saw its lesson end"
    );
    assert_eq!(class1.sdk.user_count(), Ok(2));
}

/// p50 and p99 of `samples`, in ms.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5).as_secs_f64() * 1e3, at(0.99).as_secs_f64() * 1e3)
}

/// The SDK figures of docs/CLUSTER.md and docs/RELIABILITY.md, with the default heartbeat
/// (1 s) and lease (4 s):
/// `cargo test -p conference-session --test fleet -- --ignored --nocapture figures`
#[test]
#[ignore]
fn figures_sdk_join_with_and_without_a_redirect_and_lessons_back_after_a_kill() {
    init_log();
    let timing = conference_testkit::fleet::FleetTiming {
        heartbeat_ms: 1000,
        lease_ms: 4000,
    };
    let mut config = TestConfig::demo();
    config.heartbeat_ms = Some(10_000);
    let fleet = TestFleet::start_with(&config, 3, 3, mcu_binary(), timing.clone());
    let _teacher = land(&fleet, 0, "teacher");
    let lesson_home = home(&fleet, 0);
    let (mut direct, mut redirected) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        let other = (lesson_home + 1) % 3;
        for (entry, samples) in [(lesson_home, &mut direct), (other, &mut redirected)] {
            let started = Instant::now();
            let client = sdk_in_lesson(&fleet, entry, "class1");
            samples.push(started.elapsed());
            client.sdk.disconnect().expect("disconnect");
        }
    }
    eprintln!(
        "SDK connect_MCU + login_conference_room at the home: p50/p99 {:.1?} ms",
        percentiles(direct)
    );
    eprintln!(
        "… through another node (one redirect):             p50/p99 {:.1?} ms",
        percentiles(redirected)
    );
    drop(fleet);

    // A lesson of 4 SDK users (entering through every node) after a kill -9 of its home:
    // until a user landing on a survivor finds all 4 in the room again.
    let mut back = Vec::new();
    for round in 0..5 {
        let mut fleet = TestFleet::start_with(&config, 3, 3, mcu_binary(), timing.clone());
        let names = ["class1", "class2", "class3", "class4"];
        let users: Vec<Client> = names
            .iter()
            .enumerate()
            .map(|(i, name)| sdk_in_lesson(&fleet, i % 3, name))
            .collect();
        let ids: Vec<u32> = users.iter().map(Client::own_id).collect();
        let home = home(&fleet, 0);
        let survivor = (home + 1) % 3;
        let killed = Instant::now();
        signal(fleet.nodes[home].mcu.pid(), libc::SIGKILL);
        loop {
            let landed = land(&fleet, survivor, "class5");
            let present = landed
                .joined
                .users
                .iter()
                .filter(|u| ids.contains(&u.id))
                .count();
            if present == ids.len() {
                break;
            }
            drop(landed);
            assert!(
                killed.elapsed() < Duration::from_secs(30),
                "round {round}: {present} back"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        back.push(killed.elapsed());
        for user in &users {
            assert_eq!(endings(user), vec![]);
        }
        fleet.nodes.remove(home);
    }
    eprintln!(
        "lesson of 4 SDK users back on a live node after kill -9 of its home (5 rounds): {back:.2?}"
    );
}

//! A fleet of three real MCUs on a real three-server NATS cluster (docs/CLUSTER.md):
//! placement races, redirects, failover after kill -9 and SIGSTOP, a NATS server's death,
//! NATS gone, drain. Each test starts its own fleet on loopback.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use conference_proto::ErrorCode;
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body};
use conference_testkit::TestConfig;
use conference_testkit::client::TestClient;
use conference_testkit::fleet::{
    AdminClient, FleetTiming, JoinAnswer, TestFleet, join_carrying, join_following,
};

const LESSON: u32 = 1001;
/// Rooms 2001..=2030 besides the demo's.
const FIRST: u32 = 2001;

fn config() -> TestConfig {
    let mut config = TestConfig::demo();
    for room in FIRST..FIRST + 30 {
        config = config.room(room, &format!("Room {room}"), "teacher", 16);
    }
    // Test clients answer pings only while read: a long interval keeps idle ones alive.
    config.heartbeat_ms = Some(10_000);
    config
}

fn fleet() -> TestFleet {
    TestFleet::start(&config(), 3, 3, env!("CARGO_BIN_EXE_conference-mcu").into())
}

fn signal(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) on a child process of this test.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, signal) }, 0);
}

/// A node's client address as redirects name it.
fn addr_of(fleet: &TestFleet, i: usize) -> String {
    fleet.nodes[i].mcu.addr.to_string()
}

/// Where room `room` lives, asked through a client logged in at node `at` (which leaves
/// the room again if it was let in).
fn home_of(fleet: &TestFleet, client: &mut TestClient, at: usize, room: u32) -> usize {
    match join_carrying(client, room, &[]) {
        JoinAnswer::Joined(_) => {
            assert_eq!(client.call(Body::LeaveRoom(pb::LeaveRoom {})), 0);
            at
        }
        JoinAnswer::Redirect(redirect) => fleet
            .index_of(&redirect.address)
            .unwrap_or_else(|| panic!("redirect to an unknown node: {redirect:?}")),
        JoinAnswer::Refused(code) => panic!("room {room} refused: {code:#x}"),
    }
}

#[test]
fn three_nodes_placing_one_room_at_once_agree_on_one_home() {
    let fleet = fleet();
    for room in FIRST..FIRST + 4 {
        let mut clients: Vec<TestClient> = (0..3)
            .map(|i| {
                let user = format!("class{}", i + 1);
                TestClient::login(fleet.nodes[i].mcu.addr, &user, &user).0
            })
            .collect();
        // Back to back: the three nodes race to place the room.
        let ids: Vec<u32> = clients
            .iter_mut()
            .map(|c| c.send_request(Body::JoinRoom(pb::JoinRoom { room_id: room })))
            .collect();
        let mut homes = HashSet::new();
        let mut joined = 0;
        let mut redirects = Vec::new();
        for (i, (client, id)) in clients.iter_mut().zip(ids).enumerate() {
            let response = client
                .response(id, Duration::from_secs(10))
                .expect("an answer");
            match response.result {
                Some(pb::response::Result::Joined(_)) => {
                    assert_eq!(response.code, 0);
                    joined += 1;
                    homes.insert(addr_of(&fleet, i));
                }
                Some(pb::response::Result::Redirect(redirect)) => {
                    assert_eq!(response.code, ErrorCode::ServerFull.code());
                    assert_eq!(redirect.room_id, room);
                    homes.insert(redirect.address.clone());
                    redirects.push((i, redirect));
                }
                other => panic!(
                    "room {room}, node {i}: {other:?} (code {:#x})",
                    response.code
                ),
            }
        }
        assert_eq!(homes.len(), 1, "room {room} has several homes: {homes:?}");
        assert_eq!(joined, 1, "room {room}: exactly the home's client gets in");
        // The redirected clients follow, with their tokens, and meet in the one room.
        let home: std::net::SocketAddr = homes.into_iter().next().unwrap().parse().unwrap();
        let mut followers = Vec::new();
        for (i, redirect) in redirects {
            let user = format!("class{}", i + 4);
            let (mut client, _) = TestClient::login(home, &user, &user);
            match join_carrying(&mut client, room, &redirect.token) {
                JoinAnswer::Joined(joined) => assert_eq!(joined.users.len(), followers.len() + 2),
                other => panic!("the home refused a redirected join: {other:?}"),
            }
            followers.push(client);
        }
    }
}

#[test]
fn every_node_sends_a_join_to_the_one_home_and_checks_tokens() {
    let fleet = fleet();
    let teacher = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let home = fleet.index_of(&teacher.addr.to_string()).unwrap();
    let mut redirect = None;
    for i in 0..3 {
        let user = format!("class{}", i + 1);
        let (mut client, _) = TestClient::login(fleet.nodes[i].mcu.addr, &user, &user);
        match join_carrying(&mut client, LESSON, &[]) {
            JoinAnswer::Joined(_) => {
                assert_eq!(i, home, "node {i} let a user into a room homed on {home}")
            }
            JoinAnswer::Redirect(r) => {
                assert_ne!(i, home, "the home redirected its own room");
                assert_eq!(r.address, addr_of(&fleet, home));
                assert_eq!(r.node, fleet.nodes[home].name);
                redirect = Some((i, user, r));
            }
            JoinAnswer::Refused(code) => panic!("node {i} refused: {code:#x}"),
        }
    }
    let metrics = AdminClient::login(fleet.nodes[home].admin).get_text("/metrics");
    assert!(
        metrics.contains("conference_cluster_lease_held 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("conference_cluster_rooms_homed 1"),
        "{metrics}"
    );
    // A token opens the named node only: shown to another node, or altered, it is a plain
    // join there (redirected again).
    let (from, user, redirect) = redirect.expect("two nodes redirect");
    let other = (0..3).find(|&i| i != home && i != from).unwrap();
    let (mut client, _) = TestClient::login(fleet.nodes[other].mcu.addr, &user, &user);
    let mut forged = redirect.token.to_vec();
    forged[10] ^= 1;
    for token in [redirect.token.to_vec(), forged] {
        match join_carrying(&mut client, LESSON, &token) {
            JoinAnswer::Redirect(again) => assert_eq!(again.address, addr_of(&fleet, home)),
            other => panic!("node {other:?} took a token that names another node"),
        }
    }
    let metrics = AdminClient::login(fleet.nodes[other].admin).get_text("/metrics");
    let redirects = metrics
        .lines()
        .find_map(|l| l.strip_prefix("conference_cluster_joins_total{outcome=\"redirect\"} "))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(redirects >= Some(3), "{metrics}");
}

#[test]
fn thirty_rooms_spread_over_three_nodes() {
    let fleet = fleet();
    let (mut client, _) = TestClient::login(fleet.nodes[0].mcu.addr, "teacher", "teacher");
    let mut per_node = [0; 3];
    let mut homes = Vec::new();
    for room in FIRST..FIRST + 30 {
        let home = home_of(&fleet, &mut client, 0, room);
        per_node[home] += 1;
        homes.push((room, fleet.nodes[home].name.clone()));
    }
    eprintln!("rooms per node: {per_node:?}");
    assert!(per_node.iter().all(|&n| n >= 3), "unbalanced: {per_node:?}");
    // Every node's view converges on the same homes.
    for i in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        while homes
            .iter()
            .any(|(room, home)| fleet.home_seen_by(i, *room).as_deref() != Some(home.as_str()))
        {
            assert!(
                Instant::now() < deadline,
                "node {i} disagrees: {}",
                fleet.status(i)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn kill_9_of_a_home_moves_its_rooms_to_live_nodes() {
    let mut fleet = fleet();
    let (mut client, _) = TestClient::login(fleet.nodes[0].mcu.addr, "teacher", "teacher");
    let homes: Vec<(u32, usize)> = (FIRST..FIRST + 12)
        .map(|room| (room, home_of(&fleet, &mut client, 0, room)))
        .collect();
    // The victim: node 1 or 2, whichever hosts more (node 0 keeps the observer's client).
    let count = |n| homes.iter().filter(|(_, h)| *h == n).count();
    let victim = if count(1) >= count(2) { 1 } else { 2 };
    let rooms: Vec<u32> = homes
        .iter()
        .filter(|(_, h)| *h == victim)
        .map(|(r, _)| *r)
        .collect();
    assert!(!rooms.is_empty());
    let mut pupil = fleet.land(0, "class1", rooms[0], Duration::from_secs(5));
    assert_eq!(pupil.addr, fleet.nodes[victim].mcu.addr);
    let victim_name = fleet.nodes[victim].name.clone();
    let started = Instant::now();
    signal(fleet.nodes[victim].mcu.pid(), libc::SIGKILL);
    // No join needed: a live node re-places the dead node's rooms on its own.
    let deadline = started + Duration::from_secs(15);
    loop {
        let moved = rooms.iter().all(|room| {
            fleet
                .home_seen_by(0, *room)
                .is_some_and(|home| home != victim_name)
        });
        if moved {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not re-placed: {}",
            fleet.status(0)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "{} rooms of a killed node re-placed after {} ms (lease {} ms)",
        rooms.len(),
        started.elapsed().as_millis(),
        fleet.timing.lease_ms
    );
    // The pupil's connection is gone; rejoining from any live node lands on the new home.
    assert_eq!(pupil.client.wait_closed(Duration::from_secs(5)), None);
    let back = fleet.land(0, "class1", rooms[0], Duration::from_secs(5));
    assert_ne!(back.addr, fleet.nodes[victim].mcu.addr);
    let expected = fleet.home_seen_by(0, rooms[0]).unwrap();
    assert_eq!(
        fleet.nodes[fleet.index_of(&back.addr.to_string()).unwrap()].name,
        expected
    );
    fleet.nodes.remove(victim);
}

#[test]
fn a_stopped_node_hands_its_rooms_over_at_once() {
    // A lease far longer than the test: a handover that waited for it would time out.
    let timing = FleetTiming {
        heartbeat_ms: 300,
        lease_ms: 60_000,
    };
    let mut fleet = TestFleet::start_with(
        &config(),
        3,
        3,
        env!("CARGO_BIN_EXE_conference-mcu").into(),
        timing,
    );
    let mut teacher = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let home = fleet.index_of(&teacher.addr.to_string()).unwrap();
    let stopped = Instant::now();
    let status = fleet.nodes[home].mcu.terminate(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "SIGTERM: {status:?}");
    assert_eq!(
        teacher.client.wait_closed(Duration::from_secs(5)),
        Some(ErrorCode::ServerStoped.code())
    );
    // No lease to wait for: the placement went with the node.
    let back = fleet.land((home + 1) % 3, "teacher", LESSON, Duration::from_secs(5));
    assert_ne!(back.addr, teacher.addr);
    eprintln!("back {:?} after the stop", stopped.elapsed());
    fleet.nodes.remove(home);
}

#[test]
fn a_home_frozen_past_its_lease_closes_its_stale_clients() {
    let fleet = fleet();
    let mut lesson = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let home = fleet.index_of(&lesson.addr.to_string()).unwrap();
    let other = (home + 1) % 3;
    let pid = fleet.nodes[home].mcu.pid();
    signal(pid, libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(fleet.timing.lease_ms + 1500));
    // The room moves while its old home sleeps.
    let moved = fleet.land(other, "class1", LESSON, Duration::from_secs(10));
    assert_ne!(moved.addr, lesson.addr, "a join landed on a frozen node");
    signal(pid, libc::SIGCONT);
    // Back, the old home sees the newer placement and sends its clients away.
    let exit = lesson
        .client
        .next_event(Duration::from_secs(10))
        .expect("ROOM_EXIT from the stale home");
    assert_eq!(exit.state, StateId::RoomExit.id());
    assert_eq!(exit.result, ErrorCode::NvalidSessionErr.code());
    assert_eq!(
        lesson.client.wait_closed(Duration::from_secs(5)),
        Some(ErrorCode::NvalidSessionErr.code())
    );
    // And no longer takes the room: a join there is redirected to the new home.
    let (mut client, _) = TestClient::login(lesson.addr, "class2", "class2");
    match join_carrying(&mut client, LESSON, &[]) {
        JoinAnswer::Redirect(redirect) => assert_eq!(redirect.address, moved.addr.to_string()),
        other => panic!("the stale home answered {other:?}"),
    }
}

/// Chat from `from` reaches `to` (the lesson goes on).
fn chat_reaches(from: &mut TestClient, to: &mut TestClient) {
    let chat = Body::Chat(pb::Chat {
        dst_id: 0,
        color: 0,
        content: b"still here".to_vec().into(),
    });
    assert_eq!(from.call(chat), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let event = to
            .next_event(deadline.saturating_duration_since(Instant::now()))
            .expect("the chat arrives");
        if event.state == StateId::UserChat.id() {
            return;
        }
    }
}

#[test]
fn nats_servers_dying_stop_no_lesson() {
    let mut fleet = fleet();
    let mut teacher = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let mut pupil = fleet.land(1, "class1", LESSON, Duration::from_secs(5));
    assert_eq!(teacher.addr, pupil.addr);
    // One NATS server of three dies: lessons go on, new rooms are still placed.
    let started = Instant::now();
    fleet.nats.servers[0].kill();
    chat_reaches(&mut teacher.client, &mut pupil.client);
    for (i, room) in (FIRST..FIRST + 3).enumerate() {
        let user = format!("class{}", i + 2);
        let landed = fleet.land(i, &user, room, Duration::from_secs(20));
        if i == 0 {
            eprintln!(
                "first placement after a NATS server's death: {} ms",
                started.elapsed().as_millis()
            );
        }
        drop(landed);
    }
    chat_reaches(&mut pupil.client, &mut teacher.client);
    assert_eq!(teacher.client.bye, None);
    // All of NATS gone: the lesson goes on, its users can come back, new rooms are refused
    // with retCode_ServerCascadeFailure.
    fleet.nats.servers[1].kill();
    fleet.nats.servers[2].kill();
    std::thread::sleep(Duration::from_millis(fleet.timing.lease_ms + 500));
    chat_reaches(&mut teacher.client, &mut pupil.client);
    assert_eq!(pupil.client.call(Body::LeaveRoom(pb::LeaveRoom {})), 0);
    match join_carrying(&mut pupil.client, LESSON, &[]) {
        JoinAnswer::Joined(_) => {}
        other => panic!("a running lesson refused its pupil without NATS: {other:?}"),
    }
    let (mut newcomer, _) = TestClient::login(fleet.nodes[0].mcu.addr, "class8", "class8");
    let asked = Instant::now();
    match join_carrying(&mut newcomer, FIRST + 20, &[]) {
        JoinAnswer::Refused(code) => assert_eq!(code, ErrorCode::ServerCascadeFailure.code()),
        other => panic!("a room was placed without NATS: {other:?}"),
    }
    // Answered, not left waiting (the client's own timeout is 10 s); how soon is a figure.
    eprintln!("refused without NATS after {:?}", asked.elapsed());
}

#[test]
fn a_draining_node_takes_no_new_rooms_and_releases_empty_ones() {
    let fleet = fleet();
    let mut teacher = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let drained = fleet.index_of(&teacher.addr.to_string()).unwrap();
    signal(fleet.nodes[drained].mcu.pid(), libc::SIGUSR1);
    let name = fleet.nodes[drained].name.clone();
    // Every node learns it from the heartbeat.
    for i in 0..3 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let status = fleet.status(i);
            let draining =
                status["nodes"].as_array().unwrap().iter().any(|n| {
                    n["record"]["name"] == name.as_str() && n["record"]["draining"] == true
                });
            if draining {
                break;
            }
            assert!(Instant::now() < deadline, "node {i}: {status}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // New rooms go elsewhere, whichever node is asked.
    for (i, room) in (FIRST..FIRST + 6).enumerate() {
        let user = format!("class{}", i + 1);
        let landed = fleet.land(i % 3, &user, room, Duration::from_secs(5));
        assert_ne!(
            landed.addr, teacher.addr,
            "room {room} placed on a draining node"
        );
    }
    // The running lesson still takes its users.
    let mut pupil = fleet.land((drained + 1) % 3, "class7", LESSON, Duration::from_secs(5));
    assert_eq!(pupil.addr, teacher.addr);
    chat_reaches(&mut teacher.client, &mut pupil.client);
    // Once empty, the room is handed back and the next join places it elsewhere.
    for client in [&mut teacher.client, &mut pupil.client] {
        assert_eq!(client.call(Body::LeaveRoom(pb::LeaveRoom {})), 0);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while fleet.home_seen_by(drained, LESSON).as_deref() == Some(name.as_str()) {
        assert!(
            Instant::now() < deadline,
            "not released: {}",
            fleet.status(drained)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let again = fleet.land(drained, "class8", LESSON, Duration::from_secs(5));
    assert_ne!(again.addr, teacher.addr);
    // The operator's way: the admin action.
    let other = (drained + 1) % 3;
    let admin = AdminClient::login(fleet.nodes[other].admin);
    assert_eq!(admin.post_json("/api/cluster/drain")["draining"], true);
}

/// (p50, p99) in milliseconds.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort();
    let at =
        |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

/// The figures of docs/CLUSTER.md, with the default heartbeat (1 s) and lease (4 s):
/// `cargo test -p conference-mcu --test cluster -- --ignored --nocapture figures`
#[test]
#[ignore]
fn figures_join_with_and_without_a_redirect_and_failover_time() {
    let timing = FleetTiming {
        heartbeat_ms: 1000,
        lease_ms: 4000,
    };
    let fleet = TestFleet::start_with(
        &config(),
        3,
        3,
        env!("CARGO_BIN_EXE_conference-mcu").into(),
        timing,
    );
    let teacher = fleet.land(0, "teacher", LESSON, Duration::from_secs(5));
    let home = fleet.index_of(&teacher.addr.to_string()).unwrap();
    let other = (home + 1) % 3;
    let (mut direct, mut redirected) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        let started = Instant::now();
        let landed =
            join_following(fleet.nodes[home].mcu.addr, "class1", "class1", LESSON).unwrap();
        direct.push(started.elapsed());
        assert_eq!(landed.hops, 0);
        drop(landed);
        let started = Instant::now();
        let landed =
            join_following(fleet.nodes[other].mcu.addr, "class2", "class2", LESSON).unwrap();
        redirected.push(started.elapsed());
        assert_eq!(landed.hops, 1);
    }
    eprintln!(
        "login + join, at the home: p50/p99 {:.2?} ms",
        percentiles(direct)
    );
    eprintln!(
        "login + join, redirected:  p50/p99 {:.2?} ms",
        percentiles(redirected)
    );
    // Failover: rooms of a killed node, seen re-placed by a live node (no join asked). The
    // victim: the node other than the observer's that hosts most of 12 new rooms.
    let (mut client, _) = TestClient::login(fleet.nodes[other].mcu.addr, "class3", "class3");
    let homes: Vec<(u32, usize)> = (FIRST..FIRST + 12)
        .map(|room| (room, home_of(&fleet, &mut client, other, room)))
        .collect();
    let hosted = |n: usize| homes.iter().filter(|(_, h)| *h == n).count();
    let victim = (0..3)
        .filter(|&n| n != other)
        .max_by_key(|&n| hosted(n))
        .unwrap();
    let rooms: Vec<u32> = homes
        .iter()
        .filter(|(_, h)| *h == victim)
        .map(|(r, _)| *r)
        .collect();
    let home = victim;
    let victim = fleet.nodes[home].name.clone();
    let started = Instant::now();
    signal(fleet.nodes[home].mcu.pid(), libc::SIGKILL);
    while rooms
        .iter()
        .any(|&room| fleet.home_seen_by(other, room).is_none_or(|h| h == victim))
    {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "{} rooms re-placed {} ms after kill -9 of their home",
        rooms.len(),
        started.elapsed().as_millis()
    );
}

/// Only in the shared configuration (KV), never in the nodes' files.
const KV_ROOM: u32 = 3001;
const KV_ROOM_2: u32 = 3002;

/// What the tests publish to KV: the demo, an account and a room the nodes' files lack.
fn shared_config() -> TestConfig {
    TestConfig::demo()
        .account("guest", "guest", false)
        .room(KV_ROOM, "Only in KV", "teacher", 16)
}

/// Three nodes set to `[cluster] config = "kv"`, their files holding `config()` (rooms
/// 2001..2030, no `guest`), KV holding `shared_config()`.
fn fleet_from_kv() -> TestFleet {
    TestFleet::start_from_kv(
        &config(),
        &shared_config(),
        3,
        3,
        env!("CARGO_BIN_EXE_conference-mcu").into(),
    )
}

/// `user` at node `at` asks for `room`: the code of a refusal (a join let in or redirected
/// is a failure here).
fn refused(fleet: &TestFleet, at: usize, user: &str, room: u32) -> u32 {
    let (mut client, _) = TestClient::login(fleet.nodes[at].mcu.addr, user, user);
    match join_carrying(&mut client, room, &[]) {
        JoinAnswer::Refused(code) => code,
        other => panic!("node {at} took room {room}: {other:?}"),
    }
}

/// Until every node runs `revision` of the shared configuration.
fn wait_revision(fleet: &TestFleet, revision: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for i in 0..fleet.nodes.len() {
        while fleet.config_revision(i) != revision {
            assert!(
                Instant::now() < deadline,
                "node {i} runs revision {} instead of {revision}:\n{}",
                fleet.config_revision(i),
                fleet.nodes[i].mcu.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `publish-config`'s revision, from its output.
fn published_revision(output: &std::process::Output) -> u64 {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "publish-config failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .trim()
        .rsplit_once("revision ")
        .and_then(|(_, n)| n.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("no revision in {stdout:?}"))
}

#[test]
fn accounts_and_rooms_from_kv_reach_every_node_and_follow_each_publish() {
    let fleet = fleet_from_kv();
    let start = fleet.config_revision(0);
    wait_revision(&fleet, start);
    // Each node served KV's accounts and rooms from its first connection: read before it
    // listened, not applied by a reload once it reached the fleet.
    for node in &fleet.nodes {
        let log = node.mcu.log();
        assert!(
            logged(&log, &["accounts and rooms from NATS KV".into()])
                && !logged(&log, &["configuration reloaded".into()]),
            "{log}"
        );
    }
    // An account and a room that exist only in KV are served, whichever node is asked.
    let mut guest = fleet.land(1, "guest", KV_ROOM, Duration::from_secs(5));
    let mut teacher = fleet.land(2, "teacher", KV_ROOM, Duration::from_secs(5));
    assert_eq!(guest.addr, teacher.addr);
    // The files' own rooms are not: KV replaces them.
    for i in 0..3 {
        assert_eq!(
            refused(&fleet, i, "class1", FIRST),
            ErrorCode::RoomUnexist.code()
        );
    }
    // A new room published reaches every node; the running lesson goes on.
    let published = Instant::now();
    let revision = published_revision(&fleet.publish(&shared_config().room(
        KV_ROOM_2,
        "Published later",
        "teacher",
        16,
    )));
    assert!(revision > start);
    // One home whichever node is asked: every gate knows the room (a gate that did not would
    // let the join into its own core, unplaced).
    let mut homes = HashSet::new();
    for i in 0..3 {
        let user = format!("class{}", i + 1);
        homes.insert(fleet.land(i, &user, KV_ROOM_2, Duration::from_secs(5)).addr);
    }
    assert_eq!(
        homes.len(),
        1,
        "room {KV_ROOM_2} has several homes: {homes:?}"
    );
    eprintln!(
        "a published room joinable from every node after {} ms",
        published.elapsed().as_millis()
    );
    wait_revision(&fleet, revision);
    chat_reaches(&mut teacher.client, &mut guest.client);
    assert_eq!(guest.client.bye, None);
    // Publishing the same again writes nothing.
    let again = fleet.publish(&shared_config().room(KV_ROOM_2, "Published later", "teacher", 16));
    assert_eq!(published_revision(&again), revision);
    assert!(String::from_utf8_lossy(&again.stdout).contains("unchanged"));
    // A room withdrawn from KV: its lesson is closed, and every node's gate refuses it
    // (no redirect to its old home).
    let revision = published_revision(&fleet.publish(
        &TestConfig::demo().account("guest", "guest", false).room(
            KV_ROOM_2,
            "Published later",
            "teacher",
            16,
        ),
    ));
    let deadline = Instant::now() + Duration::from_secs(5);
    let exit = loop {
        // The teacher's USER_LEAVE comes first.
        let event = guest
            .client
            .next_event(deadline.saturating_duration_since(Instant::now()))
            .expect("ROOM_EXIT when the room is withdrawn");
        if event.state == StateId::RoomExit.id() {
            break event;
        }
    };
    assert_eq!(exit.result, ErrorCode::RoomClosed.code());
    wait_revision(&fleet, revision);
    for i in 0..3 {
        assert_eq!(
            refused(&fleet, i, "class4", KV_ROOM),
            ErrorCode::RoomUnexist.code()
        );
    }
}

/// Whether a line of `log` has every one of `parts`.
fn logged(log: &str, parts: &[String]) -> bool {
    log.lines()
        .any(|line| parts.iter().all(|part| line.contains(part.as_str())))
}

/// The warning of a node refusing `revision` of the shared configuration.
fn refusal(revision: u64) -> [String; 2] {
    [
        "shared configuration from NATS refused, keeping the running configuration".into(),
        format!("revision={revision}"),
    ]
}

#[test]
fn an_invalid_shared_configuration_is_refused_and_nothing_changes() {
    let fleet = fleet_from_kv();
    let start = fleet.config_revision(0);
    wait_revision(&fleet, start);
    // publish-config validates first: a room whose creator is no account writes nothing.
    let bad = shared_config().room(KV_ROOM_2, "Bad", "nobody", 16);
    let output = fleet.publish(&bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("creator \"nobody\" is not an account"),
        "{stderr}"
    );
    // Bytes written by other means (`nats kv put`): not a configuration, and one that does
    // not validate. Each node logs them and keeps what it runs.
    let garbage = fleet.put_shared_raw(b"\xff\xfe[[room]\x00");
    let invalid = fleet.put_shared_raw(
        format!(
            "[[account]]\nusername = \"t\"\npassword_hash = \"x\"\n\
             [[room]]\nid = {KV_ROOM_2}\nname = \"r\"\ncreator = \"t\"\nmax_users = 2\n"
        )
        .as_bytes(),
    );
    assert_eq!(invalid, garbage + 1);
    for (i, node) in fleet.nodes.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !logged(&node.mcu.log(), &refusal(invalid)) {
            assert!(
                Instant::now() < deadline,
                "node {i} did not refuse revision {invalid}:\n{}",
                node.mcu.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            logged(&node.mcu.log(), &refusal(garbage)),
            "{}",
            node.mcu.log()
        );
        assert_eq!(fleet.config_revision(i), start);
        let metrics = AdminClient::login(node.admin).get_text("/metrics");
        assert!(
            metrics.contains("conference_cluster_config_refused_total 2"),
            "{metrics}"
        );
        // Still the running configuration: the KV room and account, not the refused room.
        assert_eq!(
            refused(&fleet, i, "class1", KV_ROOM_2),
            ErrorCode::RoomUnexist.code()
        );
    }
    let guest = fleet.land(0, "guest", KV_ROOM, Duration::from_secs(5));
    drop(guest);
    // The watch outlived the bad revisions: a valid publish is applied.
    let revision =
        published_revision(&fleet.publish(&shared_config().room(KV_ROOM_2, "Good", "teacher", 16)));
    assert!(revision > invalid);
    fleet.land(2, "class2", KV_ROOM_2, Duration::from_secs(5));
}

#[test]
fn a_node_set_to_kv_refuses_to_start_while_kv_holds_no_configuration() {
    let nats = conference_testkit::nats::NatsCluster::start(1);
    let toml =
        conference_testkit::fleet::node_toml(&config(), "mcu0", &FleetTiming::default(), true);
    let args = [
        "--listen".to_string(),
        "127.0.0.1:0".to_string(),
        "--cluster".to_string(),
        nats.urls(),
    ];
    let output = conference_testkit::fleet::run_to_exit(
        env!("CARGO_BIN_EXE_conference-mcu").as_ref(),
        Some(&toml),
        &args,
        Duration::from_secs(20),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no shared configuration in NATS (bucket conference_config, key shared)"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening on"));
}

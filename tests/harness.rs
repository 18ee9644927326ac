//! The C harness (`examples/harness/`): C programs using only `include/conference_sdk.h`,
//! compiled against the built `libconference_sdk.so` and run as separate OS processes against
//! a real `conference-mcu` process. They synchronise only through the conference (events,
//! chat, transparent data) and check every return code and event payload; any mismatch makes
//! an endpoint exit non-zero, which fails the test with every endpoint's output.

mod common;
mod harness_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use conference_testkit::McuProcess;
use harness_support::{
    DEMO_ROOM, Endpoint, LESSON_ROOM, Start, endpoint_args, lesson_mcu, programs, run_endpoints,
    run_endpoints_on,
};

/// Bound on a whole scenario (the lesson takes about two seconds, the valgrind run some
/// more); children still running after it are killed and the test fails.
const BOUND: Duration = Duration::from_secs(90);

fn endpoint(program: &Path, args: Vec<String>) -> Command {
    let mut command = Command::new(program);
    command.args(args);
    command
}

fn with_role(mut args: Vec<String>, role: &str) -> Vec<String> {
    args.push(role.to_string());
    args
}

/// The whole lesson: presence, master, hand raising, chat, transparent data, aux slots,
/// grants, video/audio fan-out, broadcast, interactive user, invitations, kick, logout.
#[test]
fn whole_lesson_between_three_processes() {
    let programs = programs();
    let mcu = lesson_mcu();
    let args = endpoint_args("lesson", mcu.addr, LESSON_ROOM);
    run_endpoints(
        &mcu,
        vec![
            ("teacher", endpoint(&programs.master, args.clone())),
            (
                "class1",
                endpoint(&programs.listener, with_role(args.clone(), "A")),
            ),
            ("class2", endpoint(&programs.listener, with_role(args, "B"))),
        ],
        Start::InTurn,
        BOUND,
    );
}

/// The whole lesson with both listeners behind fault proxies whose links are reset again and
/// again while the lesson's control steps run (docs/PROTOCOL.md §8): the endpoints' own
/// checks, written for a lesson without a fault, pass unchanged (every event once, in order;
/// nobody leaves; the roster invariant at every callback). The resets stop before the media
/// steps, whose exact frame expectations a resume changes by design (frames of the gap are
/// dropped, the latest key frame is sent again).
#[test]
fn whole_lesson_across_repeated_link_resets() {
    use conference_testkit::proxy::FaultProxy;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let programs = programs();
    let mcu = lesson_mcu();
    let proxies = [FaultProxy::start(mcu.addr), FaultProxy::start(mcu.addr)].map(Arc::new);
    let done = Arc::new(AtomicBool::new(false));
    let cutter = {
        let (proxies, done) = (proxies.clone(), Arc::clone(&done));
        std::thread::spawn(move || {
            // Both listeners in the room: the MCU has sent each at least the login's two
            // answers, the room's and an event on its current link.
            let frames = |bytes: &[u8]| {
                let (mut count, mut at) = (0, 0);
                while at + 4 <= bytes.len() {
                    let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
                    at += 4 + len as usize;
                    count += 1;
                }
                count
            };
            let in_room = |p: &FaultProxy| {
                p.relayed()
                    .last()
                    .is_some_and(|(_, down)| frames(down) >= 5)
            };
            while !proxies.iter().all(|p| in_room(p)) {
                if done.load(Ordering::Relaxed) {
                    return 0;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let mut resets = 0;
            while resets < 6 && !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(40));
                proxies[resets % 2].reset();
                resets += 1;
            }
            resets
        })
    };
    let args = |proxy: &FaultProxy, role: &str| {
        with_role(endpoint_args("lesson", proxy.addr, LESSON_ROOM), role)
    };
    let endpoints = vec![
        (
            "teacher",
            endpoint(
                &programs.master,
                endpoint_args("lesson", mcu.addr, LESSON_ROOM),
            ),
        ),
        (
            "class1",
            endpoint(&programs.listener, args(&proxies[0], "A")),
        ),
        (
            "class2",
            endpoint(&programs.listener, args(&proxies[1], "B")),
        ),
    ];
    run_endpoints(&mcu, endpoints, Start::InTurn, BOUND);
    done.store(true, Ordering::Relaxed);
    let resets = cutter.join().unwrap();
    eprintln!("{resets} link resets during the lesson");
    assert_eq!(resets, 6, "the lesson ran across resets");
}

/// The whole lesson with the three endpoints entering a fleet of three MCUs (on one
/// nats-server) through three different nodes: the SDK follows the fleet's
/// redirects inside `login_conference_room` (docs/PROTOCOL.md §9.1), so the endpoints' own
/// checks, written for one MCU, pass unchanged: one call, one LOGIN_ROOM, one room.
#[test]
fn whole_lesson_entering_a_fleet_through_three_nodes() {
    use conference_testkit::fleet::TestFleet;
    let programs = programs();
    let fleet = TestFleet::start(
        &harness_support::lesson_test_config(),
        3,
        1,
        conference_testkit::mcu_binary(),
    );
    let args = |node: usize| endpoint_args("lesson", fleet.nodes[node].mcu.addr, LESSON_ROOM);
    let mcus: Vec<&McuProcess> = fleet.nodes.iter().map(|node| &node.mcu).collect();
    run_endpoints_on(
        &mcus,
        vec![
            ("teacher", endpoint(&programs.master, args(0))),
            (
                "class1",
                endpoint(&programs.listener, with_role(args(1), "A")),
            ),
            (
                "class2",
                endpoint(&programs.listener, with_role(args(2), "B")),
            ),
        ],
        // Each node's room list counts the lesson's users once the home's heartbeat (0.3 s
        // in test fleets) reached it.
        Start::InTurnSettled(Duration::from_secs(1)),
        BOUND,
    );
    // Everyone ended on one node: the lesson's.
    let homes: Vec<String> = (0..3)
        .filter_map(|i| fleet.home_seen_by(i, LESSON_ROOM))
        .collect();
    assert_eq!(homes.len(), 3, "every node knows the lesson's placement");
    assert!(homes.iter().all(|home| *home == homes[0]), "{homes:?}");
}

/// The short scenario (chat, transparent data, media both ways, leave, uninit) with the
/// listener under valgrind's memcheck: no invalid access, no definite leak.
#[test]
fn short_scenario_under_valgrind() {
    let valgrind = Command::new("valgrind").arg("--version").output();
    assert!(
        valgrind.as_ref().is_ok_and(|o| o.status.success()),
        "valgrind is required by this test (memcheck of a harness run) but could not be \
         run: {valgrind:?}; install it (e.g. `apt-get install valgrind`)"
    );
    let programs = programs();
    let mcu = lesson_mcu();
    let args = endpoint_args("short", mcu.addr, LESSON_ROOM);
    let mut master = endpoint(&programs.master, args.clone());
    let mut listener = Command::new("valgrind");
    listener
        .args([
            "--quiet",
            "--error-exitcode=1",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
        ])
        .arg(&programs.listener)
        .args(with_role(args, "A"));
    // Everything runs many times slower under valgrind: longer waits on both sides.
    for command in [&mut master, &mut listener] {
        command.env("HARNESS_TIMEOUT_MS", "60000");
    }
    run_endpoints(
        &mcu,
        vec![("teacher", master), ("class1 under valgrind", listener)],
        Start::InTurn,
        BOUND,
    );
}

/// The MCU stops (SIGTERM) while the teacher is in the room: `ROOM_EXIT` and `USER_CLOSE`
/// with `retCode_ServerStoped`, then `connect_MCU` fails cleanly and `uninit` works.
#[test]
fn mcu_stopping_under_an_endpoint() {
    let programs = programs();
    let mut mcu = lesson_mcu();
    let deadline = Instant::now() + BOUND;
    let mut teacher = Endpoint::spawn(
        "teacher",
        endpoint(
            &programs.master,
            endpoint_args("stop", mcu.addr, LESSON_ROOM),
        ),
    );
    let ready = teacher.wait_for_line("READY", deadline);
    let stopped = mcu.terminate(Duration::from_secs(10));
    let status = teacher.finish(deadline);
    assert!(
        ready && status.is_some_and(|s| s.success()) && teacher.stdout.contains("PASS"),
        "{}\n{}",
        teacher.report(),
        mcu.log()
    );
    assert!(
        stopped.is_some_and(|s| s.success()),
        "MCU exit: {stopped:?}"
    );
}

/// The demo's lesson (scripts/demo.sh runs the same programs) against the MCU's built-in
/// demo configuration; the endpoints start together, in any order.
#[test]
fn demo_lesson_against_the_builtin_demo() {
    let programs = programs();
    let mcu = McuProcess::spawn(None);
    let args = endpoint_args("demo", mcu.addr, DEMO_ROOM);
    let endpoints = run_endpoints(
        &mcu,
        vec![
            (
                "class2",
                endpoint(&programs.listener, with_role(args.clone(), "B")),
            ),
            ("teacher", endpoint(&programs.master, args.clone())),
            ("class1", endpoint(&programs.listener, with_role(args, "A"))),
        ],
        Start::Together,
        BOUND,
    );
    // The timeline tells the lesson: chat, and the teacher's media counted at a listener.
    let class1 = &endpoints[2].stdout;
    assert!(class1.contains("USER_CHAT"), "{class1}");
    assert!(
        class1.contains("media received from teacher#10001 "),
        "{class1}"
    );
    // And the class list each one built from events alone, joining and leaving.
    for endpoint in &endpoints {
        let out = &endpoint.stdout;
        assert!(out.contains("-- class list after joining ("), "{out}");
        assert!(
            out.contains("-- class list after ROOM_EXIT (0, from events): nobody"),
            "{out}"
        );
    }
}

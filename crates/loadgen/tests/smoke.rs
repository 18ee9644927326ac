//! The load generator in a short smoke mode against the real `conference-mcu` process:
//! every frame must arrive whole, byte-exact, in order, and the counts must agree. No
//! timings are asserted (speed belongs to `scripts/bench.sh`).

use std::time::Duration;

use conference_loadgen::report::ClassroomReport;
use conference_loadgen::{ClientKind, RunOptions, Scenario, Target, accounts, run};
use conference_testkit::McuProcess;

fn classroom(listeners: u32, fragment: usize) -> ClassroomReport {
    classroom_with(listeners, fragment, ClientKind::Sdk)
}

fn classroom_with(listeners: u32, fragment: usize, client: ClientKind) -> ClassroomReport {
    let config = accounts::mcu_config(1, listeners, 0, accounts::DEFAULT_PASSWORD)
        .expect("generated configuration");
    let mcu = McuProcess::spawn(Some(&config));
    let options = RunOptions {
        target: Target::Mcu,
        scenario: Scenario::Classroom,
        client,
        addr: Some(mcu.addr),
        server_pid: Some(mcu.pid()),
        rooms: 1,
        listeners,
        duration: Duration::from_secs(2),
        fragment,
        setup_threads: 4,
        ..RunOptions::default()
    };
    let report = run(&options).expect("the load run completes");
    report.classroom.expect("a classroom report")
}

fn assert_everything_delivered(c: &ClassroomReport, listeners: u32) {
    let f = &c.frames;
    let k = &c.correctness;
    assert_eq!(c.clients, listeners + 1);
    assert!(f.sent > 0, "nothing was sent");
    assert_eq!(k.errors(), 0, "correctness: {k:?}");
    assert_eq!(f.dropped_by_sender_queue, 0, "{f:?}");
    assert_eq!(f.dropped_by_clients, 0, "{f:?}");
    assert_eq!(f.sequence_gaps, 0, "{f:?}");
    assert_eq!(f.missing, 0, "{f:?}");
    assert_eq!(f.delivered, f.expected, "{f:?}");
    assert_eq!(
        c.latency.count, f.delivered,
        "one latency sample per delivered frame"
    );
    // Each listener receives the master's three streams, the master the interactive
    // listener's two: more deliveries than listeners × master frames is impossible.
    assert!(
        f.expected > f.sent,
        "the master's frames fan out to {listeners} listeners"
    );
    assert!(c.delivered_bytes > 0);
    assert!(c.server.cpu_s >= 0.0 && c.server.peak_rss_kb > 0);
}

#[test]
fn classroom_frames_arrive_whole_byte_exact_and_in_order() {
    let report = classroom(3, 0);
    assert_everything_delivered(&report, 3);
}

#[test]
fn fragmented_frames_arrive_whole_byte_exact_and_in_order() {
    let report = classroom(2, 16 * 1024);
    assert_eq!(report.fragment_bytes, 16 * 1024);
    assert_everything_delivered(&report, 2);
}

#[test]
fn the_diagnostic_protocol_client_sees_the_same_classroom() {
    let report = classroom_with(2, 0, ClientKind::Raw);
    assert_eq!(report.client, "raw");
    assert_everything_delivered(&report, 2);
}

#[test]
fn every_user_of_a_join_storm_sees_every_other() {
    let users = 12;
    let config = accounts::mcu_config(0, 0, users, accounts::DEFAULT_PASSWORD)
        .expect("generated configuration");
    let mcu = McuProcess::spawn(Some(&config));
    let options = RunOptions {
        target: Target::Mcu,
        scenario: Scenario::Join,
        addr: Some(mcu.addr),
        server_pid: Some(mcu.pid()),
        users,
        setup_threads: 4,
        ..RunOptions::default()
    };
    let report = run(&options).expect("the join storm completes");
    let join = report.join.expect("a join report");
    assert_eq!(join.users, users);
    assert_eq!(join.errors, 0, "{:?}", join.first_error);
    assert!(join.rss_after_kb > 0);
}

//! start/connect/login/logout/disconnect/shutdown 1,000 times against the real MCU: no
//! thread, file descriptor or memory growth. Alone in its test binary so that no other test
//! changes the process's thread and descriptor counts.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{Log, Recorder};
use conference_session::{MixerFormat, Sdk, SdkConfig, StateId};
use conference_testkit::{McuProcess, TestConfig};

const CYCLES: usize = 1_000;
const WARM_UP: usize = 5;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn cycle(port: u16, user: &str, mixer: bool) {
    let log = Arc::new(Log::default());
    let config = SdkConfig {
        mixer: mixer.then(|| MixerFormat::new(16_000, 1, 16).expect("format")),
        ..SdkConfig::default()
    };
    let sdk = Sdk::start(config, Box::new(Recorder(Arc::clone(&log)))).expect("start");
    sdk.connect("127.0.0.1", port, user, user).expect("connect");
    sdk.login_room(1001).expect("login");
    sdk.logout_room().expect("logout");
    sdk.disconnect().expect("disconnect");
    sdk.shutdown();
    assert_eq!(log.count_state(StateId::UserClose), 0);
}

#[test]
fn a_thousand_lifecycles_leave_no_threads_fds_or_memory_behind() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let port = mcu.addr.port();
    for _ in 0..WARM_UP {
        cycle(port, "class7", true);
        cycle(port, "class8", false);
    }
    let (threads0, fds0, rss0) = (threads(), fds(), rss_kib());
    let started = Instant::now();
    for i in 0..CYCLES {
        // Alternate the accounts and the mixer so both paths are exercised.
        if i % 2 == 0 {
            cycle(port, "class7", true);
        } else {
            cycle(port, "class8", false);
        }
    }
    let elapsed = started.elapsed();
    // A joined thread may linger in /proc for a moment after its exit: let it settle
    // (bounded; only a real leak stays).
    for _ in 0..100 {
        if threads() == threads0 && fds() == fds0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (threads1, fds1, rss1) = (threads(), fds(), rss_kib());
    eprintln!(
        "{CYCLES} cycles in {elapsed:?} ({:?}/cycle); threads {threads0}->{threads1}, fds \
         {fds0}->{fds1}, VmRSS {rss0}->{rss1} KiB",
        elapsed / CYCLES as u32
    );
    assert_eq!(threads1, threads0, "thread growth");
    assert_eq!(fds1, fds0, "file descriptor growth");
    assert!(
        rss1 <= rss0 + 32 * 1024,
        "VmRSS grew from {rss0} KiB to {rss1} KiB"
    );
    drop(mcu);
}

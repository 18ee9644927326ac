//! Many `Sdk` instances on one `SharedCore` against the real MCU: each instance's events in
//! order, on one thread, never concurrently; shutting one down leaves the others working;
//! callbacks may block and shut instances down on a shared dispatcher thread; the core's
//! threads are the only ones and are all joined at the end.
//!
//! The tests count this process's threads, so they run one at a time (`SERIAL`).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use common::{Log, WAIT, user_id};
use conference_session::{
    ErrorCode, Event, EventSink, MediaHeader, MediaKind, MediaType, Sdk, SdkConfig, SharedCore,
    StateId, Tuning,
};
use conference_testkit::{McuProcess, TestConfig};
use parking_lot::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

const ROOM: u32 = 1001;

/// `chair` (id 10001) and `u1`..`u<n>` (ids 10002..), password = user name, all allowed in room 1001.
fn mcu(listeners: u32) -> McuProcess {
    let mut config = TestConfig::new().account("chair", "chair", true);
    for i in 1..=listeners {
        let name = format!("u{i}");
        config = config.account(&name, &name, false);
    }
    let config = config.room(ROOM, "Shared", "chair", listeners + 8);
    McuProcess::spawn(Some(&config.to_toml()))
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .count()
}

/// A joined thread may linger in /proc for a moment after its exit: waits (bounded) until
/// the count is `expected`, and returns the last count.
fn settle_threads(expected: usize) -> usize {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = threads();
        if now == expected || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What a [`Probe`] sink saw, shared with the test.
#[derive(Default)]
struct Seen {
    log: Log,
    /// Threads the sink ran on.
    threads: Mutex<HashSet<ThreadId>>,
    /// Set while the sink runs; finding it set on entry is a concurrent delivery.
    inside: AtomicBool,
    overlaps: AtomicU64,
    dropped: AtomicBool,
}

struct Probe(Arc<Seen>);

impl EventSink for Probe {
    fn deliver(&mut self, event: Event) {
        let seen = &self.0;
        if seen.inside.swap(true, Ordering::AcqRel) {
            seen.overlaps.fetch_add(1, Ordering::Relaxed);
        }
        seen.threads.lock().insert(std::thread::current().id());
        // Widen the window in which a second, concurrent delivery would be caught.
        std::thread::yield_now();
        seen.log.push(event);
        seen.inside.store(false, Ordering::Release);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.dropped.store(true, Ordering::Release);
    }
}

struct Instance {
    sdk: Sdk,
    seen: Arc<Seen>,
}

fn start(core: &SharedCore) -> Instance {
    let seen = Arc::new(Seen::default());
    let sdk = Sdk::start_on(
        core,
        SdkConfig::default(),
        Tuning::default(),
        Box::new(Probe(Arc::clone(&seen))),
    )
    .expect("start_on");
    Instance { sdk, seen }
}

fn join(core: &SharedCore, mcu: &McuProcess, name: &str) -> Instance {
    let instance = start(core);
    instance
        .sdk
        .connect("127.0.0.1", mcu.addr.port(), name, name)
        .unwrap_or_else(|e| panic!("connect {name}: {e:?}"));
    instance
        .sdk
        .login_room(ROOM)
        .unwrap_or_else(|e| panic!("login {name}: {e:?}"));
    instance
}

/// A whole video frame whose timestamp is its number.
fn frame(n: u64) -> MediaHeader {
    MediaHeader {
        media_type: 1,
        frame_seq: 3,
        key_frame: 1,
        framerate: 25,
        timestamp: n,
        ..MediaHeader::default()
    }
}

/// Sends frames `from..to` of the chair's main video, paced so no send queue fills up.
fn send_frames(chair: &Instance, from: u64, to: u64) {
    for n in from..to {
        let payload = n.to_le_bytes().repeat(64);
        let deadline = Instant::now() + WAIT;
        loop {
            match chair
                .sdk
                .send_stream(frame(n), &payload, MediaType::VideoMajor)
            {
                Ok(()) => break,
                Err(ErrorCode::QueueFullErr) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(err) => panic!("send_stream: {err:?}"),
            }
        }
    }
}

/// Every listener got the chair's frames `0..count` exactly once, in order, byte-exact.
fn assert_frames_in_order(listener: &Instance, chair_id: u32, count: u64) {
    let media = listener
        .seen
        .log
        .wait_media(count as usize, |m| m.user_id == chair_id as i32);
    let stamps: Vec<u64> = media.iter().map(|m| m.header.timestamp).collect();
    assert_eq!(stamps, (0..count).collect::<Vec<_>>());
    for m in &media {
        assert_eq!(
            &m.payload[..],
            &m.header.timestamp.to_le_bytes().repeat(64)[..]
        );
    }
}

/// The sink ran on one thread, never twice at once, and the session's own events came in
/// the order the calls made them.
fn assert_delivered_in_order(instance: &Instance) {
    assert_eq!(instance.seen.overlaps.load(Ordering::Relaxed), 0);
    assert_eq!(
        instance.seen.threads.lock().len(),
        1,
        "pinned to one thread"
    );
    let states: Vec<StateId> = instance.seen.log.states().iter().map(|s| s.state).collect();
    assert_eq!(&states[..2], &[StateId::LoginMcu, StateId::LoginRoom]);
}

#[test]
fn many_instances_on_one_core_deliver_in_order_and_shut_down_one_by_one() {
    const LISTENERS: u32 = 24;
    const FRAMES: u64 = 200;
    let _serial = SERIAL.lock();
    let mcu = mcu(LISTENERS);
    let threads0 = threads();
    let core = SharedCore::new(2, 2).expect("core");
    assert_eq!(
        threads(),
        threads0 + 4,
        "two network, two dispatcher threads"
    );

    let chair = join(&core, &mcu, "chair");
    let chair_id = chair.sdk.own_user().expect("own user").id;
    assert_eq!(chair.sdk.bcast(MediaKind::Video, chair_id, true), Ok(()));
    let listeners: Vec<Instance> = (1..=LISTENERS)
        .map(|i| {
            let listener = join(&core, &mcu, &format!("u{i}"));
            assert_eq!(
                listener
                    .sdk
                    .recv_stream(chair_id, MediaType::VideoMajor, true),
                Ok(())
            );
            listener
        })
        .collect();
    assert_eq!(
        threads(),
        threads0 + 4,
        "instances bring no threads of their own"
    );

    send_frames(&chair, 0, FRAMES);
    for listener in &listeners {
        assert_frames_in_order(listener, chair_id, FRAMES);
        assert_delivered_in_order(listener);
    }
    let dispatchers: HashSet<ThreadId> = listeners
        .iter()
        .flat_map(|l| l.seen.threads.lock().clone())
        .collect();
    assert_eq!(dispatchers.len(), 2, "the instances are spread over both");

    // One listener goes: the others, on the same threads, carry on.
    let (gone, listeners) = listeners.split_first().expect("listeners");
    let gone_id = gone.sdk.own_user().expect("own user").id;
    let seen_before = gone.seen.log.mark();
    gone.sdk.shutdown();
    assert!(
        gone.seen.dropped.load(Ordering::Acquire),
        "its sink is dropped"
    );
    chair
        .seen
        .log
        .wait_state(StateId::UserLeave, |s| user_id(s) == Some(gone_id));
    send_frames(&chair, FRAMES, 2 * FRAMES);
    for listener in listeners {
        assert_frames_in_order(listener, chair_id, 2 * FRAMES);
        assert_delivered_in_order(listener);
        assert_eq!(listener.sdk.user_count(), Ok(LISTENERS as usize));
    }
    assert_eq!(gone.seen.log.mark(), seen_before, "nothing after shutdown");
    assert_eq!(gone.sdk.user_count(), Err(ErrorCode::InitErr));

    // Every instance stopped: the core still runs until it is dropped.
    for listener in listeners {
        listener.sdk.shutdown();
    }
    chair.sdk.shutdown();
    assert_eq!(settle_threads(threads0 + 4), threads0 + 4);
    drop(core);
    assert_eq!(settle_threads(threads0), threads0, "every thread joined");
}

/// Each call a callback made, with its result.
type Results = Arc<Mutex<Vec<(&'static str, Result<(), ErrorCode>)>>>;

/// Drives a session from inside its callbacks, blocking on the MCU each time, and finally
/// shuts its own instance down; records every call's result.
struct Driver {
    sdk: Arc<OnceLock<Weak<Sdk>>>,
    results: Results,
}

impl EventSink for Driver {
    fn deliver(&mut self, event: Event) {
        let (Some(sdk), Event::State(state)) = (self.sdk.get().and_then(Weak::upgrade), event)
        else {
            return;
        };
        let mut results = self.results.lock();
        match state.state {
            StateId::LoginMcu => results.push(("login_room", sdk.login_room(ROOM))),
            StateId::LoginRoom => results.push(("send_chat", sdk.send_chat(0, 0, b"hello"))),
            StateId::UserChat => results.push(("logout_room", sdk.logout_room())),
            StateId::RoomExit => {
                sdk.shutdown();
                results.push(("after shutdown", sdk.user_count().map(drop)));
            }
            _ => {}
        }
    }
}

/// Shuts another instance down from inside its own callback, on LOGIN_ROOM.
struct Stopper {
    victim: Arc<Mutex<Option<Arc<Sdk>>>>,
}

impl EventSink for Stopper {
    fn deliver(&mut self, event: Event) {
        if let Event::State(state) = event
            && state.state == StateId::LoginRoom
            && let Some(victim) = self.victim.lock().take()
        {
            victim.shutdown();
        }
    }
}

#[test]
fn callbacks_block_and_shut_instances_down_on_one_shared_dispatcher_thread() {
    let _serial = SERIAL.lock();
    let mcu = mcu(4);
    let port = mcu.addr.port();
    let threads0 = threads();
    // One dispatcher thread for everyone: every callback below runs on it.
    let core = SharedCore::new(1, 1).expect("core");
    let watcher = join(&core, &mcu, "chair");
    let Instance {
        sdk: victim,
        seen: victim_seen,
    } = join(&core, &mcu, "u2");
    let victim_id = victim.own_user().expect("own user").id;
    let stopper = Sdk::start_on(
        &core,
        SdkConfig::default(),
        Tuning::default(),
        Box::new(Stopper {
            victim: Arc::new(Mutex::new(Some(Arc::new(victim)))),
        }),
    )
    .expect("start_on");
    let slot = Arc::new(OnceLock::new());
    let results: Results = Arc::default();
    let driven = Arc::new(
        Sdk::start_on(
            &core,
            SdkConfig::default(),
            Tuning::default(),
            Box::new(Driver {
                sdk: Arc::clone(&slot),
                results: Arc::clone(&results),
            }),
        )
        .expect("start_on"),
    );
    slot.set(Arc::downgrade(&driven)).expect("set once");
    // The handle may go while instances run: they keep the threads.
    drop(core);

    // Blocking calls from callbacks, then the instance shuts itself down from one.
    let mark = watcher.seen.log.mark();
    assert_eq!(driven.connect("127.0.0.1", port, "u1", "u1"), Ok(()));
    // Ids follow the accounts' order: chair 1, u1 2, …
    let driven_id = 10_002;
    watcher
        .seen
        .log
        .wait_state(StateId::UserLeave, |s| user_id(s) == Some(driven_id));
    let deadline = Instant::now() + WAIT;
    while results.lock().len() < 4 {
        assert!(Instant::now() < deadline, "{:?}", results.lock());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(
        *results.lock(),
        vec![
            ("login_room", Ok(())),
            ("send_chat", Ok(())),
            ("logout_room", Ok(())),
            ("after shutdown", Err(ErrorCode::InitErr)),
        ]
    );
    assert_eq!(
        driven.connect("127.0.0.1", port, "u1", "u1"),
        Err(ErrorCode::InitErr)
    );
    let chats = watcher
        .seen
        .log
        .states_since(mark)
        .iter()
        .filter(|s| s.state == StateId::UserChat)
        .count();
    assert_eq!(chats, 1);

    // The thread still serves the others: a callback there shuts another instance of the
    // same thread down.
    assert_eq!(stopper.connect("127.0.0.1", port, "u3", "u3"), Ok(()));
    assert_eq!(stopper.login_room(ROOM), Ok(()));
    watcher
        .seen
        .log
        .wait_state(StateId::UserLeave, |s| user_id(s) == Some(victim_id));
    let deadline = Instant::now() + WAIT;
    while !victim_seen.dropped.load(Ordering::Acquire) {
        assert!(
            Instant::now() < deadline,
            "the victim's sink was not dropped"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_delivered_in_order(&watcher);

    // The last instance's shutdown joins the core's threads.
    drop(driven);
    stopper.shutdown();
    watcher.sdk.shutdown();
    assert_eq!(settle_threads(threads0), threads0, "every thread joined");
}

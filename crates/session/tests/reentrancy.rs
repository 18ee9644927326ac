//! Callbacks calling back into the SDK on the dispatcher thread: blocking requests, room
//! login/logout, disconnect, connect and finally shutdown, all from inside the sink.

mod common;

use std::sync::{Arc, OnceLock, Weak};

use common::{Client, Log, user_id};
use conference_session::{ErrorCode, Event, EventExtra, EventSink, Sdk, SdkConfig, StateId};
use conference_testkit::{McuProcess, TestConfig};
use parking_lot::Mutex;

/// Each call made from a callback, with its result.
type Results = Arc<Mutex<Vec<(&'static str, Result<(), ErrorCode>)>>>;

/// Drives a whole session from inside the callbacks and records every call's result.
struct Driver {
    sdk: Arc<OnceLock<Weak<Sdk>>>,
    log: Arc<Log>,
    results: Results,
    port: u16,
    reconnected: bool,
}

impl Driver {
    fn record(&self, what: &'static str, result: Result<(), ErrorCode>) {
        self.results.lock().push((what, result));
    }
}

impl EventSink for Driver {
    fn deliver(&mut self, event: Event) {
        let sdk = self.sdk.get().and_then(Weak::upgrade);
        let state = match &event {
            Event::State(state) => Some(state.clone()),
            Event::Media(_) => None,
        };
        self.log.push(event);
        let (Some(sdk), Some(state)) = (sdk, state) else {
            return;
        };
        match state.state {
            StateId::LoginMcu => {
                self.record("room_count", sdk.room_count().map(|n| assert_eq!(n, 1)));
                // Blocks on the MCU from the dispatcher thread.
                self.record("login_room", sdk.login_room(1001));
            }
            StateId::LoginRoom => {
                self.record("user_count", sdk.user_count().map(drop));
                self.record("send_chat", sdk.send_chat(0, 0, b"from a callback"));
            }
            StateId::UserChat => {
                self.record("own_user", sdk.own_user().map(drop));
                self.record("logout_room", sdk.logout_room());
            }
            StateId::RoomExit if !self.reconnected => {
                self.record("disconnect", sdk.disconnect());
                // The session is idle: connect again from the callback.
                self.reconnected = true;
                self.record(
                    "connect",
                    sdk.connect("127.0.0.1", self.port, "class1", "class1"),
                );
            }
            StateId::RoomExit => {
                // Second round: stop everything from inside the callback.
                sdk.shutdown();
                self.record("after shutdown", sdk.room_count().map(drop));
            }
            _ => {}
        }
    }
}

#[test]
fn any_call_works_from_inside_a_callback_shutdown_included() {
    let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
    let watcher = Client::join(&mcu, "teacher", SdkConfig::default());
    let slot = Arc::new(OnceLock::new());
    let log = Arc::new(Log::default());
    let results: Results = Arc::new(Mutex::new(Vec::new()));
    let sdk = Arc::new(
        Sdk::start(
            SdkConfig::default(),
            Box::new(Driver {
                sdk: Arc::clone(&slot),
                log: Arc::clone(&log),
                results: Arc::clone(&results),
                port: mcu.addr.port(),
                reconnected: false,
            }),
        )
        .expect("start"),
    );
    slot.set(Arc::downgrade(&sdk)).expect("set once");
    assert_eq!(
        sdk.connect("127.0.0.1", mcu.addr.port(), "class1", "class1"),
        Ok(())
    );

    // Two rounds of enter/chat/leave seen by the watcher, then the shutdown in the callback.
    for _ in 0..2 {
        watcher
            .log
            .wait_state(StateId::UserLeave, |s| user_id(s) == Some(10_002));
    }
    let deadline = std::time::Instant::now() + common::WAIT;
    while results.lock().last().map(|r| r.0) != Some("after shutdown") {
        assert!(std::time::Instant::now() < deadline, "{:?}", results.lock());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let results = results.lock().clone();
    let ok = |name| (name, Ok(()));
    assert_eq!(
        results,
        vec![
            ok("room_count"),
            ok("login_room"),
            ok("user_count"),
            ok("send_chat"),
            ok("own_user"),
            ok("logout_room"),
            ok("disconnect"),
            ok("connect"),
            ok("room_count"),
            ok("login_room"),
            ok("user_count"),
            ok("send_chat"),
            ok("own_user"),
            ok("logout_room"),
            ("after shutdown", Err(ErrorCode::InitErr)),
        ]
    );
    // The test thread sees the library shut down, and nothing is delivered any more.
    assert_eq!(
        sdk.connect("127.0.0.1", mcu.addr.port(), "class1", "x"),
        Err(ErrorCode::InitErr)
    );
    sdk.shutdown();
    let chats = log
        .states()
        .iter()
        .filter(|s| matches!(&s.extra, EventExtra::Chat(_)))
        .count();
    assert_eq!(chats, 2);
}

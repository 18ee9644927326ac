//! Shared helpers of the session's end-to-end tests: an event sink that records everything
//! and lets the test wait for a given event, and clients connected to the real MCU.
//!
//! Several test binaries share this module and not all of them use every item: those
//! carry `#[allow(dead_code)]` one by one (an item no binary uses is removed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use conference_session::{
    Event, EventExtra, EventSink, MediaEvent, Sdk, SdkConfig, StateEvent, StateId, UserInfo,
};
use conference_testkit::{McuProcess, TestConfig};
use parking_lot::{Condvar, Mutex};

/// How long a test waits for an event that must come. Generous: only a failure waits it out.
#[allow(dead_code)]
pub const WAIT: Duration = Duration::from_secs(10);

/// What one client's sink has seen, shared with the test thread.
#[derive(Default)]
pub struct Log {
    events: Mutex<Vec<Event>>,
    changed: Condvar,
}

impl Log {
    pub fn push(&self, event: Event) {
        self.events.lock().push(event);
        self.changed.notify_all();
    }

    #[allow(dead_code)]
    pub fn all(&self) -> Vec<Event> {
        self.events.lock().clone()
    }

    #[allow(dead_code)]
    pub fn states(&self) -> Vec<StateEvent> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                Event::State(s) => Some(s.clone()),
                Event::Media(_) => None,
            })
            .collect()
    }

    #[allow(dead_code)]
    pub fn media(&self) -> Vec<MediaEvent> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                Event::Media(m) => Some(m.clone()),
                Event::State(_) => None,
            })
            .collect()
    }

    #[allow(dead_code)]
    pub fn clear(&self) {
        self.events.lock().clear();
    }

    /// A position in the log: the `*_since` waits only look at later events.
    #[allow(dead_code)]
    pub fn mark(&self) -> usize {
        self.events.lock().len()
    }

    /// Waits until an event satisfies `pred`; returns it. Panics after [`WAIT`].
    #[allow(dead_code)]
    pub fn wait_for(&self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        self.wait_for_since(0, what, pred)
    }

    #[allow(dead_code)]
    pub fn wait_for_since(&self, mark: usize, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = Instant::now() + WAIT;
        let mut events = self.events.lock();
        loop {
            if let Some(found) = events.iter().skip(mark).find(|e| pred(e)) {
                return found.clone();
            }
            if self.changed.wait_until(&mut events, deadline).timed_out() {
                let seen: Vec<String> = events.iter().map(describe).collect();
                panic!("timed out waiting for {what}; seen: {seen:#?}");
            }
        }
    }

    /// Waits for a state event with this id (and predicate on it).
    #[allow(dead_code)]
    pub fn wait_state(&self, state: StateId, pred: impl Fn(&StateEvent) -> bool) -> StateEvent {
        self.wait_state_since(0, state, pred)
    }

    #[allow(dead_code)]
    pub fn wait_state_since(
        &self,
        mark: usize,
        state: StateId,
        pred: impl Fn(&StateEvent) -> bool,
    ) -> StateEvent {
        match self.wait_for_since(
            mark,
            &format!("{state:?}"),
            |e| matches!(e, Event::State(s) if s.state == state && pred(s)),
        ) {
            Event::State(s) => s,
            Event::Media(_) => unreachable!(),
        }
    }

    /// Waits until `count` media events satisfy `pred`.
    #[allow(dead_code)]
    pub fn wait_media(&self, count: usize, pred: impl Fn(&MediaEvent) -> bool) -> Vec<MediaEvent> {
        let deadline = Instant::now() + WAIT;
        let mut events = self.events.lock();
        loop {
            let found: Vec<MediaEvent> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Media(m) if pred(m) => Some(m.clone()),
                    _ => None,
                })
                .collect();
            if found.len() >= count {
                return found;
            }
            if self.changed.wait_until(&mut events, deadline).timed_out() {
                panic!(
                    "timed out waiting for {count} media events, got {}",
                    found.len()
                );
            }
        }
    }

    /// The state events after `mark`.
    #[allow(dead_code)]
    pub fn states_since(&self, mark: usize) -> Vec<StateEvent> {
        self.events
            .lock()
            .iter()
            .skip(mark)
            .filter_map(|e| match e {
                Event::State(s) => Some(s.clone()),
                Event::Media(_) => None,
            })
            .collect()
    }

    /// Timestamps of the mixed track's frames so far, and how many times one was not the
    /// previous + 20 ms (a hole, or a frame twice).
    #[allow(dead_code)]
    pub fn mixed_track(&self) -> (Vec<u64>, usize) {
        let stamps: Vec<u64> = self
            .media()
            .iter()
            .filter(|m| m.user_id == conference_session::MIXER_USER_ID)
            .map(|m| m.header.timestamp)
            .collect();
        let holes = stamps.windows(2).filter(|w| w[1] != w[0] + 20).count();
        (stamps, holes)
    }

    /// The state events with this id seen so far.
    #[allow(dead_code)]
    pub fn count_state(&self, state: StateId) -> usize {
        self.states().iter().filter(|s| s.state == state).count()
    }
}

#[allow(dead_code)]
fn describe(event: &Event) -> String {
    match event {
        Event::State(s) => format!(
            "{:?} result={:#x} user={:?} extra={:?}",
            s.state,
            s.result_code(),
            s.user.as_ref().map(|u| u.id),
            s.extra
        ),
        Event::Media(m) => format!(
            "media user={} {:?} {} bytes",
            m.user_id,
            m.media_type,
            m.payload.len()
        ),
    }
}

/// A sink recording into a [`Log`].
#[allow(dead_code)]
pub struct Recorder(pub Arc<Log>);

impl EventSink for Recorder {
    fn deliver(&mut self, event: Event) {
        self.0.push(event);
    }
}

/// One SDK instance with its log.
#[allow(dead_code)]
pub struct Client {
    pub sdk: Sdk,
    pub log: Arc<Log>,
}

impl Client {
    #[allow(dead_code)]
    pub fn start(config: SdkConfig) -> Client {
        let log = Arc::new(Log::default());
        let sdk = Sdk::start(config, Box::new(Recorder(Arc::clone(&log)))).expect("start");
        Client { sdk, log }
    }

    /// An instance that does not ask for resume: every cut ends its session.
    #[allow(dead_code)]
    pub fn start_without_resume(config: SdkConfig) -> Client {
        let log = Arc::new(Log::default());
        let tuning = conference_session::Tuning {
            resume: false,
            ..conference_session::Tuning::default()
        };
        let sdk =
            Sdk::start_with(config, tuning, Box::new(Recorder(Arc::clone(&log)))).expect("start");
        Client { sdk, log }
    }

    /// Started, connected as `name` (password = name) and in room 1001.
    #[allow(dead_code)]
    pub fn join(mcu: &McuProcess, name: &str, config: SdkConfig) -> Client {
        let client = Client::start(config);
        client
            .sdk
            .connect("127.0.0.1", mcu.addr.port(), name, name)
            .unwrap_or_else(|e| panic!("connect {name}: {e:?}"));
        client
            .sdk
            .login_room(1001)
            .unwrap_or_else(|e| panic!("login {name}: {e:?}"));
        client
    }

    #[allow(dead_code)]
    pub fn own_id(&self) -> u32 {
        self.sdk.own_user().expect("own user").id
    }

    #[allow(dead_code)]
    pub fn user(&self, id: u32) -> UserInfo {
        self.sdk.user(id).expect("user in cache")
    }
}

/// A state event's user id.
#[allow(dead_code)]
pub fn user_id(event: &StateEvent) -> Option<u32> {
    event.user.as_ref().map(|u| u.id)
}

#[allow(dead_code)]
pub fn is_none(extra: &EventExtra) -> bool {
    matches!(extra, EventExtra::None)
}

/// The demo MCU (teacher = chair id 1, class1..class8 = ids 2..9, room 1001) and clients in
/// room 1001, each having seen the others enter.
#[allow(dead_code)]
pub struct Lesson {
    #[allow(dead_code)]
    pub mcu: McuProcess,
    pub clients: Vec<Client>,
}

impl Lesson {
    #[allow(dead_code)]
    pub fn start(names: &[&str]) -> Lesson {
        let mcu = McuProcess::spawn(Some(&TestConfig::demo().to_toml()));
        let clients: Vec<Client> = names
            .iter()
            .map(|name| Client::join(&mcu, name, SdkConfig::default()))
            .collect();
        for (i, early) in clients.iter().enumerate() {
            for late in &clients[i + 1..] {
                let id = late.own_id();
                early
                    .log
                    .wait_state(StateId::UserEnter, |s| user_id(s) == Some(id));
            }
            assert_eq!(early.sdk.user_count(), Ok(names.len()));
        }
        Lesson { mcu, clients }
    }
}

/// The demo's user id of `name`.
#[allow(dead_code)]
pub fn id_of(name: &str) -> u32 {
    match name {
        "teacher" => 10_001,
        other => {
            other
                .strip_prefix("class")
                .and_then(|n| n.parse::<u32>().ok())
                .expect("demo account")
                + 10_001
        }
    }
}

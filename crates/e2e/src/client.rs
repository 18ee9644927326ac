//! What the helper binaries share: a session whose events arrive on a channel, logged in and
//! in a room, and bounded retries of calls the MCU refuses until the other side is ready.

use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use conference_session::{ErrorCode, Event, EventSink, MixerFormat, Sdk, SdkConfig};

/// How long a helper waits for a peer (joining, granting, subscribing) before giving up.
pub const PEER_WAIT: Duration = Duration::from_secs(15);

/// A session in a room; its events (state and media) arrive on `events`.
pub struct Client {
    pub sdk: Sdk,
    pub events: Receiver<Event>,
    pub own_id: u32,
}

/// Hands every event to the helper's main thread (unbounded: a helper reads it all the time).
struct ChannelSink(Sender<Event>);

impl EventSink for ChannelSink {
    fn deliver(&mut self, event: Event) {
        let _ = self.0.send(event);
    }
}

impl Client {
    /// Starts a session (with a mixer when `mixer` is set), logs in and enters `room`.
    pub fn join(
        mcu: SocketAddr,
        username: &str,
        password: &str,
        room: u32,
        mixer: Option<MixerFormat>,
    ) -> Result<Client, String> {
        let (tx, events) = mpsc::channel();
        let config = SdkConfig {
            mixer,
            ..SdkConfig::default()
        };
        let sdk =
            Sdk::start(config, Box::new(ChannelSink(tx))).map_err(|e| format!("start: {e:?}"))?;
        sdk.connect(&mcu.ip().to_string(), mcu.port(), username, password)
            .map_err(|e| format!("connect as {username}: {e:?}"))?;
        sdk.login_room(room)
            .map_err(|e| format!("enter room {room}: {e:?}"))?;
        let own_id = sdk.own_user().map_err(|e| format!("own user: {e:?}"))?.id;
        Ok(Client {
            sdk,
            events,
            own_id,
        })
    }

    /// Leaves the room and the MCU; errors only logged (the helper is finishing anyway).
    pub fn leave(self) {
        if let Err(e) = self.sdk.logout_room() {
            eprintln!("logout: {e:?}");
        }
        if let Err(e) = self.sdk.disconnect() {
            eprintln!("disconnect: {e:?}");
        }
        self.sdk.shutdown();
    }
}

/// Calls `call` until it succeeds, while it fails with one of `wait_for` (the peer is not
/// there or not ready yet), for at most [`PEER_WAIT`].
pub fn retry(
    what: &str,
    wait_for: &[ErrorCode],
    mut call: impl FnMut() -> Result<(), ErrorCode>,
) -> Result<(), String> {
    let deadline = Instant::now() + PEER_WAIT;
    loop {
        match call() {
            Ok(()) => return Ok(()),
            Err(code) if wait_for.contains(&code) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(code) => return Err(format!("{what}: {code:?}")),
        }
    }
}

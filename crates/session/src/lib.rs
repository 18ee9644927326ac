//! The session core of `libconference_sdk`: plain Rust, no C types.
//!
//! [`Sdk`] is what the C facade drives: one value per `init` … `uninit`. Control calls block
//! until the MCU answers (or a timeout); `get_*` calls answer from a local cache; events reach
//! the application through an [`EventSink`] called on the instance's dispatcher thread.
//!
//! The API surface below is the contract between the C facade (`src/ffi/`) and this crate.
//!
//! # Threads
//! An `Sdk` started with [`Sdk::start`] (what the C facade does: one process, one instance)
//! runs three threads of its own (four with the mixer): `conference-net` (a current-thread
//! tokio runtime: the MCU connection, its reader and writer tasks), `conference-dispatch`
//! (calls the [`EventSink`]), `conference-mixer` (with [`SdkConfig::mixer`]) and, only while a
//! host name is being looked up, one `conference-resolve`. Many instances of one process (the
//! load generator) can instead share the network and dispatcher threads of a [`SharedCore`]
//! ([`Sdk::start_on`]); the mixer thread stays per instance. A per-instance `Sdk` is exactly
//! that with a core of its own, one thread of each kind. The calling thread of a control call
//! blocks on a std channel, never inside a runtime, so any method may be called from any
//! thread, including from inside the sink.
//!
//! # Events of the calls themselves
//! - `connect` fires `LOGIN_MCU` (room count) or `CONNECT_MCU_FAILED` (the error) for every
//!   attempt that got past the local state check (`ReloginedErr`, `InitErr` fire nothing).
//! - `login_room` fires `LOGIN_ROOM` (own user, room) or `LOGIN_ROOM_FAILED` (the error,
//!   `Timeout` included) likewise.
//! - `disconnect` fires nothing: it sends `Goodbye`, closes the socket and forgets the
//!   session (room included) at once; events the MCU sent before are still delivered.
//! - `logout_room` returns the MCU's answer; the MCU's `ROOM_EXIT` (Success) is queued before
//!   it returns.
//! - Connection loss (EOF, socket error, 3 heartbeats of silence, `Bye`) fires `USER_CLOSE`
//!   with `NetworkException` or the `Bye` code (also after a `ROOM_EXIT` for the same cause);
//!   the session is then idle and `connect` works.
//! - `shutdown` fires nothing; events still queued are discarded. It waits for a callback
//!   of the instance running on another thread to return; called from the instance's own
//!   callback, it does not wait for it (nor for its own dispatcher thread, which ends when
//!   the callback returns).
//!
//! The full list of decisions is the "Session" section of `docs/DECISIONS.md`.
//!
//! # Layout
//! - `lib.rs`: [`Sdk`], its configuration and its public types (this API).
//! - `session.rs`: the shared state of one instance (phase, cache, the events it emits);
//!   `cache.rs` the users and rooms `get_*` answer from, `roster.rs` the roster the application
//!   has been told, `convert.rs` wire values to API values.
//! - `connection.rs`: one MCU connection, a driver of `conference_proto::client::ClientConn`
//!   (the protocol itself, no I/O): connect, TLS (`tls.rs`, `tls/der.rs`), the reader and
//!   writer tasks; `requests.rs` the callers waiting for their responses.
//! - `media.rs`: the send queue of `send_stream`; `uplink.rs`: which streams are withheld
//!   while nobody watches them; `gate.rs`: the receive drop policy towards the dispatcher.
//! - `dispatcher.rs`: the thread that calls the [`EventSink`]; `runtime.rs`, `core.rs`: the
//!   network and dispatcher threads, per instance or shared ([`SharedCore`]).
//! - `mixer_glue.rs`: received audio to the mixer thread, its output to the sink.
//! - `stats.rs`: the counters of `conference_get_stats`.

mod cache;
mod connection;
mod convert;
mod core;
mod dispatcher;
mod gate;
mod media;
mod mixer_glue;
mod requests;
mod roster;
mod runtime;
mod session;
mod stats;
mod tls;
mod uplink;

use std::sync::Arc;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use bytes::Bytes;
pub use conference_proto::message::StateId;
use conference_proto::pb::client_message::Body;
pub use conference_proto::pb::{
    AuxInfo, ChatInfo, LookedInfo, RoomInfo, TransparentInfo, UserInfo,
};
pub use conference_proto::{ErrorCode, MediaHeader, MediaType};
use conference_proto::{MAX_CHAT_BYTES, MAX_TRANSPARENT_BYTES, pb};
pub use core::SharedCore;
pub use gate::{DropStats, MediaBudget};
pub use media::SendBudget;
use parking_lot::Mutex;
pub use stats::{SdkStats, StreamCount};
pub use tls::{TlsMode, TlsSettings, parse_pin, pin_of, set_tls};
pub use uplink::WithheldStats;

use crate::cache::Cache;
use crate::connection::ConnectParams;
use crate::core::Attachment;
use crate::dispatcher::Queue;
use crate::mixer_glue::MixerGlue;
use crate::requests::RequestKind;
use crate::roster::Roster;
use crate::session::{Phase, Shared};
use crate::stats::Uplinked;

pub type Result<T> = std::result::Result<T, ErrorCode>;

/// Output format of the audio mixer (`audio_mixer_props_t`), already validated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MixerFormat {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits: u16,
}

impl MixerFormat {
    /// Checks the formats SPEC §3 allows.
    pub fn new(sample_rate: i32, channels: i32, bits: i32) -> Result<Self> {
        let rate_ok = matches!(sample_rate, 8000 | 16000 | 32000 | 44100 | 48000);
        let channels_ok = matches!(channels, 1 | 2);
        let bits_ok = matches!(bits, 16 | 32);
        if !(rate_ok && channels_ok && bits_ok) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(MixerFormat {
            sample_rate: sample_rate as u32,
            channels: channels as u16,
            bits: bits as u16,
        })
    }
}

/// Settings of one SDK instance.
#[derive(Clone, Debug)]
pub struct SdkConfig {
    /// `None` disables the mixer.
    pub mixer: Option<MixerFormat>,
    /// Bound on `connect`, `login_room` and every other MCU request.
    pub request_timeout: Duration,
}

impl Default for SdkConfig {
    fn default() -> Self {
        SdkConfig {
            mixer: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Internal bounds, for the load generator and tests; the defaults suit a recorder.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Media that may wait for a slow [`EventSink`] before frames are dropped.
    pub media_budget: MediaBudget,
    /// Bound of the `send_stream` queue (`QueueFullErr` beyond).
    pub send_budget: SendBudget,
    /// How long a closing connection waits for its Goodbye to be flushed and for the MCU to
    /// close its side (each), so that `disconnect` returns with the MCU done with the session.
    pub disconnect_grace: Duration,
    /// Keep the frames of streams nobody subscribes to off the wire (when the MCU says who
    /// watches: docs/PROTOCOL.md, "Stream demand").
    pub withhold_unwatched: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            media_budget: MediaBudget::default(),
            send_budget: SendBudget::default(),
            disconnect_grace: Duration::from_secs(1),
            withhold_unwatched: true,
        }
    }
}

/// `invite_type_e`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InviteType {
    Video = 0,
    Audio = 1,
}

/// Which of a user's two permissioned streams an `auth_*`, `check_*` or `bcast_*` call is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
}

/// Transparent data type (`send_transparent_data`'s `data_type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DataType {
    Binary = 0,
    String = 1,
}

/// The `append_data` of a state event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventExtra {
    None,
    /// LOGIN_MCU: number of rooms.
    RoomCount(i32),
    /// LOGIN_ROOM: the room joined.
    Room(RoomInfo),
    Looked(LookedInfo),
    Chat(ChatInfo),
    InviteType(InviteType),
    Transparent(TransparentInfo),
    Aux(AuxInfo),
    /// USER_VPOS: layout position.
    Position(i32),
}

/// One `on_conference_state` call (plus `on_conference_chat` for USER_CHAT).
#[derive(Clone, Debug, PartialEq)]
pub struct StateEvent {
    pub state: StateId,
    /// 0 or a `ret_code_e` value.
    pub result: u32,
    pub user: Option<UserInfo>,
    pub extra: EventExtra,
}

/// One `on_conference_stream_data` call.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaEvent {
    pub header: MediaHeader,
    pub payload: Bytes,
    /// Sender, or `MIXER_USER_ID` for the mixed audio.
    pub user_id: i32,
    pub media_type: MediaType,
}

/// `user_id` of the mixed audio track (`CONFERENCE_MIXER_USER_ID`).
pub const MIXER_USER_ID: i32 = -1;

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    State(StateEvent),
    Media(MediaEvent),
}

/// Receives the events of one instance, one at a time, in order, on its dispatcher thread.
pub trait EventSink: Send + 'static {
    fn deliver(&mut self, event: Event);
}

/// Keeps the delivered [`Roster`] in step with the events just before the application sees
/// them.
struct RosterSink {
    roster: Arc<Mutex<Roster>>,
    inner: Box<dyn EventSink>,
}

impl EventSink for RosterSink {
    fn deliver(&mut self, event: Event) {
        if let Event::State(state) = &event {
            self.roster.lock().deliver(state);
        }
        self.inner.deliver(event);
    }
}

/// One SDK instance: from `init` to `uninit`.
pub struct Sdk {
    shared: Arc<Shared>,
    /// Taken at shutdown.
    attachment: Mutex<Option<Attachment>>,
}

impl Sdk {
    /// Starts the instance on threads of its own (one network, one dispatcher thread) and,
    /// with a mixer format, the mixer thread.
    pub fn start(config: SdkConfig, sink: Box<dyn EventSink>) -> Result<Sdk> {
        Sdk::start_with(config, Tuning::default(), sink)
    }

    /// [`Sdk::start`] with explicit internal bounds.
    pub fn start_with(config: SdkConfig, tuning: Tuning, sink: Box<dyn EventSink>) -> Result<Sdk> {
        // The instance holds the only other reference: its shutdown joins these threads.
        let core = SharedCore::new(1, 1)?;
        Sdk::start_on(&core, config, tuning, sink)
    }

    /// Starts an instance on the threads of `core`, shared with the other instances started
    /// on it (see [`SharedCore`] for what sharing a dispatcher thread means for callbacks).
    /// With a mixer format the instance has a mixer thread of its own.
    pub fn start_on(
        core: &SharedCore,
        config: SdkConfig,
        tuning: Tuning,
        sink: Box<dyn EventSink>,
    ) -> Result<Sdk> {
        let attachment = core.attach();
        let roster = Arc::new(Mutex::new(Roster::default()));
        let sink = Box::new(RosterSink {
            roster: Arc::clone(&roster),
            inner: sink,
        });
        let events = Queue::new(attachment.worker(), tuning.media_budget, sink);
        let mixer = match config.mixer {
            Some(format) => match MixerGlue::start(format, Arc::clone(&events)) {
                Ok(mixer) => Some(mixer),
                Err(err) => {
                    events.stop();
                    return Err(err);
                }
            },
            None => None,
        };
        let shared = Arc::new(Shared::new(
            config,
            tuning,
            attachment.runtime(),
            events,
            roster,
            mixer,
        ));
        Ok(Sdk {
            shared,
            attachment: Mutex::new(Some(attachment)),
        })
    }

    /// Media frames dropped so far because the sink could not keep up.
    pub fn media_drop_stats(&self) -> DropStats {
        self.shared.events.stats()
    }

    /// Frames of the current connection kept off the wire because nobody watched them.
    pub fn withheld_stats(&self) -> WithheldStats {
        self.shared
            .state
            .lock()
            .connected()
            .map(|conn| conn.uplink.lock().stats())
            .unwrap_or_default()
    }

    /// Stops the instance: a connected session is closed as by [`Sdk::disconnect`] (no
    /// event), events still queued are discarded and the sink is dropped; the instance's own
    /// threads are joined (with [`Sdk::start_on`]: the core's threads keep running for the
    /// other instances). Called from inside this instance's callback it does not wait for
    /// that callback, which delivers nothing more once it returns (and a thread of the
    /// instance's own ends then). Every later call fails with `InitErr`; a second `shutdown`
    /// does nothing.
    pub fn shutdown(&self) {
        let Some(attachment) = self.attachment.lock().take() else {
            return;
        };
        let previous = {
            let mut state = self.shared.state.lock();
            let previous = std::mem::replace(&mut state.phase, Phase::Closed);
            self.shared.reset(&mut state, Phase::Closed);
            state.runtime = None;
            previous
        };
        if let Phase::Connected(conn) = previous {
            conn.close_locally();
            conn.wait_closed(self.shared.tuning.disconnect_grace * 2);
        }
        if let Some(mixer) = self.shared.mixer.lock().take() {
            mixer.stop();
        }
        self.shared.events.stop();
        // The last reference to a core stops and joins its threads.
        drop(attachment);
    }

    /// `connect_MCU`: blocks until the MCU accepted or refused the login (or the timeout).
    pub fn connect(&self, host: &str, port: u16, username: &str, password: &str) -> Result<()> {
        let (generation, runtime) = {
            let mut state = self.shared.state.lock();
            match state.phase {
                Phase::Closed => return Err(ErrorCode::InitErr),
                Phase::Connecting | Phase::Connected(_) => return Err(ErrorCode::ReloginedErr),
                Phase::Idle => {}
            }
            let Some(runtime) = state.runtime.clone() else {
                return Err(ErrorCode::InitErr);
            };
            state.generation += 1;
            state.phase = Phase::Connecting;
            (state.generation, runtime)
        };
        if port == 0 {
            self.shared
                .on_connect_failed(generation, ErrorCode::PortErr);
            return Err(ErrorCode::PortErr);
        }
        let tls = match TlsSettings::effective() {
            Ok(tls) => tls,
            Err(code) => {
                self.shared.on_connect_failed(generation, code);
                return Err(code);
            }
        };
        let params = ConnectParams {
            host: host.to_owned(),
            port,
            username: username.to_owned(),
            password: password.to_owned(),
            tls,
        };
        let (reply, answer) = sync_channel(1);
        runtime.spawn(connection::run(
            Arc::clone(&self.shared),
            generation,
            params,
            reply,
        ));
        drop(runtime);
        // No answer at all: the runtime stopped under the call (a concurrent `shutdown`).
        answer.recv().unwrap_or(Err(ErrorCode::InitErr))
    }

    /// `disconnect_MCU`: sends Goodbye, closes the connection and forgets the session. Fires
    /// no event. Returns once the MCU closed its side too (bounded by the disconnect grace).
    pub fn disconnect(&self) -> Result<()> {
        let conn = {
            let mut state = self.shared.state.lock();
            let conn = state.connected()?;
            self.shared.exit_room_locally(&state, 0);
            self.shared.reset(&mut state, Phase::Idle);
            conn
        };
        conn.close_locally();
        conn.wait_closed(self.shared.tuning.disconnect_grace * 2);
        Ok(())
    }

    pub fn room_count(&self) -> Result<usize> {
        self.read_cache(Cache::room_count)
    }

    /// `room_idx` is 0-based.
    pub fn room_info(&self, room_idx: usize) -> Result<RoomInfo> {
        self.read_cache(|cache| cache.room_info(room_idx))
    }

    /// `login_conference_room`: `room` is a listed room's id or its position in the list.
    /// Blocks until the MCU answered (or the timeout). Fires LOGIN_ROOM or LOGIN_ROOM_FAILED.
    pub fn login_room(&self, room: u32) -> Result<()> {
        let (conn, room_id) = {
            let mut state = self.shared.state.lock();
            let conn = state.connected()?;
            if state.cache.in_room() || state.joining {
                return Err(ErrorCode::ReloginedErr);
            }
            let room_id = state.cache.resolve_room(room)?;
            state.joining = true;
            (conn, room_id)
        };
        // Nothing of the new room watches us yet.
        conn.uplink.lock().reset();
        match conn.request(Body::JoinRoom(pb::JoinRoom { room_id }), RequestKind::Join) {
            Ok(response) => {
                ErrorCode::check(response.code)?;
                match response.result {
                    Some(pb::response::Result::Joined(_)) => Ok(()),
                    _ => Err(ErrorCode::MsgErr),
                }
            }
            Err(code) => {
                self.shared.on_join_failed(conn.generation, code);
                Err(code)
            }
        }
    }

    /// `logout_conference_room`: returns the MCU's answer; the room is left in the cache when
    /// it accepts, and its `ROOM_EXIT` event follows.
    pub fn logout_room(&self) -> Result<()> {
        let conn = self.shared.state.lock().in_room()?;
        let response = conn.request(Body::LeaveRoom(pb::LeaveRoom {}), RequestKind::Leave)?;
        ErrorCode::check(response.code)
    }

    pub fn kick(&self, user_id: u32) -> Result<()> {
        self.room_call(Body::Kick(pb::Kick { user_id }))
    }

    pub fn invite(&self, user_id: u32, invite_type: InviteType, on: bool) -> Result<()> {
        self.room_call(Body::Invite(pb::Invite {
            user_id,
            invite_type: convert::invite_type_to_wire(invite_type),
            on,
        }))
    }

    pub fn answer_invite(&self, user_id: u32, accept: bool) -> Result<()> {
        self.room_call(Body::AnswerInvite(pb::AnswerInvite { user_id, accept }))
    }

    /// In a room the cached record; connected outside a room, the id and user name only.
    pub fn own_user(&self) -> Result<UserInfo> {
        self.read_cache(Cache::own_user)
    }

    /// Users in the room, the caller included. Inside a callback, the users its events have
    /// told so far (see [`roster`]: `NotLoginErr` before `LOGIN_ROOM` was delivered and after
    /// the room's last `USER_LEAVE`); elsewhere, the latest state.
    pub fn user_count(&self) -> Result<usize> {
        self.read_cache(|cache| {
            if self.shared.events.is_delivering() {
                return self
                    .shared
                    .roster
                    .lock()
                    .count()
                    .ok_or(ErrorCode::NotLoginErr);
            }
            cache.user_count()
        })
    }

    /// The user whose id is `v`, else the user at position `v` of the room's list (join
    /// order). Inside a callback, positions and presence follow the events told so far.
    pub fn user(&self, v: u32) -> Result<UserInfo> {
        self.read_cache(|cache| {
            if self.shared.events.is_delivering() {
                let roster = self.shared.roster.lock();
                let told = roster.user(v).ok_or(ErrorCode::NotLoginErr)?;
                let told = told.ok_or(ErrorCode::NotFindUserErr)?;
                // The latest record of a user still present; the last one told otherwise.
                return Ok(cache.user_by_id(told.id).unwrap_or(told).clone());
            }
            cache.user(v)
        })
    }

    /// `dst_id` 0 = everyone. `content` is at most 127 bytes of UTF-8.
    pub fn send_chat(&self, dst_id: u32, color: i32, content: &[u8]) -> Result<()> {
        if content.len() > MAX_CHAT_BYTES {
            return Err(ErrorCode::ParamErr);
        }
        self.room_call(Body::Chat(pb::Chat {
            dst_id,
            color,
            content: Bytes::copy_from_slice(content),
        }))
    }

    pub fn apply_master(&self, on: bool) -> Result<()> {
        self.room_call(Body::ApplyMaster(pb::ApplyMaster { on }))
    }

    pub fn apply_talk(&self, on: bool) -> Result<()> {
        self.room_call(Body::ApplyTalk(pb::ApplyTalk { on }))
    }

    pub fn apply_aux(&self, on: bool) -> Result<()> {
        self.room_call(Body::ApplyAux(pb::ApplyAux { on }))
    }

    pub fn ctrl_talk(&self, user_id: u32, on: bool) -> Result<()> {
        self.room_call(Body::CtrlTalk(pb::CtrlTalk { user_id, on }))
    }

    pub fn auth(&self, kind: MediaKind, src_id: u32, dst_id: u32, on: bool) -> Result<()> {
        self.room_call(Body::Auth(pb::Auth {
            kind: convert::media_kind_to_wire(kind),
            src_id,
            dst_id,
            on,
        }))
    }

    pub fn check(&self, kind: MediaKind, user_id: u32, on: bool) -> Result<()> {
        self.room_call(Body::Check(pb::Check {
            kind: convert::media_kind_to_wire(kind),
            user_id,
            on,
        }))
    }

    pub fn bcast(&self, kind: MediaKind, user_id: u32, on: bool) -> Result<()> {
        self.room_call(Body::Bcast(pb::Bcast {
            kind: convert::media_kind_to_wire(kind),
            user_id,
            on,
        }))
    }

    pub fn set_interact(&self, user_id: u32) -> Result<()> {
        self.room_call(Body::SetInteract(pb::SetInteract { user_id }))
    }

    /// Queues one media message; never blocks (`QueueFullErr` when the queue is full). Every
    /// header field goes out unchanged; the stream type comes from `media_type`. Aux stream
    /// types need the caller to hold that aux slot (`AccessErr`).
    pub fn send_stream(
        &self,
        header: MediaHeader,
        payload: &[u8],
        media_type: MediaType,
    ) -> Result<()> {
        let conn = {
            let state = self.shared.state.lock();
            let conn = state.in_room()?;
            if let Some(slot) = media_type.aux_slot()
                && !state.cache.holds_aux(slot)
            {
                return Err(ErrorCode::AccessErr);
            }
            conn
        };
        let frame = media::encode_outgoing(header, payload, media_type)?;
        let header = MediaHeader {
            stream_type: media_type as u8,
            ..header
        };
        let (outcome, result) = match conn.send_media(&header, frame) {
            Ok(outcome) => (outcome, Ok(())),
            Err(code) => (Uplinked::QueueFull, Err(code)),
        };
        self.shared
            .stats
            .uplinked(media_type, payload.len(), outcome);
        result
    }

    /// `conference_get_stats`: the counters since `init` and the current link.
    pub fn stats(&self) -> Result<SdkStats> {
        if matches!(self.shared.state.lock().phase, Phase::Closed) {
            return Err(ErrorCode::InitErr);
        }
        Ok(self
            .shared
            .stats
            .snapshot(self.shared.events.stats().frames))
    }

    pub fn recv_stream(&self, user_id: u32, media_type: MediaType, on: bool) -> Result<()> {
        self.room_call(Body::Subscribe(pb::Subscribe {
            user_id,
            media_type: media_type as u32,
            on,
        }))
    }

    /// `dst_id` 0 = everyone; at most 65,536 bytes.
    pub fn send_transparent(&self, dst_id: u32, data: &[u8], data_type: DataType) -> Result<()> {
        if data.len() > MAX_TRANSPARENT_BYTES {
            return Err(ErrorCode::ParamErr);
        }
        self.room_call(Body::Transparent(pb::Transparent {
            dst_id,
            data_type: data_type as u32,
            data: Bytes::copy_from_slice(data),
        }))
    }

    /// A request that needs a room; returns the MCU's accept/refuse code.
    fn room_call(&self, body: Body) -> Result<()> {
        let conn = self.shared.state.lock().in_room()?;
        conn.call(body)
    }

    fn read_cache<T>(&self, read: impl FnOnce(&Cache) -> Result<T>) -> Result<T> {
        let state = self.shared.state.lock();
        if matches!(state.phase, Phase::Closed) {
            return Err(ErrorCode::InitErr);
        }
        read(&state.cache)
    }
}

impl Drop for Sdk {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The C facade keeps one `Sdk` in a global and calls it from any thread.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sdk>();
};

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;

    impl EventSink for Nothing {
        fn deliver(&mut self, _event: Event) {}
    }

    #[test]
    fn state_rules_before_connect_and_after_shutdown() {
        let sdk = Sdk::start(SdkConfig::default(), Box::new(Nothing)).unwrap();
        assert_eq!(sdk.room_count(), Err(ErrorCode::NotLoginErr));
        assert_eq!(sdk.own_user(), Err(ErrorCode::NotLoginErr));
        assert_eq!(sdk.login_room(1), Err(ErrorCode::NotLoginErr));
        assert_eq!(sdk.logout_room(), Err(ErrorCode::NotLoginErr));
        assert_eq!(sdk.disconnect(), Err(ErrorCode::NotLoginErr));
        assert_eq!(sdk.kick(2), Err(ErrorCode::NotLoginErr));
        assert_eq!(
            sdk.send_stream(MediaHeader::default(), b"", MediaType::Audio),
            Err(ErrorCode::NotLoginErr)
        );
        // Length limits are checked before anything else.
        assert_eq!(
            sdk.send_chat(0, 0, &[b'a'; MAX_CHAT_BYTES + 1]),
            Err(ErrorCode::ParamErr)
        );
        assert_eq!(
            sdk.send_transparent(0, &vec![0; MAX_TRANSPARENT_BYTES + 1], DataType::Binary),
            Err(ErrorCode::ParamErr)
        );
        sdk.shutdown();
        sdk.shutdown();
        assert_eq!(sdk.room_count(), Err(ErrorCode::InitErr));
        assert_eq!(sdk.disconnect(), Err(ErrorCode::InitErr));
        assert_eq!(sdk.send_chat(0, 0, b"x"), Err(ErrorCode::InitErr));
        assert_eq!(
            sdk.connect("127.0.0.1", 1, "a", "b"),
            Err(ErrorCode::InitErr)
        );
    }

    #[test]
    fn mixer_formats_are_validated() {
        assert!(MixerFormat::new(44_100, 2, 32).is_ok());
        assert_eq!(MixerFormat::new(22_050, 1, 16), Err(ErrorCode::ParamErr));
        assert_eq!(MixerFormat::new(16_000, 3, 16), Err(ErrorCode::ParamErr));
        assert_eq!(MixerFormat::new(16_000, 1, 8), Err(ErrorCode::ParamErr));
        let sdk = Sdk::start(
            SdkConfig {
                mixer: Some(MixerFormat::new(48_000, 2, 16).unwrap()),
                ..SdkConfig::default()
            },
            Box::new(Nothing),
        )
        .unwrap();
        drop(sdk);
    }
}

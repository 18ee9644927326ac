//! [`Sdk`]: one instance, from `init` to `uninit`; what the C facade drives. Control calls
//! check the local state, send one request and block on its answer; `get_*` calls read the
//! cache; `send_stream` queues without blocking.

use std::sync::Arc;
use std::sync::mpsc::sync_channel;

use bytes::Bytes;
use conference_proto::pb::client_message::Body;
use conference_proto::{
    ErrorCode, MAX_CHAT_BYTES, MAX_TRANSPARENT_BYTES, MediaHeader, MediaType, pb,
};
use parking_lot::Mutex;

use crate::Result;
use crate::cache::Cache;
use crate::config::{SdkConfig, Tuning};
use crate::connection::{self, ConnectParams};
use crate::convert;
use crate::core::{Attachment, SharedCore};
use crate::dispatcher::Queue;
use crate::events::{Event, EventSink};
use crate::mixer_glue::MixerGlue;
use crate::receive_policy::DropStats;
use crate::redirect;
use crate::requests::RequestKind;
use crate::roster::Roster;
use crate::send_queue;
use crate::session::{Phase, Session};
use crate::stats::{SdkStats, Uplinked};
use crate::tls::TlsSettings;
use crate::types::{DataType, InviteType, MediaKind, RoomInfo, UserInfo};
use crate::uplink::WithheldStats;

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
    session: Arc<Session>,
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
        let session = Arc::new(Session::new(
            config,
            tuning,
            attachment.runtime(),
            events,
            roster,
            mixer,
        ));
        Ok(Sdk {
            session,
            attachment: Mutex::new(Some(attachment)),
        })
    }

    /// Media frames dropped so far because the sink could not keep up.
    pub fn media_drop_stats(&self) -> DropStats {
        self.session.events.stats()
    }

    /// Frames of the current connection kept off the wire because nobody watched them.
    pub fn withheld_stats(&self) -> WithheldStats {
        self.session
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
            let mut state = self.session.state.lock();
            let previous = std::mem::replace(&mut state.phase, Phase::Closed);
            self.session.reset(&mut state, Phase::Closed);
            state.runtime = None;
            previous
        };
        if let Phase::Connected(conn) = previous {
            conn.close_locally();
            conn.wait_closed(self.session.tuning.disconnect_grace * 2);
        }
        if let Some(mixer) = self.session.mixer.lock().take() {
            mixer.stop();
        }
        self.session.events.stop();
        // The last reference to a core stops and joins its threads.
        drop(attachment);
    }

    /// `connect_MCU`: blocks until the MCU accepted or refused the login (or the timeout).
    pub fn connect(&self, host: &str, port: u16, username: &str, password: &str) -> Result<()> {
        let (generation, runtime) = {
            let mut state = self.session.state.lock();
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
            self.session
                .on_connect_failed(generation, ErrorCode::PortErr);
            return Err(ErrorCode::PortErr);
        }
        let tls = match TlsSettings::effective() {
            Ok(tls) => tls,
            Err(code) => {
                self.session.on_connect_failed(generation, code);
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
            Arc::clone(&self.session),
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
            let mut state = self.session.state.lock();
            let conn = state.connected()?;
            self.session.exit_room_locally(&state, Ok(()));
            self.session.reset(&mut state, Phase::Idle);
            conn
        };
        conn.close_locally();
        conn.wait_closed(self.session.tuning.disconnect_grace * 2);
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
            let mut state = self.session.state.lock();
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
        let budget = self.session.config.request_timeout;
        match redirect::join_following(&conn, room_id, RequestKind::Join, budget) {
            Ok(response) => {
                ErrorCode::check(response.code)?;
                match response.result {
                    Some(pb::response::Result::Joined(_)) => Ok(()),
                    _ => Err(ErrorCode::MsgErr),
                }
            }
            Err(code) => {
                self.session.on_join_failed(conn.generation, code);
                Err(code)
            }
        }
    }

    /// `logout_conference_room`: returns the MCU's answer; the room is left in the cache when
    /// it accepts, and its `ROOM_EXIT` event follows.
    pub fn logout_room(&self) -> Result<()> {
        let conn = self.session.state.lock().in_room()?;
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
            if self.session.events.is_delivering() {
                return self
                    .session
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
            if self.session.events.is_delivering() {
                let roster = self.session.roster.lock();
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
        }))?;
        let stream = match kind {
            MediaKind::Video => MediaType::VideoMajor,
            MediaKind::Audio => MediaType::Audio,
        };
        self.session.track_subscription(user_id, stream, on);
        Ok(())
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
            let state = self.session.state.lock();
            let conn = state.in_room()?;
            if let Some(slot) = media_type.aux_slot()
                && !state.cache.holds_aux(slot)
            {
                return Err(ErrorCode::AccessErr);
            }
            conn
        };
        let frame = send_queue::encode_outgoing(header, payload, media_type)?;
        let header = MediaHeader {
            stream_type: media_type as u8,
            ..header
        };
        let (outcome, result) = match conn.send_media(&header, frame) {
            Ok(outcome) => (outcome, Ok(())),
            Err(code) => (Uplinked::QueueFull, Err(code)),
        };
        self.session
            .stats
            .uplinked(media_type, payload.len(), outcome);
        result
    }

    /// `conference_get_stats`: the counters since `init` and the current link.
    pub fn stats(&self) -> Result<SdkStats> {
        if matches!(self.session.state.lock().phase, Phase::Closed) {
            return Err(ErrorCode::InitErr);
        }
        Ok(self
            .session
            .stats
            .snapshot(self.session.events.stats().frames))
    }

    pub fn recv_stream(&self, user_id: u32, media_type: MediaType, on: bool) -> Result<()> {
        self.room_call(Body::Subscribe(pb::Subscribe {
            user_id,
            media_type: media_type as u32,
            on,
        }))?;
        self.session.track_subscription(user_id, media_type, on);
        Ok(())
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
        let conn = self.session.state.lock().in_room()?;
        conn.call(body)
    }

    fn read_cache<T>(&self, read: impl FnOnce(&Cache) -> Result<T>) -> Result<T> {
        let state = self.session.state.lock();
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
    use crate::config::MixerFormat;

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
    fn an_instance_with_a_mixer_starts_and_stops() {
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

//! The state shared by the API calls, the connection task and the dispatcher: which phase the
//! session is in, the cache, and how MCU messages turn into cache updates and events.
//!
//! Lock order: `State` before the dispatcher queue (events are queued while the state lock is
//! held, so the event order is the order of the cache updates). Nothing blocks while holding
//! the state lock: no network wait, no thread join, no application callback.

use std::sync::Arc;

use conference_proto::ErrorCode;
use conference_proto::media::MediaFrame;
use conference_proto::message::StateId;
use conference_proto::pb;
use parking_lot::Mutex;
use tokio::runtime::Handle;

use crate::cache::Cache;
use crate::config::{SdkConfig, Tuning};
use crate::connection::{self, Conn};
use crate::convert::{self, local_event, state_event};
use crate::dispatcher::Queue;
use crate::events::{Event, EventExtra, MediaEvent, StateEvent};
use crate::mixer_glue::MixerGlue;
use crate::requests::RequestKind;
use crate::roster::Roster;
use crate::stats::Counters;
use crate::types::UserInfo;

/// Where the session stands with the MCU.
pub(crate) enum Phase {
    Idle,
    /// A `connect` is in flight.
    Connecting,
    Connected(Arc<Conn>),
    /// After `shutdown`: nothing works any more.
    Closed,
}

pub(crate) struct State {
    pub phase: Phase,
    /// Incremented by every `connect`; a connection task only touches the session while its
    /// generation is the current one.
    pub generation: u64,
    pub cache: Cache,
    /// A `login_room` is in flight.
    pub joining: bool,
    /// A rejoin after a refused resume is under way: the room answer is reported as
    /// differences, and the MCU's `ROOM_EXIT` for a stopping server is not final.
    pub rejoining: bool,
    /// Dropped at shutdown: a live handle keeps the runtime's descriptors open.
    pub runtime: Option<Handle>,
}

impl State {
    /// The live connection of generation `generation`, if that is still the current one.
    fn current(&self, generation: u64) -> Option<&Arc<Conn>> {
        match &self.phase {
            Phase::Connected(conn) if self.generation == generation => Some(conn),
            _ => None,
        }
    }

    /// The connection, for calls that need one (`NotLoginErr` otherwise).
    pub fn connected(&self) -> Result<Arc<Conn>, ErrorCode> {
        match &self.phase {
            Phase::Connected(conn) => Ok(Arc::clone(conn)),
            Phase::Closed => Err(ErrorCode::InitErr),
            Phase::Idle | Phase::Connecting => Err(ErrorCode::NotLoginErr),
        }
    }

    /// The connection, for room-scoped calls.
    pub fn in_room(&self) -> Result<Arc<Conn>, ErrorCode> {
        let conn = self.connected()?;
        if self.cache.in_room() {
            Ok(conn)
        } else {
            Err(ErrorCode::NotLoginErr)
        }
    }
}

pub(crate) struct Session {
    pub config: SdkConfig,
    pub tuning: Tuning,
    pub state: Mutex<State>,
    pub events: Arc<Queue>,
    /// The user list as delivered so far (updated by the dispatcher).
    pub roster: Arc<Mutex<Roster>>,
    /// Taken (stopped) at shutdown. Lock order: after `state`.
    pub mixer: Mutex<Option<MixerGlue>>,
    pub stats: Counters,
}

impl Session {
    pub fn new(
        config: SdkConfig,
        tuning: Tuning,
        runtime: Handle,
        events: Arc<Queue>,
        roster: Arc<Mutex<Roster>>,
        mixer: Option<MixerGlue>,
    ) -> Self {
        Session {
            config,
            tuning,
            state: Mutex::new(State {
                phase: Phase::Idle,
                generation: 0,
                cache: Cache::default(),
                joining: false,
                rejoining: false,
                runtime: Some(runtime),
            }),
            events,
            roster,
            mixer: Mutex::new(mixer),
            stats: Counters::default(),
        }
    }

    fn set_mixer_active(&self, active: bool) {
        if let Some(mixer) = self.mixer.lock().as_mut() {
            mixer.set_active(active);
        }
    }

    /// A user left the room: its audio leaves the mix at once.
    fn remove_from_mixer(&self, user_id: u32) {
        if let Some(mixer) = self.mixer.lock().as_mut() {
            mixer.remove_user(user_id);
        }
    }

    fn emit(&self, event: StateEvent) {
        self.events.push(Event::State(event));
    }

    /// After LOGIN_ROOM: a USER_ENTER for every user in the room, in join order, self included,
    /// so an application can build its user list from events alone.
    fn emit_roster(&self, state: &State) {
        for user in state.cache.roster() {
            self.emit(local_event(
                StateId::UserEnter,
                Ok(()),
                Some(user),
                EventExtra::None,
            ));
        }
    }

    /// After a ROOM_EXIT: a USER_LEAVE for every user of the list `users` (join order, self
    /// last), so the application's list empties as the room is left.
    fn emit_leaves(&self, users: Vec<UserInfo>) {
        for user in users {
            self.emit(local_event(
                StateId::UserLeave,
                Ok(()),
                Some(user),
                EventExtra::None,
            ));
        }
    }

    /// The room is left without the MCU's ROOM_EXIT (connection lost, `disconnect`): fires
    /// ROOM_EXIT with `reason`, then the USER_LEAVEs. Before the cache is reset.
    pub fn exit_room_locally(&self, state: &State, reason: Result<(), ErrorCode>) {
        if !state.cache.in_room() {
            return;
        }
        let own = state.cache.own_user().ok();
        self.emit(local_event(
            StateId::RoomExit,
            reason,
            own,
            EventExtra::None,
        ));
        self.emit_leaves(state.cache.leave_order());
    }

    /// Leaves the room in the cache; the mixer stops.
    fn left_room(&self, state: &mut State) {
        state.cache.leave_room();
        self.set_mixer_active(false);
    }

    /// Forgets the whole session (connection lost, `disconnect`, `shutdown`).
    pub fn reset(&self, state: &mut State, phase: Phase) {
        self.stats.link_reset();
        state.phase = phase;
        state.joining = false;
        state.rejoining = false;
        state.cache.clear();
        self.set_mixer_active(false);
    }

    /// The handshake succeeded: the session is connected unless `shutdown` or `disconnect`
    /// came first. Fires LOGIN_MCU with the room count.
    pub fn on_connected(
        &self,
        generation: u64,
        conn: &Arc<Conn>,
        login: pb::LoginResult,
        username: &str,
    ) -> Result<(), ErrorCode> {
        let mut state = self.state.lock();
        if state.generation != generation || !matches!(state.phase, Phase::Connecting) {
            return Err(match state.phase {
                Phase::Closed => ErrorCode::InitErr,
                _ => ErrorCode::NotLoginErr,
            });
        }
        let room_count = i32::try_from(login.rooms.len()).unwrap_or(i32::MAX);
        state
            .cache
            .on_login(login.user_id, username, convert::rooms(login.rooms));
        state.phase = Phase::Connected(Arc::clone(conn));
        self.emit(local_event(
            StateId::LoginMcu,
            Ok(()),
            None,
            EventExtra::RoomCount(room_count),
        ));
        Ok(())
    }

    /// The connection or the handshake failed: fires CONNECT_MCU_FAILED with the error.
    pub fn on_connect_failed(&self, generation: u64, code: ErrorCode) {
        let mut state = self.state.lock();
        if state.generation == generation && matches!(state.phase, Phase::Connecting) {
            state.phase = Phase::Idle;
        }
        self.emit(local_event(
            StateId::ConnectMcuFailed,
            Err(code),
            None,
            EventExtra::None,
        ));
    }

    /// The MCU connection ended without `disconnect`: fires USER_CLOSE with the reason.
    pub fn on_lost(&self, generation: u64, reason: ErrorCode) {
        let mut state = self.state.lock();
        if state.current(generation).is_none() {
            return;
        }
        self.exit_room_locally(&state, Err(reason));
        self.reset(&mut state, Phase::Idle);
        self.emit(local_event(
            StateId::UserClose,
            Err(reason),
            None,
            EventExtra::None,
        ));
    }

    /// A response: side effects of room logins and logouts first, then the waiting caller.
    pub fn on_response(&self, generation: u64, conn: &Conn, response: pb::Response) {
        let waiter = conn.pending.take(response.request_id);
        {
            let mut state = self.state.lock();
            if state.current(generation).is_some() {
                let kind = waiter.as_ref().map(|w| w.kind);
                let accepted = response.code == 0;
                match (&response.result, kind) {
                    (Some(pb::response::Result::Joined(joined)), Some(RequestKind::Rejoin))
                        if accepted =>
                    {
                        self.rejoined(&mut state, joined.clone().into());
                    }
                    // Applied even if the caller gave up waiting: the MCU put us in the room.
                    (Some(pb::response::Result::Joined(joined)), _) if accepted => {
                        state.joining = false;
                        let (own, room) = state.cache.enter_room(joined.clone().into());
                        self.emit(local_event(
                            StateId::LoginRoom,
                            Ok(()),
                            Some(own),
                            EventExtra::Room(room),
                        ));
                        self.emit_roster(&state);
                        // After LOGIN_ROOM and the roster are queued, so no mixed frame
                        // precedes them.
                        self.set_mixer_active(true);
                    }
                    // A fleet node sends the join on: still joining (`redirect.rs`).
                    (_, Some(RequestKind::Join))
                        if crate::redirect::redirect_of(&response).is_some() => {}
                    (_, Some(RequestKind::Join)) => {
                        state.joining = false;
                        let code = if accepted {
                            // Accepted without the room: a broken MCU answer.
                            Err(ErrorCode::MsgErr)
                        } else {
                            ErrorCode::check(response.code)
                        };
                        self.emit(local_event(
                            StateId::LoginRoomFailed,
                            code,
                            None,
                            EventExtra::None,
                        ));
                    }
                    (_, Some(RequestKind::Leave)) if accepted => self.left_room(&mut state),
                    _ => {}
                }
            }
        }
        match waiter {
            Some(waiter) => waiter.answer(Ok(response)),
            None => tracing::debug!(
                id = response.request_id,
                "response to a request nobody waits for"
            ),
        }
    }

    /// The room joined again: the cache takes the new room, the application hears how it
    /// differs from the one it knew.
    fn rejoined(&self, state: &mut State, joined: crate::cache::Joined) {
        state.rejoining = false;
        let old = state.cache.roster();
        // The subscriptions come back as the rejoin's calls are granted.
        state.cache.enter_room(joined);
        let own_id = state.cache.own_user().map_or(0, |u| u.id);
        for event in crate::rejoin::differences(&old, &state.cache.roster(), own_id) {
            if matches!(event.state, StateId::UserLeave)
                && let Some(user) = &event.user
            {
                self.remove_from_mixer(user.id);
            }
            self.emit(event);
        }
        self.set_mixer_active(true);
    }

    /// A subscription call succeeded: a rejoin subscribes again.
    pub fn track_subscription(&self, user_id: u32, stream: conference_proto::MediaType, on: bool) {
        self.state
            .lock()
            .cache
            .track_subscription(user_id, stream, on);
    }

    /// A `login_room` got no answer (timeout): fires LOGIN_ROOM_FAILED. Nothing when the
    /// connection is gone (its USER_CLOSE says why).
    pub fn on_join_failed(&self, generation: u64, code: ErrorCode) {
        let mut state = self.state.lock();
        if state.current(generation).is_some() && state.joining && !state.cache.in_room() {
            state.joining = false;
            self.emit(local_event(
                StateId::LoginRoomFailed,
                Err(code),
                None,
                EventExtra::None,
            ));
        }
    }

    /// An application event: cache first, then the event.
    pub fn on_event(&self, generation: u64, event: pb::Event) {
        let Some(event) = state_event(event) else {
            return;
        };
        let mut state = self.state.lock();
        let Some(conn) = state.current(generation).cloned() else {
            return;
        };
        // A stopping MCU is not the end of a resumable session: the SDK rejoins when it is
        // back, and reports the room's end only if that fails.
        // Nor is a fleet node sending its stale room's users away (the room moved to another
        // node, docs/CLUSTER.md): the SDK rejoins it there.
        if event.state == StateId::RoomExit
            && matches!(
                event.result,
                Err(ErrorCode::ServerStoped | ErrorCode::NvalidSessionErr)
            )
            && conn.resumable
        {
            tracing::info!(result = ?event.result, "the room is rejoined where it lives");
            return;
        }
        let was_in_room = state.cache.in_room();
        let leave_order = if was_in_room && event.state == StateId::RoomExit {
            state.cache.leave_order()
        } else {
            Vec::new()
        };
        state.cache.apply_event(event.state, event.user.as_ref());
        if was_in_room && !state.cache.in_room() {
            self.left_room(&mut state);
        } else if matches!(event.state, StateId::UserLeave | StateId::UserKicked)
            && let Some(user) = &event.user
        {
            self.remove_from_mixer(user.id);
        }
        if event.state == StateId::UserEnter
            && let Some(user) = &event.user
        {
            // Streams pulled before a rejoin, whose sender is back now.
            for stream in state.cache.take_deferred(user.id) {
                conn.send_detached(conference_proto::pb::client_message::Body::Subscribe(
                    pb::Subscribe {
                        user_id: user.id,
                        media_type: stream as u32,
                        on: true,
                    },
                ));
            }
        }
        self.emit(event);
        self.emit_leaves(leave_order);
    }

    pub fn on_user_update(&self, generation: u64, users: Vec<pb::UserInfo>) {
        let mut state = self.state.lock();
        if state.current(generation).is_some() {
            state.cache.update_users(convert::users(users));
        }
    }

    /// A media frame from another user: to the application, and audio to the mixer.
    pub fn on_media(&self, conn: &Conn, frame: MediaFrame) {
        let Some(media_type) = frame.header.stream() else {
            return;
        };
        if !conn.is_live() {
            return;
        }
        self.stats.received(media_type, frame.payload.len());
        if media_type == conference_proto::MediaType::Audio
            && frame.header.sender_id != conn.own_id
            && self.config.mixer.is_some()
        {
            // Control frames overtake queued media at the MCU: audio of a user whose
            // USER_LEAVE came first would bring its source back for its last packets.
            let present = self.state.lock().cache.has_user(frame.header.sender_id);
            if present && let Some(mixer) = self.mixer.lock().as_mut() {
                mixer.feed(&frame.header, &frame.payload);
            }
        }
        self.events.push(Event::Media(MediaEvent {
            user_id: i32::try_from(frame.header.sender_id).unwrap_or(i32::MAX),
            media_type,
            header: frame.header,
            payload: frame.payload,
        }));
    }
}

/// The connection reports to the session through this seam (connection.rs does not know
/// `Session`).
impl connection::Owner for Session {
    fn settings(&self) -> connection::Settings {
        connection::Settings {
            request_timeout: self.config.request_timeout,
            withhold_unwatched: self.tuning.withhold_unwatched,
            send_budget: self.tuning.send_budget,
            disconnect_grace: self.tuning.disconnect_grace,
            resumable: self.tuning.resume,
        }
    }

    fn connect_failed(&self, generation: u64, code: ErrorCode) {
        self.on_connect_failed(generation, code);
    }

    fn connected(
        &self,
        generation: u64,
        conn: &Arc<Conn>,
        login: pb::LoginResult,
        username: &str,
    ) -> Result<(), ErrorCode> {
        self.on_connected(generation, conn, login, username)
    }

    fn lost(&self, generation: u64, reason: ErrorCode) {
        self.on_lost(generation, reason);
    }

    fn relogged(self: Arc<Self>, generation: u64, conn: &Arc<Conn>, login: pb::LoginResult) {
        {
            let mut state = self.state.lock();
            if state.current(generation).is_none() {
                return;
            }
            state
                .cache
                .relogin(login.rooms.into_iter().map(Into::into).collect());
        }
        let conn = Arc::clone(conn);
        let spawned = std::thread::Builder::new()
            .name("conference-rejoin".into())
            .spawn(move || crate::rejoin::run(self, conn));
        if let Err(err) = spawned {
            tracing::error!(%err, "cannot start the rejoin");
        }
    }

    fn suspended(&self, generation: u64, reason: ErrorCode) {
        tracing::info!(
            generation,
            ?reason,
            "session suspended until the link is back"
        );
        if self.state.lock().current(generation).is_some() {
            self.stats.suspended();
        }
    }

    fn resumed(&self, generation: u64) {
        if self.state.lock().current(generation).is_some() {
            self.stats.resumed();
        }
    }

    fn response(&self, generation: u64, conn: &Conn, response: pb::Response) {
        self.on_response(generation, conn, response);
    }

    fn event(&self, generation: u64, event: pb::Event) {
        self.on_event(generation, event);
    }

    fn user_update(&self, generation: u64, users: Vec<pb::UserInfo>) {
        self.on_user_update(generation, users);
    }

    fn media(&self, conn: &Conn, frame: MediaFrame) {
        self.on_media(conn, frame);
    }

    fn link(&self, rtt_us: u32, loss_permille: u32) {
        self.stats.link(rtt_us, loss_permille);
    }
}

impl crate::rejoin::Rejoiner for Session {
    fn claims(&self, generation: u64) -> Option<crate::rejoin::Claims> {
        let mut state = self.state.lock();
        state.current(generation)?;
        let room = state.cache.room_id()?;
        let own = state.cache.own_user().ok()?;
        state.rejoining = true;
        Some(crate::rejoin::Claims {
            room,
            master: own.is_master,
            aux_slots: own.aux_slots,
            hand_raised: own.audio_state == 1,
            subscriptions: state.cache.subscriptions(),
        })
    }

    fn rejoin_failed(&self, generation: u64, conn: &Conn, code: ErrorCode) {
        conn.close_locally();
        self.on_lost(generation, code);
    }

    fn resubscribed(
        &self,
        generation: u64,
        user_id: u32,
        stream: conference_proto::MediaType,
        granted: bool,
    ) {
        let mut state = self.state.lock();
        if state.current(generation).is_none() {
            return;
        }
        if granted {
            state.cache.track_subscription(user_id, stream, true);
        } else {
            state.cache.defer_subscription(user_id, stream);
        }
    }
}

//! What an instance tells the application: [`Event`]s, delivered in order to its
//! [`EventSink`] on the dispatcher thread.

use bytes::Bytes;
use conference_proto::message::StateId;
use conference_proto::{ErrorCode, MediaHeader, MediaType};

use crate::types::{
    AuxInfo, ChatInfo, InviteType, LookedInfo, RoomInfo, TransparentInfo, UserInfo,
};

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
    /// `result` of the callback: the number is made at the C edge (`src/ffi/`).
    pub result: Result<(), ErrorCode>,
    pub user: Option<UserInfo>,
    pub extra: EventExtra,
}

impl StateEvent {
    /// `result` as its vendor number, for the C edge and logs (0 = success).
    pub fn result_code(&self) -> u32 {
        conference_proto::codes::result_code(self.result)
    }
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

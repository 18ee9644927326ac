//! Event ids and small helpers around the generated protobuf types.

use crate::frame::{FrameKind, RawFrame, decode_control};
use crate::pb;

macro_rules! state_ids {
    ($($variant:ident = $value:literal,)*) => {
        /// `conference_state_e`: the id of an application event.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum StateId {
            $($variant = $value,)*
        }

        impl StateId {
            /// Every id, in value order.
            pub const ALL: &'static [StateId] = &[$(StateId::$variant,)*];

            pub const fn id(self) -> u32 {
                self as u32
            }

            pub const fn from_u32(value: u32) -> Option<Self> {
                match value {
                    $($value => Some(StateId::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

// The one table of event ids (the document's `conference_state_e` values).
state_ids! {
    LoginMcu = 1,
    LoginRoom = 2,
    UserEnter = 3,
    UserLeave = 4,
    RoomExit = 5,
    UserTalk = 6,
    UserBcast = 7,
    UserChair = 8,
    Looked = 9,
    UserClose = 10,
    UserReqTalk = 11,
    ConnectMcuFailed = 12,
    LoginRoomFailed = 13,
    UserKicked = 14,
    UserVpos = 15,
    UpdateInteract = 16,
    UserChat = 17,
    UserVnc = 18,
    NickName = 19,
    RecvJoin = 20,
    RecvInvite = 21,
    RejectJoin = 22,
    AllowJoin = 23,
    RejectInvite = 24,
    AllowInvite = 25,
    Transparent = 26,
    UserAux = 27,
}

/// Why a frame could not be read as a message of the expected side.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    #[error("expected a control frame, got {0:?}")]
    NotControl(FrameKind),
    #[error("malformed control message: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("control message without a body")]
    NoBody,
}

/// Decodes a client's control frame; a message with no body is malformed.
pub fn decode_client(frame: &RawFrame) -> Result<(u32, pb::client_message::Body), MessageError> {
    let message: pb::ClientMessage = decode_control_frame(frame)?;
    let body = message.body.ok_or(MessageError::NoBody)?;
    Ok((message.request_id, body))
}

/// A decoded control message with its resume numbers (docs/PROTOCOL.md §8).
#[derive(Debug)]
pub struct Sequenced<B> {
    pub request_id: u32,
    /// 0: not sequenced.
    pub seq: u64,
    /// The last sequenced message of the other side received (0: none, or not said).
    pub ack: u64,
    pub body: B,
}

/// Decodes a client's control frame with its sequence numbers.
pub fn decode_client_sequenced(
    frame: &RawFrame,
) -> Result<Sequenced<pb::client_message::Body>, MessageError> {
    let message: pb::ClientMessage = decode_control_frame(frame)?;
    Ok(Sequenced {
        request_id: message.request_id,
        seq: message.seq,
        ack: message.ack,
        body: message.body.ok_or(MessageError::NoBody)?,
    })
}

/// Decodes an MCU's control frame with its sequence numbers.
pub fn decode_server_sequenced(
    frame: &RawFrame,
) -> Result<Sequenced<pb::server_message::Body>, MessageError> {
    let message: pb::ServerMessage = decode_control_frame(frame)?;
    Ok(Sequenced {
        request_id: 0,
        seq: message.seq,
        ack: message.ack,
        body: message.body.ok_or(MessageError::NoBody)?,
    })
}

/// Decodes an MCU's control frame.
pub fn decode_server(frame: &RawFrame) -> Result<pb::server_message::Body, MessageError> {
    let message: pb::ServerMessage = decode_control_frame(frame)?;
    message.body.ok_or(MessageError::NoBody)
}

fn decode_control_frame<M: prost::Message + Default>(frame: &RawFrame) -> Result<M, MessageError> {
    if frame.kind != FrameKind::Control {
        return Err(MessageError::NotControl(frame.kind));
    }
    Ok(decode_control(frame)?)
}

impl pb::ServerMessage {
    pub fn response(request_id: u32, code: u32, result: Option<pb::response::Result>) -> Self {
        pb::ServerMessage::of(pb::server_message::Body::Response(pb::Response {
            request_id,
            code,
            result,
        }))
    }

    /// A message with `body`, not sequenced.
    pub fn of(body: pb::server_message::Body) -> Self {
        pb::ServerMessage {
            body: Some(body),
            seq: 0,
            ack: 0,
        }
    }

    pub fn event(event: pb::Event) -> Self {
        pb::ServerMessage::of(pb::server_message::Body::Event(event))
    }
}

impl pb::ClientMessage {
    pub fn request(request_id: u32, body: pb::client_message::Body) -> Self {
        pb::ClientMessage {
            request_id,
            body: Some(body),
            ..Default::default()
        }
    }
}

impl pb::Event {
    /// An event with no extra payload.
    pub fn new(state: StateId, result: u32, user: Option<pb::UserInfo>) -> Self {
        pb::Event {
            state: state.id(),
            result,
            user,
            extra: None,
        }
    }

    pub fn with_extra(mut self, extra: pb::event::Extra) -> Self {
        self.extra = Some(extra);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_ids_match_the_vendor_numbering() {
        assert_eq!(StateId::LoginMcu.id(), 1);
        assert_eq!(StateId::Looked.id(), 9);
        assert_eq!(StateId::UserChat.id(), 17);
        assert_eq!(StateId::UserAux.id(), 27);
        for id in 1..=27 {
            assert_eq!(StateId::from_u32(id).map(StateId::id), Some(id));
        }
        assert_eq!(StateId::from_u32(0), None);
        assert_eq!(StateId::from_u32(28), None);
    }
}

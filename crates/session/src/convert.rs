//! MCU messages to application events and API values, unchanged apart from the Rust types:
//! the one place where `conference_proto::pb` meets the session's own types.

use conference_proto::ErrorCode;
use conference_proto::message::StateId;
use conference_proto::pb;

use crate::cache::Joined;
use crate::events::{EventExtra, StateEvent};
use crate::types::{
    AuxInfo, ChatInfo, InviteType, LookedInfo, MediaKind, RoomInfo, TransparentInfo, UserInfo,
};

impl From<pb::UserInfo> for UserInfo {
    fn from(user: pb::UserInfo) -> Self {
        UserInfo {
            id: user.id,
            username: user.username,
            nickname: user.nickname,
            is_master: user.is_master,
            is_chair: user.is_chair,
            bcast_video: user.bcast_video,
            bcast_audio: user.bcast_audio,
            aux_slots: user.aux_slots,
            signal_status: user.signal_status,
            auth_video: user.auth_video,
            auth_audio: user.auth_audio,
            audio_state: user.audio_state,
        }
    }
}

impl From<pb::RoomInfo> for RoomInfo {
    fn from(room: pb::RoomInfo) -> Self {
        RoomInfo {
            id: room.id,
            name: room.name,
            creator_id: room.creator_id,
            start_time: room.start_time,
            end_time: room.end_time,
            max_users: room.max_users,
            cur_users: room.cur_users,
        }
    }
}

impl From<pb::LookedInfo> for LookedInfo {
    fn from(info: pb::LookedInfo) -> Self {
        LookedInfo {
            viewer_id: info.viewer_id,
            media_type: info.media_type,
            ctrl: info.ctrl,
        }
    }
}

impl From<pb::ChatInfo> for ChatInfo {
    fn from(info: pb::ChatInfo) -> Self {
        ChatInfo {
            src_id: info.src_id,
            dst_id: info.dst_id,
            color: info.color,
            content: info.content,
        }
    }
}

impl From<pb::TransparentInfo> for TransparentInfo {
    fn from(info: pb::TransparentInfo) -> Self {
        TransparentInfo {
            src_id: info.src_id,
            data_type: info.data_type,
            data: info.data,
        }
    }
}

impl From<pb::AuxInfo> for AuxInfo {
    fn from(info: pb::AuxInfo) -> Self {
        AuxInfo {
            user_id: info.user_id,
            response: info.response,
            media_type: info.media_type,
        }
    }
}

impl From<pb::RoomJoined> for Joined {
    fn from(joined: pb::RoomJoined) -> Self {
        Joined {
            room: joined.room.map(RoomInfo::from),
            own: joined.self_.map(UserInfo::from),
            users: users(joined.users),
        }
    }
}

/// A list of wire users as API users.
pub(crate) fn users(users: Vec<pb::UserInfo>) -> Vec<UserInfo> {
    users.into_iter().map(UserInfo::from).collect()
}

/// A list of wire rooms as API rooms.
pub(crate) fn rooms(rooms: Vec<pb::RoomInfo>) -> Vec<RoomInfo> {
    rooms.into_iter().map(RoomInfo::from).collect()
}

/// An MCU event as the application sees it; `None` for an event id this SDK does not know
/// (logged and skipped: a newer MCU must not crash an older SDK).
pub(crate) fn state_event(event: pb::Event) -> Option<StateEvent> {
    let Some(state) = StateId::from_u32(event.state) else {
        tracing::warn!(
            state = event.state,
            "unknown event id from the MCU, skipped"
        );
        return None;
    };
    let extra = match event.extra {
        None => EventExtra::None,
        Some(pb::event::Extra::Looked(info)) => EventExtra::Looked(info.into()),
        Some(pb::event::Extra::Chat(info)) => EventExtra::Chat(info.into()),
        Some(pb::event::Extra::InviteType(value)) => match invite_type_from_wire(value) {
            Some(kind) => EventExtra::InviteType(kind),
            None => {
                tracing::warn!(value, "unknown invite type from the MCU, event skipped");
                return None;
            }
        },
        Some(pb::event::Extra::Transparent(info)) => EventExtra::Transparent(info.into()),
        Some(pb::event::Extra::Aux(info)) => EventExtra::Aux(info.into()),
        Some(pb::event::Extra::Position(position)) => EventExtra::Position(position),
    };
    Some(StateEvent {
        state,
        result: ErrorCode::check(event.result),
        user: event.user.map(UserInfo::from),
        extra,
    })
}

/// A state event the SDK itself produces (login results, connection loss).
pub(crate) fn local_event(
    state: StateId,
    result: Result<(), ErrorCode>,
    user: Option<UserInfo>,
    extra: EventExtra,
) -> StateEvent {
    StateEvent {
        state,
        result,
        user,
        extra,
    }
}

fn invite_type_from_wire(value: i32) -> Option<InviteType> {
    match pb::InviteType::try_from(value).ok()? {
        pb::InviteType::Video => Some(InviteType::Video),
        pb::InviteType::Audio => Some(InviteType::Audio),
    }
}

pub(crate) fn invite_type_to_wire(kind: InviteType) -> i32 {
    match kind {
        InviteType::Video => pb::InviteType::Video as i32,
        InviteType::Audio => pb::InviteType::Audio as i32,
    }
}

pub(crate) fn media_kind_to_wire(kind: MediaKind) -> i32 {
    match kind {
        MediaKind::Video => pb::MediaKind::Video as i32,
        MediaKind::Audio => pb::MediaKind::Audio as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn events_pass_through_with_their_payloads() {
        let user = pb::UserInfo {
            id: 3,
            username: "u".into(),
            ..pb::UserInfo::default()
        };
        let chat = pb::ChatInfo {
            src_id: 3,
            dst_id: 0,
            color: -1,
            content: Bytes::from_static(b"hi"),
        };
        let event = pb::Event::new(StateId::UserChat, 0, Some(user.clone()))
            .with_extra(pb::event::Extra::Chat(chat.clone()));
        assert_eq!(
            state_event(event),
            Some(StateEvent {
                state: StateId::UserChat,
                result: Ok(()),
                user: Some(user.into()),
                extra: EventExtra::Chat(chat.into()),
            })
        );
        let invite = pb::Event::new(StateId::RecvInvite, 0, None)
            .with_extra(pb::event::Extra::InviteType(1));
        assert_eq!(
            state_event(invite).map(|e| e.extra),
            Some(EventExtra::InviteType(InviteType::Audio))
        );
        let exit = pb::Event::new(StateId::RoomExit, 0x10029, None);
        assert_eq!(
            state_event(exit).map(|e| e.result),
            Some(Err(ErrorCode::KickOut))
        );
    }

    #[test]
    fn unknown_ids_are_skipped() {
        let mut event = pb::Event::new(StateId::UserTalk, 0, None);
        event.state = 99;
        assert_eq!(state_event(event), None);
        let bad_invite =
            pb::Event::new(StateId::RecvJoin, 0, None).with_extra(pb::event::Extra::InviteType(7));
        assert_eq!(state_event(bad_invite), None);
    }
}

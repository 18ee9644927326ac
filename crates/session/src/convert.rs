//! MCU messages to application events, unchanged apart from the Rust types.

use conference_proto::message::StateId;
use conference_proto::pb;

use crate::{EventExtra, InviteType, MediaKind, StateEvent};

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
        Some(pb::event::Extra::Looked(info)) => EventExtra::Looked(info),
        Some(pb::event::Extra::Chat(info)) => EventExtra::Chat(info),
        Some(pb::event::Extra::InviteType(value)) => match invite_type_from_wire(value) {
            Some(kind) => EventExtra::InviteType(kind),
            None => {
                tracing::warn!(value, "unknown invite type from the MCU, event skipped");
                return None;
            }
        },
        Some(pb::event::Extra::Transparent(info)) => EventExtra::Transparent(info),
        Some(pb::event::Extra::Aux(info)) => EventExtra::Aux(info),
        Some(pb::event::Extra::Position(position)) => EventExtra::Position(position),
    };
    Some(StateEvent {
        state,
        result: event.result,
        user: event.user,
        extra,
    })
}

/// A state event the SDK itself produces (login results, connection loss).
pub(crate) fn local_event(
    state: StateId,
    result: u32,
    user: Option<pb::UserInfo>,
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
                result: 0,
                user: Some(user),
                extra: EventExtra::Chat(chat),
            })
        );
        let invite = pb::Event::new(StateId::RecvInvite, 0, None)
            .with_extra(pb::event::Extra::InviteType(1));
        assert_eq!(
            state_event(invite).map(|e| e.extra),
            Some(EventExtra::InviteType(InviteType::Audio))
        );
        let exit = pb::Event::new(StateId::RoomExit, 0x10029, None);
        assert_eq!(state_event(exit).map(|e| e.result), Some(0x10029));
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

//! The operations of SPEC §5, each checked first and applied second, so a refused request
//! changes nothing and emits nothing but its response. One file per group of operations;
//! this one holds the helpers they share.

mod fleet;
mod invites;
mod messages;
mod presence;
mod roles;
mod session;
mod streams;

pub(in crate::room) use session::LoginOptions;

use std::collections::BTreeSet;

use conference_proto::message::StateId;
use conference_proto::pb::{self, event::Extra};
use conference_proto::{
    AUX_SLOTS, ErrorCode, MAX_CHAT_BYTES, MAX_TRANSPARENT_BYTES, MediaType, PROTOCOL_VERSION,
};

use super::outbox::{Ev, Outbox, Output, user_info};
use super::state::{Directory, InviteState, Kind, Member, Room, stream_index};
use super::{Caller, ConnId, Core, Limits, Now, OpResult, RoomId, Session, UserId, room_info};
use crate::ratelimit::TokenBucket;

fn kind_of(kind: i32) -> Result<Kind, ErrorCode> {
    match pb::MediaKind::try_from(kind) {
        Ok(pb::MediaKind::Video) => Ok(Kind::Video),
        Ok(pb::MediaKind::Audio) => Ok(Kind::Audio),
        Err(_) => Err(ErrorCode::ParamErr),
    }
}

fn invite_kind(kind: i32) -> Result<Kind, ErrorCode> {
    match pb::InviteType::try_from(kind) {
        Ok(pb::InviteType::Video) => Ok(Kind::Video),
        Ok(pb::InviteType::Audio) => Ok(Kind::Audio),
        Err(_) => Err(ErrorCode::ParamErr),
    }
}

fn invite_type(kind: Kind) -> pb::InviteType {
    match kind {
        Kind::Video => pb::InviteType::Video,
        Kind::Audio => pb::InviteType::Audio,
    }
}

fn aux_extra(user: UserId, response: u32, stream: MediaType) -> Option<Extra> {
    Some(Extra::Aux(pb::AuxInfo {
        user_id: user,
        response,
        media_type: stream as u32,
    }))
}

fn looked_extra(viewer: UserId, stream: MediaType, ctrl: u32) -> Option<Extra> {
    Some(Extra::Looked(pb::LookedInfo {
        viewer_id: viewer,
        media_type: stream as u32,
        ctrl,
    }))
}

fn require_member(room: &Room, user: UserId) -> OpResult {
    if room.contains(user) {
        Ok(())
    } else {
        Err(ErrorCode::NotFindUserErr)
    }
}

fn require_moderator(dir: &Directory, room: &Room, user: UserId) -> OpResult {
    if room.is_moderator(dir, user) {
        Ok(())
    } else {
        Err(ErrorCode::AccessErr)
    }
}

/// Removes `viewer` from `src`'s `stream`; the sender hears LOOKED ctrl 0 when it was the last.
fn unsubscribe(
    dir: &Directory,
    room: &mut Room,
    outbox: &mut Outbox,
    viewer: UserId,
    src: UserId,
    stream: MediaType,
) {
    let index = stream_index(stream);
    let Some(sender) = room.members.get_mut(&src) else {
        return;
    };
    if !sender.viewers[index].remove(&viewer) {
        return;
    }
    let last = sender.viewers[index].is_empty();
    if last {
        sender.looked[index].pending = None;
    }
    if let Some(member) = room.members.get_mut(&viewer) {
        member.watching.remove(&(src, stream));
    }
    outbox.routes.insert(src);
    if last {
        let extra = looked_extra(viewer, stream, 0);
        outbox.one(
            dir,
            room,
            src,
            Ev::new(StateId::Looked, Some(src)).with(extra),
        );
    }
}

/// Drops every subscription (of the given senders, or all) that is no longer authorised.
fn revalidate(dir: &Directory, room: &mut Room, outbox: &mut Outbox, senders: Option<&[UserId]>) {
    let mut lost = Vec::new();
    for (&src, member) in &room.members {
        if senders.is_some_and(|s| !s.contains(&src)) {
            continue;
        }
        for stream in MediaType::ALL {
            for &viewer in &member.viewers[stream_index(stream)] {
                if !room.authorised(dir, viewer, src, stream) {
                    lost.push((viewer, src, stream));
                }
            }
        }
    }
    for (viewer, src, stream) in lost {
        unsubscribe(dir, room, outbox, viewer, src, stream);
    }
}

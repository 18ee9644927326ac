//! Subscriptions (`recv_stream`, `check_user_*`) and the LOOKED throttle.

use super::*;

impl Core {
    pub(in crate::room) fn check(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Check,
    ) -> OpResult {
        let stream = match kind_of(req.kind)? {
            Kind::Video => MediaType::VideoMajor,
            Kind::Audio => MediaType::Audio,
        };
        self.subscribe(caller, room_id, req.user_id, stream, req.on, true)
    }

    /// `recv_stream` (and `check_user_*` with `check`: a repeated check asks for a key frame
    /// again).
    pub(in crate::room) fn subscribe(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        src: UserId,
        stream: MediaType,
        on: bool,
        check: bool,
    ) -> OpResult {
        let Core {
            dir,
            rooms,
            outbox,
            looked_pending,
            limits,
            key_frame_requests,
            ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let viewer = caller.user;
        require_member(room, src)?;
        if src == viewer {
            return Err(ErrorCode::ParamErr);
        }
        if !on {
            unsubscribe(dir, room, outbox, viewer, src, stream);
            return Ok(());
        }
        if !room.authorised(dir, viewer, src, stream) {
            return Err(ErrorCode::AccessErr);
        }
        let index = stream_index(stream);
        let Some(sender) = room.members.get_mut(&src) else {
            return Err(ErrorCode::NotFindUserErr);
        };
        let new = sender.viewers[index].insert(viewer);
        if !new && !check {
            return Ok(());
        }
        // LOOKED doubles as the key-frame request: at most one per stream per interval, the
        // held-back one follows when the interval is over (see `flush_looked`).
        let throttle = &mut sender.looked[index];
        let due = throttle
            .last_sent
            .is_none_or(|last| caller.now.mono.duration_since(last) >= limits.looked_interval);
        if due {
            throttle.last_sent = Some(caller.now.mono);
            throttle.pending = None;
        } else {
            throttle.pending = Some(viewer);
            looked_pending.insert((room_id, src, index));
        }
        if new {
            if let Some(member) = room.members.get_mut(&viewer) {
                member.watching.insert((src, stream));
            }
            outbox.routes.insert(src);
        }
        if due {
            *key_frame_requests += 1;
            let extra = looked_extra(viewer, stream, 1);
            outbox.one(
                dir,
                room,
                src,
                Ev::new(StateId::Looked, Some(src)).with(extra),
            );
        }
        Ok(())
    }
}

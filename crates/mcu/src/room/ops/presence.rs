//! Entering and leaving rooms, kicks, and the release of everything a leaver held.

use super::*;

impl Core {
    pub(in crate::room) fn join(&mut self, caller: &Caller, room_id: u32) {
        let result = self.try_join(caller, room_id);
        if let Err(err) = result {
            self.outbox
                .respond(caller.conn, caller.request_id, Err(err));
        }
    }

    pub(in crate::room) fn try_join(&mut self, caller: &Caller, room_id: u32) -> OpResult {
        let session = self
            .sessions
            .get(&caller.conn)
            .ok_or(ErrorCode::NotLoginErr)?;
        if session.room.is_some() {
            return Err(ErrorCode::ReloginedErr);
        }
        let signal = session.signal;
        let stream_demand = session.stream_demand;
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::RoomUnexist)?;
        let spec = &room.spec;
        let unix = caller.now.unix;
        if (spec.start_time != 0 && unix < spec.start_time)
            || (spec.end_time != 0 && unix >= spec.end_time)
        {
            return Err(ErrorCode::RoomOverdue);
        }
        if room.members.len() >= spec.max_users as usize {
            return Err(ErrorCode::RoomFull);
        }
        let user = caller.user;
        let join_seq = room.next_join_seq;
        room.next_join_seq += 1;
        room.members.insert(
            user,
            Member::new(caller.conn, join_seq, signal, stream_demand),
        );
        outbox.others(dir, room, user, Ev::new(StateId::UserEnter, Some(user)));
        outbox.routes.insert(user);
        let joined = pb::RoomJoined {
            room: Some(room_info(room)),
            self_: Some(user_info(dir, room, user, user)),
            users: room
                .members_in_join_order()
                .into_iter()
                .map(|subject| user_info(dir, room, subject, user))
                .collect(),
        };
        if let Some(session) = self.sessions.get_mut(&caller.conn) {
            session.room = Some(room_id);
        }
        self.flush(Some(room_id));
        let result = Some(pb::response::Result::Joined(joined));
        self.outbox.send(
            caller.conn,
            &pb::ServerMessage::response(caller.request_id, 0, result),
        );
        Ok(())
    }

    pub(in crate::room) fn leave(&mut self, caller: &Caller) -> OpResult {
        let room = self
            .sessions
            .get(&caller.conn)
            .and_then(|s| s.room)
            .ok_or(ErrorCode::NotLoginErr)?;
        self.remove_member(room, caller.user, Some(Ok(())));
        self.flush(Some(room));
        Ok(())
    }

    /// Takes `user` out of the room, releasing all it held; the others get the release
    /// events, then `USER_LEAVE` (so no cache resurrects a departed user). With `exit`, the
    /// user first gets `ROOM_EXIT` with that result.
    pub(in crate::room) fn remove_member(
        &mut self,
        room_id: RoomId,
        user: UserId,
        exit: Option<Result<(), ErrorCode>>,
    ) {
        let Core {
            dir,
            rooms,
            outbox,
            sessions,
            looked_pending,
            ..
        } = self;
        let Some(room) = rooms.get_mut(&room_id) else {
            return;
        };
        let Some(conn) = room.members.get(&user).map(|m| m.conn) else {
            return;
        };
        if let Some(code) = exit {
            outbox.one(
                dir,
                room,
                user,
                Ev::new(StateId::RoomExit, Some(user)).result(code),
            );
        }
        if room.master == Some(user) {
            room.master = None;
            outbox.others(dir, room, user, Ev::new(StateId::UserChair, Some(user)));
            if room.interact.take().is_some() {
                outbox.others(dir, room, user, Ev::new(StateId::UpdateInteract, None));
            }
        }
        if room.interact == Some(user) {
            room.interact = None;
            outbox.others(dir, room, user, Ev::new(StateId::UpdateInteract, None));
        }
        if let Some(member) = room.members.get_mut(&user)
            && member.audio_state != 0
        {
            member.audio_state = 0;
            outbox.others(dir, room, user, Ev::new(StateId::UserTalk, Some(user)));
        }
        for slot in 0..AUX_SLOTS {
            if room.aux[slot] == Some(user) {
                room.aux[slot] = None;
                let stream = MediaType::of_aux_slot(slot).unwrap_or(MediaType::VideoMinor);
                let extra = aux_extra(user, 0, stream);
                outbox.others(
                    dir,
                    room,
                    user,
                    Ev::new(StateId::UserAux, Some(user)).with(extra),
                );
            }
        }
        room.grants
            .retain(|(src, dst, _)| *src != user && *dst != user);
        room.invites
            .retain(|(from, to, _), _| *from != user && *to != user);
        let watching: Vec<_> = room
            .members
            .get(&user)
            .map(|m| m.watching.iter().copied().collect())
            .unwrap_or_default();
        for (src, stream) in watching {
            unsubscribe(dir, room, outbox, user, src, stream);
        }
        if let Some(member) = room.members.get_mut(&user) {
            let viewers = std::mem::take(&mut member.viewers);
            for (index, set) in viewers.iter().enumerate() {
                for viewer in set {
                    if let Some(v) = room.members.get_mut(viewer) {
                        v.watching.remove(&(user, MediaType::ALL[index]));
                    }
                }
            }
        }
        outbox.others(dir, room, user, Ev::new(StateId::UserLeave, Some(user)));
        room.members.remove(&user);
        outbox.routes.remove(&user);
        outbox.refresh.retain(|(r, s)| *r != user && *s != user);
        outbox.out.push(Output::Routes {
            conn,
            user_id: user,
            streams: Default::default(),
        });
        if let Some(session) = sessions.get_mut(&conn) {
            session.room = None;
        }
        let stale: Vec<_> = looked_pending
            .range((room_id, user, 0)..=(room_id, user, usize::MAX))
            .copied()
            .collect();
        for key in stale {
            looked_pending.remove(&key);
        }
    }

    pub(in crate::room) fn kick(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        target: UserId,
    ) -> OpResult {
        let room = self.rooms.get(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        require_moderator(&self.dir, room, caller.user)?;
        if target == caller.user {
            return Err(ErrorCode::AccessErr);
        }
        require_member(room, target)?;
        if self.dir.is_chair(target) {
            return Err(ErrorCode::AccessErr);
        }
        self.kick_out(room_id, target);
        Ok(())
    }

    /// Everyone, the target included, hears `USER_KICKED` (the target before its `ROOM_EXIT`
    /// with `retCode_KickOut`); then the target leaves.
    fn kick_out(&mut self, room_id: RoomId, target: UserId) {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        if let Some(room) = rooms.get(&room_id) {
            outbox.all(dir, room, Ev::new(StateId::UserKicked, Some(target)));
        }
        self.remove_member(room_id, target, Some(Err(ErrorCode::KickOut)));
    }
}

impl Core {
    /// An operator's kick: the same as a moderator's, without a caller.
    pub(in crate::room) fn admin_kick(&mut self, room_id: RoomId, target: UserId) -> OpResult {
        let room = self.rooms.get(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        require_member(room, target)?;
        self.kick_out(room_id, target);
        Ok(())
    }
}

//! Master, talk, aux slots, grants, broadcasts and the interactive pairing.

use super::*;

impl Core {
    pub(in crate::room) fn apply_master(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        on: bool,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let user = caller.user;
        if on {
            if room.master == Some(user) {
                outbox.all(dir, room, Ev::new(StateId::UserChair, Some(user)));
                return Ok(());
            }
            if room.master.is_some() && !dir.is_chair(user) {
                return Err(ErrorCode::StateErr);
            }
            if let Some(old) = room.master.replace(user) {
                outbox.all(dir, room, Ev::new(StateId::UserChair, Some(old)));
                if !dir.is_chair(old) {
                    outbox.refresh_all_for(room, old);
                }
            }
        } else {
            if room.master != Some(user) {
                return Err(ErrorCode::StateErr);
            }
            room.master = None;
        }
        // A pairing is with the master: any change of master ends it.
        if room.interact.take().is_some() {
            outbox.all(dir, room, Ev::new(StateId::UpdateInteract, None));
        }
        outbox.all(dir, room, Ev::new(StateId::UserChair, Some(user)));
        if !dir.is_chair(user) {
            outbox.refresh_all_for(room, user);
        }
        revalidate(dir, room, outbox, None);
        Ok(())
    }

    pub(in crate::room) fn apply_talk(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        on: bool,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let member = room
            .members
            .get_mut(&caller.user)
            .ok_or(ErrorCode::NotLoginErr)?;
        let (from, to) = if on { (0, 1) } else { (1, 0) };
        if member.audio_state != from {
            return Err(ErrorCode::StateErr);
        }
        member.audio_state = to;
        outbox.all(dir, room, Ev::new(StateId::UserReqTalk, Some(caller.user)));
        Ok(())
    }

    pub(in crate::room) fn ctrl_talk(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        target: UserId,
        on: bool,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let moderator = room.is_moderator(dir, caller.user);
        // Anyone may give up its own hand or talk; everything else is a moderator's.
        let giving_up = target == caller.user && !on;
        if !moderator && !giving_up {
            return Err(ErrorCode::AccessErr);
        }
        let member = room
            .members
            .get_mut(&target)
            .ok_or(ErrorCode::NotFindUserErr)?;
        let next = match (on, member.audio_state) {
            (true, 1) => 2,
            (false, 1 | 2) => 0,
            _ => return Err(ErrorCode::StateErr),
        };
        member.audio_state = next;
        outbox.all(dir, room, Ev::new(StateId::UserTalk, Some(target)));
        Ok(())
    }

    pub(in crate::room) fn apply_aux(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        on: bool,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let user = caller.user;
        if on {
            let Some(slot) = room.aux.iter().position(Option::is_none) else {
                let extra = aux_extra(user, 0, MediaType::VideoMinor);
                outbox.one(
                    dir,
                    room,
                    user,
                    Ev::new(StateId::UserAux, Some(user)).with(extra),
                );
                return Err(ErrorCode::OutOfResources);
            };
            room.aux[slot] = Some(user);
            let stream = MediaType::of_aux_slot(slot).unwrap_or(MediaType::VideoMinor);
            outbox.all(
                dir,
                room,
                Ev::new(StateId::UserAux, Some(user)).with(aux_extra(user, 1, stream)),
            );
        } else {
            let held: Vec<usize> = (0..AUX_SLOTS)
                .filter(|&s| room.aux[s] == Some(user))
                .collect();
            if held.is_empty() {
                return Err(ErrorCode::StateErr);
            }
            for slot in held {
                room.aux[slot] = None;
                let stream = MediaType::of_aux_slot(slot).unwrap_or(MediaType::VideoMinor);
                outbox.all(
                    dir,
                    room,
                    Ev::new(StateId::UserAux, Some(user)).with(aux_extra(user, 0, stream)),
                );
            }
        }
        outbox.routes.insert(user);
        Ok(())
    }

    // ------------------------------------------------------------ authorisation

    pub(in crate::room) fn auth(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Auth,
    ) -> OpResult {
        let kind = kind_of(req.kind)?;
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        if req.src_id != caller.user && !room.is_moderator(dir, caller.user) {
            return Err(ErrorCode::AccessErr);
        }
        require_member(room, req.src_id)?;
        require_member(room, req.dst_id)?;
        if req.src_id == req.dst_id {
            return Err(ErrorCode::ParamErr);
        }
        let key = (req.src_id, req.dst_id, kind);
        if req.on {
            room.grants.insert(key);
        } else {
            room.grants.remove(&key);
            revalidate(dir, room, outbox, Some(&[req.src_id]));
        }
        outbox.all(dir, room, Ev::new(StateId::UserBcast, Some(req.src_id)));
        Ok(())
    }

    pub(in crate::room) fn bcast(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Bcast,
    ) -> OpResult {
        let kind = kind_of(req.kind)?;
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        require_moderator(dir, room, caller.user)?;
        let member = room
            .members
            .get_mut(&req.user_id)
            .ok_or(ErrorCode::NotFindUserErr)?;
        match kind {
            Kind::Video => member.bcast_video = req.on,
            Kind::Audio => member.bcast_audio = req.on,
        }
        if !req.on {
            revalidate(dir, room, outbox, Some(&[req.user_id]));
        }
        outbox.all(dir, room, Ev::new(StateId::UserBcast, Some(req.user_id)));
        Ok(())
    }

    pub(in crate::room) fn set_interact(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        target: UserId,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        require_moderator(dir, room, caller.user)?;
        if target != 0 {
            let Some(master) = room.master else {
                return Err(ErrorCode::StateErr);
            };
            require_member(room, target)?;
            if target == master {
                return Err(ErrorCode::StateErr);
            }
        }
        let old = std::mem::replace(&mut room.interact, (target != 0).then_some(target));
        if let Some(master) = room.master {
            for user in old.into_iter().chain(room.interact) {
                outbox.refresh.insert((user, master));
                outbox.refresh.insert((master, user));
            }
        }
        if let Some(old) = old {
            revalidate(dir, room, outbox, Some(&[old]));
            if let Some(master) = room.master {
                revalidate(dir, room, outbox, Some(&[master]));
            }
        }
        outbox.all(dir, room, Ev::new(StateId::UpdateInteract, room.interact));
        Ok(())
    }
}

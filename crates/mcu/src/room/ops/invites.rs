//! Invitations and join requests.

use super::*;

impl Core {
    pub(in crate::room) fn invite(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Invite,
    ) -> OpResult {
        let kind = invite_kind(req.invite_type)?;
        let max_pending = self.limits.max_pending_invites;
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let (me, peer) = (caller.user, req.user_id);
        require_member(room, peer)?;
        if peer == me {
            return Err(ErrorCode::ParamErr);
        }
        let existing = room.invite_between(me, peer, kind);
        if req.on {
            if existing.is_some() {
                return Err(ErrorCode::StateErr);
            }
            if room.pending_from(me) >= max_pending {
                return Err(ErrorCode::OutOfResources);
            }
            // From the master an invitation, from anyone else a join request.
            let join = room.master != Some(me);
            room.invites.insert(
                (me, peer, kind),
                InviteState {
                    join,
                    accepted: false,
                },
            );
            let state = if join {
                StateId::RecvJoin
            } else {
                StateId::RecvInvite
            };
            let extra = Some(Extra::InviteType(invite_type(kind) as i32));
            outbox.one(dir, room, peer, Ev::new(state, Some(me)).with(extra));
            outbox.refresh.insert((me, peer));
            return Ok(());
        }
        // Withdraw my pending one, or hang up an accepted one in either direction.
        let Some((key, state)) = existing else {
            return Err(ErrorCode::StateErr);
        };
        if key.0 != me && !state.accepted {
            return Err(ErrorCode::StateErr);
        }
        room.invites.remove(&key);
        let event = if state.join {
            StateId::RejectJoin
        } else {
            StateId::RejectInvite
        };
        outbox.one(dir, room, peer, Ev::new(event, Some(me)));
        outbox.refresh.insert((me, peer));
        if state.accepted {
            revalidate(dir, room, outbox, Some(&[me, peer]));
        }
        Ok(())
    }

    pub(in crate::room) fn answer_invite(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        from: UserId,
        accept: bool,
    ) -> OpResult {
        let Core {
            dir, rooms, outbox, ..
        } = self;
        let room = rooms.get_mut(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        let me = caller.user;
        require_member(room, from)?;
        let pending: Vec<_> = [Kind::Video, Kind::Audio]
            .into_iter()
            .filter_map(|kind| {
                let key = (from, me, kind);
                room.invites
                    .get(&key)
                    .filter(|state| !state.accepted)
                    .map(|state| (key, *state))
            })
            .collect();
        if pending.is_empty() {
            return Err(ErrorCode::StateErr);
        }
        for (key, state) in pending {
            if accept {
                room.invites.insert(
                    key,
                    InviteState {
                        accepted: true,
                        ..state
                    },
                );
            } else {
                room.invites.remove(&key);
            }
            let event = match (state.join, accept) {
                (true, true) => StateId::AllowJoin,
                (true, false) => StateId::RejectJoin,
                (false, true) => StateId::AllowInvite,
                (false, false) => StateId::RejectInvite,
            };
            outbox.one(dir, room, from, Ev::new(event, Some(me)));
        }
        outbox.refresh.insert((me, from));
        Ok(())
    }
}

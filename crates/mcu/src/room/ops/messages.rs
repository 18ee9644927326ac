//! Chat and transparent data routing.

use super::*;

impl Core {
    pub(in crate::room) fn chat(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Chat,
    ) -> OpResult {
        if req.content.len() > MAX_CHAT_BYTES {
            return Err(ErrorCode::ParamErr);
        }
        let room = self.rooms.get(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        if req.dst_id != 0 {
            require_member(room, req.dst_id)?;
        }
        let session = self
            .sessions
            .get_mut(&caller.conn)
            .ok_or(ErrorCode::NotLoginErr)?;
        if !session.chat.try_take(caller.now.mono, 1.0) {
            return Err(ErrorCode::MuchVisitedErr);
        }
        let me = caller.user;
        let receivers: BTreeSet<UserId> = if req.dst_id == 0 {
            room.members.keys().copied().collect()
        } else {
            [req.dst_id, me].into()
        };
        let extra = Some(Extra::Chat(pb::ChatInfo {
            src_id: me,
            dst_id: req.dst_id,
            color: req.color,
            content: req.content,
        }));
        self.outbox.fanout(
            &self.dir,
            room,
            receivers,
            Ev::new(StateId::UserChat, Some(me)).with(extra),
        );
        Ok(())
    }

    /// An operator's notice: `USER_CHAT` to every member, from no user (`src_id` 0, no
    /// `puser_info`); the caller checked the length.
    pub(in crate::room) fn admin_notice(&mut self, room_id: RoomId, text: String, color: i32) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let extra = Some(Extra::Chat(pb::ChatInfo {
            src_id: 0,
            dst_id: 0,
            color,
            content: text.into(),
        }));
        self.outbox.all(
            &self.dir,
            room,
            Ev::new(StateId::UserChat, None).with(extra),
        );
    }

    pub(in crate::room) fn transparent(
        &mut self,
        caller: &Caller,
        room_id: RoomId,
        req: pb::Transparent,
    ) -> OpResult {
        if req.data.len() > MAX_TRANSPARENT_BYTES || req.data_type > 1 {
            return Err(ErrorCode::ParamErr);
        }
        let room = self.rooms.get(&room_id).ok_or(ErrorCode::NotLoginErr)?;
        if req.dst_id != 0 {
            require_member(room, req.dst_id)?;
        }
        let session = self
            .sessions
            .get_mut(&caller.conn)
            .ok_or(ErrorCode::NotLoginErr)?;
        let now = caller.now.mono;
        let bytes = req.data.len() as f64;
        if !session.data.can_take(now, 1.0) || !session.data_bytes.can_take(now, bytes) {
            return Err(ErrorCode::MuchVisitedErr);
        }
        session.data.try_take(now, 1.0);
        session.data_bytes.try_take(now, bytes);
        let me = caller.user;
        let receivers: Vec<UserId> = if req.dst_id == 0 {
            room.members.keys().copied().filter(|&u| u != me).collect()
        } else {
            vec![req.dst_id]
        };
        let extra = Some(Extra::Transparent(pb::TransparentInfo {
            src_id: me,
            data_type: req.data_type,
            data: req.data,
        }));
        self.outbox.fanout(
            &self.dir,
            room,
            receivers,
            Ev::new(StateId::Transparent, Some(me)).with(extra),
        );
        Ok(())
    }
}

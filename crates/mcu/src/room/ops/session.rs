//! Connection lifecycle: login, relogin, disconnect, shutdown, signal status, periodic ticks.

use super::*;

/// What a login asked for and was granted besides the account.
pub(in crate::room) struct LoginOptions {
    pub stream_demand: bool,
    pub scram_final: String,
    pub resume: Option<super::super::ResumeGrant>,
}

impl Core {
    pub(in crate::room) fn login(
        &mut self,
        now: Now,
        conn: ConnId,
        request_id: u32,
        user: UserId,
        options: LoginOptions,
    ) {
        let LoginOptions {
            stream_demand,
            scram_final,
            resume,
        } = options;
        if self.sessions.contains_key(&conn) {
            self.outbox
                .respond(conn, request_id, Err(ErrorCode::ReloginedErr));
            return;
        }
        if self.dir.get(user).is_none() {
            self.outbox
                .respond(conn, request_id, Err(ErrorCode::UserPasswordErr));
            return;
        }
        // The new login wins: a rebooted recorder must not wait for the old one's timeout.
        if let Some(old) = self.online.get(&user).copied() {
            self.drop_session(old, Some(ErrorCode::ReloginedErr));
        }
        let limits: &Limits = &self.limits;
        self.sessions.insert(
            conn,
            Session {
                user,
                room: None,
                signal: 5,
                stream_demand,
                suspended_since: None,
                chat: TokenBucket::new(limits.chat_burst, limits.chat_per_sec, now.mono),
                data: TokenBucket::new(limits.data_burst, limits.data_per_sec, now.mono),
                data_bytes: TokenBucket::new(
                    limits.data_bytes_burst,
                    limits.data_bytes_per_sec,
                    now.mono,
                ),
            },
        );
        self.online.insert(user, conn);
        self.outbox.out.push(Output::Routes {
            conn,
            user_id: user,
            streams: Default::default(),
        });
        let login = pb::LoginResult {
            protocol_version: PROTOCOL_VERSION,
            user_id: user,
            heartbeat_ms: self.heartbeat_ms,
            rooms: self.room_infos(),
            server_name: self.server_name.clone(),
            stream_demand,
            scram_final,
            resume_window_ms: if resume.is_some() {
                self.resume_window.as_millis() as u32
            } else {
                0
            },
            resume_token: resume.as_ref().map(|r| r.token.clone()).unwrap_or_default(),
            resume_key: resume.map(|r| r.key).unwrap_or_default(),
            fleet_nodes: self.other_nodes.clone(),
        };
        let result = Some(pb::response::Result::Login(login));
        self.outbox
            .send(conn, &pb::ServerMessage::response(request_id, 0, result));
    }

    pub(in crate::room) fn disconnect(&mut self, conn: ConnId) {
        self.drop_session(conn, None);
    }

    /// The link is gone but the client may come back: everything it holds stays; the room
    /// sees its signal at 0 (no event).
    pub(in crate::room) fn suspend(&mut self, now: Now, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        if session.suspended_since.is_none() {
            session.suspended_since = Some(now.mono);
            self.signal(conn, 0);
        }
    }

    /// The client is back on a new link: every table that lists it as a subscriber is
    /// published again (the transport swapped its queue), its own too.
    pub(in crate::room) fn resume(&mut self, conn: ConnId) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.suspended_since = None;
        let (user, room_id) = (session.user, session.room);
        match room_id.and_then(|id| self.rooms.get(&id)) {
            Some(room) => {
                self.outbox.routes.extend(room.members.keys().copied());
                self.flush(room_id);
            }
            None => self.outbox.out.push(Output::Routes {
                conn,
                user_id: user,
                streams: Default::default(),
            }),
        }
        self.signal(conn, 5);
    }

    /// Sessions suspended for the whole window are released, as a leave.
    fn expire_suspended(&mut self, now: Now) {
        let window = self.resume_window;
        let mut expired: Vec<ConnId> = self
            .sessions
            .iter()
            .filter(|(_, s)| {
                s.suspended_since
                    .is_some_and(|since| now.mono.duration_since(since) >= window)
            })
            .map(|(conn, _)| *conn)
            .collect();
        expired.sort_unstable();
        for conn in expired {
            self.drop_session(conn, None);
            self.outbox.out.push(Output::Close {
                conn,
                code: ErrorCode::NvalidSessionErr,
            });
        }
    }

    /// Forgets a session, releasing its room first. With `close`, the client is told why
    /// (`ROOM_EXIT` when it was in a room, then `Bye`) and closed.
    pub(in crate::room) fn drop_session(&mut self, conn: ConnId, close: Option<ErrorCode>) {
        let Some(session) = self.sessions.get(&conn) else {
            return;
        };
        let user = session.user;
        if let Some(room) = session.room {
            self.remove_member(room, user, close.map(Err));
            self.flush(Some(room));
        }
        self.sessions.remove(&conn);
        if self.online.get(&user) == Some(&conn) {
            self.online.remove(&user);
        }
        if let Some(code) = close {
            self.outbox.out.push(Output::Close { conn, code });
        }
    }

    /// Everyone is told at once: no leave fan-out, the rooms simply empty.
    pub(in crate::room) fn shutdown(&mut self) {
        let Core {
            dir,
            rooms,
            sessions,
            outbox,
            ..
        } = self;
        let stopped = ErrorCode::ServerStoped;
        let mut conns: Vec<(ConnId, &Session)> = sessions.iter().map(|(c, s)| (*c, s)).collect();
        conns.sort_by_key(|(conn, _)| *conn);
        for (conn, session) in conns {
            if let Some(room) = session.room.and_then(|id| rooms.get(&id)) {
                let user = Some(session.user);
                outbox.one(
                    dir,
                    room,
                    session.user,
                    Ev::new(StateId::RoomExit, user).result(Err(stopped)),
                );
            }
            outbox.out.push(Output::Close {
                conn,
                code: stopped,
            });
        }
        sessions.clear();
        self.online.clear();
        self.looked_pending.clear();
        for room in self.rooms.values_mut() {
            *room = Room::new(room.spec.clone());
        }
    }

    pub(in crate::room) fn signal(&mut self, conn: ConnId, status: u8) {
        let Some(session) = self.sessions.get_mut(&conn) else {
            return;
        };
        session.signal = status;
        let (user, Some(room_id)) = (session.user, session.room) else {
            return;
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(member) = room.members.get_mut(&user) else {
            return;
        };
        if member.signal == status {
            return;
        }
        member.signal = status;
        for &receiver in room.members.keys() {
            self.outbox.refresh.insert((receiver, user));
        }
        self.flush(Some(room_id));
    }

    pub(in crate::room) fn tick(&mut self, now: Now) {
        self.expire_suspended(now);
        self.flush_looked(now);
        self.close_expired_rooms(now);
    }

    pub(in crate::room) fn flush_looked(&mut self, now: Now) {
        let interval = self.limits.looked_interval;
        let pending: Vec<_> = self.looked_pending.iter().copied().collect();
        for key @ (room_id, src, index) in pending {
            let Some(room) = self.rooms.get_mut(&room_id) else {
                self.looked_pending.remove(&key);
                continue;
            };
            let Some(member) = room.members.get_mut(&src) else {
                self.looked_pending.remove(&key);
                continue;
            };
            let throttle = &mut member.looked[index];
            let Some(viewer) = throttle.pending else {
                self.looked_pending.remove(&key);
                continue;
            };
            if throttle
                .last_sent
                .is_some_and(|last| now.mono.duration_since(last) < interval)
            {
                continue;
            }
            throttle.pending = None;
            throttle.last_sent = Some(now.mono);
            self.looked_pending.remove(&key);
            self.key_frame_requests += 1;
            let stream = MediaType::ALL[index];
            let extra = looked_extra(viewer, stream, 1);
            self.outbox.one(
                &self.dir,
                room,
                src,
                Ev::new(StateId::Looked, Some(src)).with(extra),
            );
        }
    }

    pub(in crate::room) fn close_expired_rooms(&mut self, now: Now) {
        let expired: Vec<RoomId> = self
            .rooms
            .values()
            .filter(|r| {
                r.spec.end_time != 0 && now.unix >= r.spec.end_time && !r.members.is_empty()
            })
            .map(Room::id)
            .collect();
        for room_id in expired {
            let users: Vec<UserId> = self.rooms[&room_id].members.keys().copied().collect();
            for user in users {
                self.remove_member(room_id, user, Some(Err(ErrorCode::RoomClosed)));
            }
            self.flush(Some(room_id));
        }
    }
}

impl Core {
    /// An operator closes a room: everyone in it leaves with `retCode_RoomClosed`.
    pub(in crate::room) fn admin_close_room(&mut self, room_id: RoomId) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let users: Vec<UserId> = room.members.keys().copied().collect();
        for user in users {
            self.remove_member(room_id, user, Some(Err(ErrorCode::RoomClosed)));
        }
        self.flush(Some(room_id));
    }

    /// Applies a reread configuration while lessons go on.
    pub(in crate::room) fn reload(&mut self, config: &crate::config::Config) {
        let removed: Vec<RoomId> = self
            .rooms
            .keys()
            .copied()
            .filter(|id| !config.rooms.iter().any(|spec| spec.id == *id))
            .collect();
        for room_id in removed {
            let users: Vec<UserId> = self.rooms[&room_id].members.keys().copied().collect();
            for user in users {
                self.remove_member(room_id, user, Some(Err(ErrorCode::RoomClosed)));
            }
            self.flush(Some(room_id));
            self.rooms.remove(&room_id);
        }
        for spec in &config.rooms {
            match self.rooms.get_mut(&spec.id) {
                Some(room) => room.spec = spec.clone(),
                None => {
                    self.rooms.insert(spec.id, Room::new(spec.clone()));
                }
            }
        }
        // Accounts still logged in keep their entry until they leave; new logins use the
        // new list (the transport's credentials are replaced at the same time).
        let mut accounts = config.accounts.clone();
        for &user in self.online.keys() {
            if !accounts.iter().any(|a| a.id == user)
                && let Some(old) = self.dir.get(user)
            {
                accounts.push(old.clone());
            }
        }
        self.dir = Directory::new(&accounts);
        self.server_name = config.server_name.clone();
    }
}

//! The fleet took a room away from this node (docs/CLUSTER.md): its users here are stale.

use super::*;

impl Core {
    /// Everyone in `room_id` gets `ROOM_EXIT` and `Bye` with `code` and is closed: they
    /// reconnect and are redirected to the room's new node.
    pub(in crate::room) fn evict_room(&mut self, room_id: RoomId, code: ErrorCode) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let users: Vec<UserId> = room.members.keys().copied().collect();
        for user in users {
            if let Some(conn) = self.online.get(&user).copied() {
                self.drop_session(conn, Some(code));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use conference_proto::frame::{FrameBuffer, FrameKind};
    use conference_proto::message::decode_server;
    use conference_proto::pb::server_message::Body as ServerBody;

    use super::*;
    use crate::config::Config;
    use crate::room::Input;
    use conference_proto::pb::client_message::Body;

    fn core() -> Core {
        let hash = crate::password::scram_verifier("pw", 4096);
        let toml = format!(
            "[[account]]\nusername = \"t\"\npassword_hash = {hash:?}\nchair = true\nid = 10001\n\n\
             [[account]]\nusername = \"a\"\npassword_hash = {hash:?}\nid = 10002\n\n\
             [[room]]\nid = 7\nname = \"r\"\ncreator = \"t\"\nmax_users = 4\n"
        );
        Core::new(&Config::parse(&toml).unwrap(), Limits::default())
    }

    /// The room exits sent to `conn` and its close code.
    fn told(out: &[Output], conn: ConnId) -> (Vec<u32>, Option<u32>) {
        let mut exits = Vec::new();
        let mut close = None;
        for output in out {
            match output {
                Output::Send { conn: c, frame } if *c == conn => {
                    let mut buffer = FrameBuffer::new(1024, 1024);
                    buffer.extend(frame);
                    let frame = buffer.next_frame().unwrap().unwrap();
                    assert_eq!(frame.kind, FrameKind::Control);
                    if let Ok(ServerBody::Event(event)) = decode_server(&frame)
                        && event.state == StateId::RoomExit.id()
                    {
                        exits.push(event.result);
                    }
                }
                Output::Close { conn: c, code } if *c == conn => close = Some(code.code()),
                _ => {}
            }
        }
        (exits, close)
    }

    #[test]
    fn an_evicted_room_exits_and_closes_its_users_only() {
        let mut core = core();
        let now = Now::system();
        let mut out = Vec::new();
        for (conn, user) in [(1, 10001), (2, 10002)] {
            let login = Input::Login {
                conn,
                request_id: 1,
                user,
                stream_demand: false,
                scram_final: String::new(),
                resume: None,
            };
            core.handle(now, login, &mut out);
        }
        let join = Input::Request {
            conn: 1,
            request_id: 2,
            body: Body::JoinRoom(pb::JoinRoom { room_id: 7 }),
        };
        core.handle(now, join, &mut out);
        out.clear();
        let code = ErrorCode::NvalidSessionErr;
        core.handle(now, Input::Evict { room: 7, code }, &mut out);
        assert_eq!(told(&out, 1), (vec![code.code()], Some(code.code())));
        // Not in the room: untouched.
        assert_eq!(told(&out, 2), (vec![], None));
        assert_eq!(core.sessions(), 1);
    }
}

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

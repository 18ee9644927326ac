//! The local state cache that the `get_*` calls read: the room list, the own user and the
//! users of the current room. The connection updates it from the MCU's messages *before* the
//! matching event is queued, so a callback's `get_*` already sees the change.

use std::collections::BTreeMap;

use conference_proto::message::StateId;
use conference_proto::pb::{RoomInfo, RoomJoined, UserInfo};
use conference_proto::{AUX_SLOTS, ErrorCode};

/// The room the user is in.
#[derive(Clone, Debug, Default)]
struct CurrentRoom {
    info: RoomInfo,
    users: BTreeMap<u32, UserInfo>,
}

/// Everything known about the MCU session. Empty while not connected.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cache {
    connected: bool,
    own_id: u32,
    username: String,
    rooms: Vec<RoomInfo>,
    room: Option<CurrentRoom>,
}

impl Cache {
    /// After the login to the MCU.
    pub fn on_login(&mut self, own_id: u32, username: &str, rooms: Vec<RoomInfo>) {
        *self = Cache {
            connected: true,
            own_id,
            username: username.to_owned(),
            rooms,
            room: None,
        };
    }

    /// The session is gone.
    pub fn clear(&mut self) {
        *self = Cache::default();
    }

    pub fn in_room(&self) -> bool {
        self.room.is_some()
    }

    /// After `login_conference_room` succeeded. Returns the own user and the room, for the
    /// LOGIN_ROOM event.
    pub fn enter_room(&mut self, joined: RoomJoined) -> (UserInfo, RoomInfo) {
        let mut users: BTreeMap<u32, UserInfo> =
            joined.users.into_iter().map(|u| (u.id, u)).collect();
        let own = joined.self_.unwrap_or_else(|| UserInfo {
            id: self.own_id,
            username: self.username.clone(),
            ..UserInfo::default()
        });
        self.own_id = own.id;
        users.insert(own.id, own.clone());
        let mut room = CurrentRoom {
            info: joined.room.unwrap_or_default(),
            users,
        };
        self.sync_user_count(&mut room);
        let info = room.info.clone();
        self.room = Some(room);
        (own, info)
    }

    pub fn leave_room(&mut self) {
        self.room = None;
    }

    /// Applies what an event says about a user. `ROOM_EXIT` leaves the room; `USER_LEAVE` and
    /// `USER_KICKED` remove that user; any other event carries the user after the change.
    pub fn apply_event(&mut self, state: StateId, user: Option<&UserInfo>) {
        if state == StateId::RoomExit {
            self.room = None;
            return;
        }
        let own_id = self.own_id;
        let Some(mut room) = self.room.take() else {
            return;
        };
        if let Some(user) = user {
            match state {
                // The own user goes with ROOM_EXIT, which follows.
                StateId::UserLeave | StateId::UserKicked if user.id != own_id => {
                    room.users.remove(&user.id);
                }
                StateId::UserLeave | StateId::UserKicked => {}
                _ => {
                    room.users.insert(user.id, user.clone());
                }
            }
        }
        self.sync_user_count(&mut room);
        self.room = Some(room);
    }

    /// A `UserUpdate`: refreshes users already known (no event).
    pub fn update_users(&mut self, users: Vec<UserInfo>) {
        if let Some(room) = self.room.as_mut() {
            for user in users {
                if let Some(known) = room.users.get_mut(&user.id) {
                    *known = user;
                }
            }
        }
    }

    /// Keeps the current user count of the room, in the room and in the room list.
    fn sync_user_count(&mut self, room: &mut CurrentRoom) {
        let count = u32::try_from(room.users.len()).unwrap_or(u32::MAX);
        room.info.cur_users = count;
        for listed in self.rooms.iter_mut().filter(|r| r.id == room.info.id) {
            listed.cur_users = count;
        }
    }

    pub fn room_count(&self) -> Result<usize, ErrorCode> {
        self.require_connected()?;
        Ok(self.rooms.len())
    }

    pub fn room_info(&self, index: usize) -> Result<RoomInfo, ErrorCode> {
        self.require_connected()?;
        self.rooms.get(index).cloned().ok_or(ErrorCode::ParamErr)
    }

    /// In a room the full record; connected but outside a room, what the login told (id and
    /// user name).
    pub fn own_user(&self) -> Result<UserInfo, ErrorCode> {
        self.require_connected()?;
        if let Some(user) = self.room.as_ref().and_then(|r| r.users.get(&self.own_id)) {
            return Ok(user.clone());
        }
        Ok(UserInfo {
            id: self.own_id,
            username: self.username.clone(),
            ..UserInfo::default()
        })
    }

    pub fn user_count(&self) -> Result<usize, ErrorCode> {
        Ok(self.require_room()?.users.len())
    }

    pub fn user(&self, id: u32) -> Result<UserInfo, ErrorCode> {
        self.require_room()?
            .users
            .get(&id)
            .cloned()
            .ok_or(ErrorCode::NotFindUserErr)
    }

    /// Whether user `id` is in the current room (no clone, for the media path).
    pub fn has_user(&self, id: u32) -> bool {
        self.require_room()
            .is_ok_and(|room| room.users.contains_key(&id))
    }

    /// Whether the own user holds aux slot `slot`.
    pub fn holds_aux(&self, slot: usize) -> bool {
        slot < AUX_SLOTS
            && self
                .room
                .as_ref()
                .and_then(|r| r.users.get(&self.own_id))
                .is_some_and(|u| u.aux_slots & (1 << slot) != 0)
    }

    fn require_connected(&self) -> Result<(), ErrorCode> {
        if self.connected {
            Ok(())
        } else {
            Err(ErrorCode::NotLoginErr)
        }
    }

    fn require_room(&self) -> Result<&CurrentRoom, ErrorCode> {
        self.require_connected()?;
        self.room.as_ref().ok_or(ErrorCode::NotLoginErr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u32, name: &str) -> UserInfo {
        UserInfo {
            id,
            username: name.into(),
            ..UserInfo::default()
        }
    }

    fn room(id: u32, cur: u32) -> RoomInfo {
        RoomInfo {
            id,
            name: format!("room {id}"),
            max_users: 8,
            cur_users: cur,
            ..RoomInfo::default()
        }
    }

    fn joined_cache() -> Cache {
        let mut cache = Cache::default();
        cache.on_login(7, "me", vec![room(1, 1), room(2, 0)]);
        let (own, info) = cache.enter_room(RoomJoined {
            room: Some(room(1, 2)),
            self_: Some(user(7, "me")),
            users: vec![user(7, "me"), user(8, "other")],
        });
        assert_eq!(own.id, 7);
        assert_eq!(info.cur_users, 2);
        cache
    }

    #[test]
    fn nothing_is_known_before_the_login() {
        let cache = Cache::default();
        assert_eq!(cache.room_count(), Err(ErrorCode::NotLoginErr));
        assert_eq!(cache.own_user(), Err(ErrorCode::NotLoginErr));
        assert_eq!(cache.user_count(), Err(ErrorCode::NotLoginErr));
        assert_eq!(cache.user(1), Err(ErrorCode::NotLoginErr));
    }

    #[test]
    fn room_list_after_login_and_room_calls_need_a_room() {
        let mut cache = Cache::default();
        cache.on_login(7, "me", vec![room(1, 0), room(2, 3)]);
        assert_eq!(cache.room_count(), Ok(2));
        assert_eq!(cache.room_info(1).map(|r| r.id), Ok(2));
        assert_eq!(cache.room_info(2), Err(ErrorCode::ParamErr));
        assert_eq!(
            cache.own_user().map(|u| (u.id, u.username)),
            Ok((7, "me".into()))
        );
        assert_eq!(cache.user_count(), Err(ErrorCode::NotLoginErr));
    }

    #[test]
    fn presence_events_keep_users_and_counts_current() {
        let mut cache = joined_cache();
        assert_eq!(cache.user_count(), Ok(2));
        cache.apply_event(StateId::UserEnter, Some(&user(9, "late")));
        assert_eq!(cache.user_count(), Ok(3));
        assert_eq!(cache.room_info(0).map(|r| r.cur_users), Ok(3));
        let mut talking = user(8, "other");
        talking.audio_state = 2;
        cache.apply_event(StateId::UserTalk, Some(&talking));
        assert_eq!(cache.user(8).map(|u| u.audio_state), Ok(2));
        cache.apply_event(StateId::UserLeave, Some(&user(9, "late")));
        assert_eq!(cache.user(9), Err(ErrorCode::NotFindUserErr));
        cache.apply_event(StateId::UserKicked, Some(&user(8, "other")));
        assert_eq!(cache.user_count(), Ok(1));
        assert_eq!(cache.room_info(0).map(|r| r.cur_users), Ok(1));
        // The own user stays until ROOM_EXIT.
        cache.apply_event(StateId::UserKicked, Some(&user(7, "me")));
        assert_eq!(cache.user_count(), Ok(1));
        cache.apply_event(StateId::RoomExit, Some(&user(7, "me")));
        assert!(!cache.in_room());
        assert_eq!(cache.user_count(), Err(ErrorCode::NotLoginErr));
        assert_eq!(cache.room_count(), Ok(2), "the room list outlives the room");
    }

    #[test]
    fn aux_slots_and_silent_updates() {
        let mut cache = joined_cache();
        assert!(!cache.holds_aux(0));
        let mut me = user(7, "me");
        me.aux_slots = 0b10;
        cache.apply_event(StateId::UserAux, Some(&me));
        assert!(!cache.holds_aux(0));
        assert!(cache.holds_aux(1));
        assert!(!cache.holds_aux(2));
        let mut other = user(8, "other");
        other.signal_status = 4;
        cache.update_users(vec![other, user(99, "stranger")]);
        assert_eq!(cache.user(8).map(|u| u.signal_status), Ok(4));
        assert_eq!(cache.user(99), Err(ErrorCode::NotFindUserErr));
    }

    #[test]
    fn events_outside_a_room_change_nothing() {
        let mut cache = Cache::default();
        cache.on_login(7, "me", vec![]);
        cache.apply_event(StateId::UserEnter, Some(&user(8, "x")));
        assert!(!cache.in_room());
        cache.clear();
        assert_eq!(cache.room_count(), Err(ErrorCode::NotLoginErr));
    }
}

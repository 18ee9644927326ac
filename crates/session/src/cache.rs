//! The local state cache that the `get_*` calls read: the room list, the own user and the
//! users of the current room. The connection updates it from the MCU's messages *before* the
//! matching event is queued, so a callback's `get_*` already sees the change.

use std::collections::{BTreeMap, BTreeSet};

use conference_proto::message::StateId;
use conference_proto::{AUX_SLOTS, ErrorCode, MediaType};

use crate::types::{RoomInfo, UserInfo};

/// The MCU's answer to a room login (`RoomJoined`), in the session's types.
#[derive(Clone, Debug, Default)]
pub struct Joined {
    pub room: Option<RoomInfo>,
    pub own: Option<UserInfo>,
    /// Everyone in the room, in join order.
    pub users: Vec<UserInfo>,
}

/// The room the user is in.
#[derive(Clone, Debug, Default)]
struct CurrentRoom {
    info: RoomInfo,
    users: BTreeMap<u32, UserInfo>,
    /// The user ids in join order (the MCU's roster order, then arrivals): list positions.
    order: Vec<u32>,
    /// The streams we pull (what a rejoin subscribes to again).
    subscriptions: BTreeSet<(u32, MediaType)>,
    /// Streams pulled before a rejoin whose senders are not back yet: subscribed again when
    /// they enter.
    deferred: BTreeSet<(u32, MediaType)>,
}

impl CurrentRoom {
    fn insert(&mut self, user: UserInfo) {
        if !self.users.contains_key(&user.id) {
            self.order.push(user.id);
        }
        self.users.insert(user.id, user);
    }

    fn remove(&mut self, id: u32) {
        if self.users.remove(&id).is_some() {
            self.order.retain(|&u| u != id);
        }
        self.subscriptions.retain(|(user, _)| *user != id);
    }
}

/// `get_user_info(v)`: the user whose id is `v`, else the user at position `v` of `order`.
pub(crate) fn id_or_position(v: u32, is_id: impl Fn(u32) -> bool, order: &[u32]) -> Option<u32> {
    if is_id(v) {
        return Some(v);
    }
    usize::try_from(v)
        .ok()
        .and_then(|position| order.get(position))
        .copied()
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
    pub fn enter_room(&mut self, joined: Joined) -> (UserInfo, RoomInfo) {
        let own = joined.own.unwrap_or_else(|| UserInfo {
            id: self.own_id,
            username: self.username.clone(),
            ..UserInfo::default()
        });
        self.own_id = own.id;
        let mut room = CurrentRoom {
            info: joined.room.unwrap_or_default(),
            ..CurrentRoom::default()
        };
        for user in joined.users {
            if user.id == own.id {
                room.insert(own.clone());
            } else {
                room.insert(user);
            }
        }
        // An MCU that left us out of its roster: we are there all the same, as the last.
        room.insert(own.clone());
        self.sync_user_count(&mut room);
        let info = room.info.clone();
        self.room = Some(room);
        (own, info)
    }

    /// A new login of the same session (a rejoin): the room list is the new MCU's, the room
    /// stays until the rejoin's answer replaces it.
    pub fn relogin(&mut self, rooms: Vec<RoomInfo>) {
        self.rooms = rooms;
    }

    /// The id of the room we are in.
    pub fn room_id(&self) -> Option<u32> {
        self.room.as_ref().map(|room| room.info.id)
    }

    /// A subscription call succeeded.
    pub fn track_subscription(&mut self, user_id: u32, stream: MediaType, on: bool) {
        if let Some(room) = self.room.as_mut() {
            if on {
                room.subscriptions.insert((user_id, stream));
            } else {
                room.subscriptions.remove(&(user_id, stream));
            }
        }
    }

    /// A stream to pull again once its sender is back in the room.
    pub fn defer_subscription(&mut self, user_id: u32, stream: MediaType) {
        if let Some(room) = self.room.as_mut() {
            room.deferred.insert((user_id, stream));
        }
    }

    /// The deferred streams of `user_id`, who just entered (they count as pulled again).
    pub fn take_deferred(&mut self, user_id: u32) -> Vec<MediaType> {
        let Some(room) = self.room.as_mut() else {
            return Vec::new();
        };
        let streams: Vec<MediaType> = room
            .deferred
            .iter()
            .filter(|(user, _)| *user == user_id)
            .map(|(_, stream)| *stream)
            .collect();
        for &stream in &streams {
            room.deferred.remove(&(user_id, stream));
            room.subscriptions.insert((user_id, stream));
        }
        streams
    }

    /// The streams we pull, by sender and type.
    pub fn subscriptions(&self) -> Vec<(u32, MediaType)> {
        self.room
            .as_ref()
            .map(|room| room.subscriptions.iter().copied().collect())
            .unwrap_or_default()
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
                    room.remove(user.id);
                }
                StateId::UserLeave | StateId::UserKicked => {}
                _ => room.insert(user.clone()),
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

    /// The user whose id is `v`, else the user at position `v` of the roster (join order).
    pub fn user(&self, v: u32) -> Result<UserInfo, ErrorCode> {
        let room = self.require_room()?;
        id_or_position(v, |id| room.users.contains_key(&id), &room.order)
            .and_then(|id| room.users.get(&id))
            .cloned()
            .ok_or(ErrorCode::NotFindUserErr)
    }

    /// The current record of user `id`, when it is in the room.
    pub fn user_by_id(&self, id: u32) -> Option<&UserInfo> {
        self.room.as_ref().and_then(|room| room.users.get(&id))
    }

    /// The users in join order (positions of `get_user_info`).
    pub fn roster(&self) -> Vec<UserInfo> {
        self.room
            .as_ref()
            .map(|room| {
                room.order
                    .iter()
                    .filter_map(|id| room.users.get(id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The users in the order their `USER_LEAVE`s go out when we leave: join order, self last.
    pub fn leave_order(&self) -> Vec<UserInfo> {
        let mut users = self.roster();
        if let Some(index) = users.iter().position(|u| u.id == self.own_id) {
            let own = users.remove(index);
            users.push(own);
        }
        users
    }

    /// `login_conference_room(v)`: the listed room whose id is `v`, else the room at
    /// position `v` of the list (room ids are never 0, so 0 is always the first room), else
    /// `v` itself: the MCU decides (a room added since the login, or `RoomUnexist`).
    pub fn resolve_room(&self, v: u32) -> Result<u32, ErrorCode> {
        self.require_connected()?;
        Ok(id_or_position(
            v,
            |id| self.rooms.iter().any(|r| r.id == id),
            &self.rooms.iter().map(|r| r.id).collect::<Vec<_>>(),
        )
        .unwrap_or(v))
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
        let (own, info) = cache.enter_room(Joined {
            room: Some(room(1, 2)),
            own: Some(user(7, "me")),
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
    fn users_and_rooms_by_id_or_position() {
        let mut cache = Cache::default();
        cache.on_login(10_007, "me", vec![room(1001, 0), room(1, 0), room(1003, 0)]);
        assert_eq!(cache.resolve_room(1001), Ok(1001));
        assert_eq!(cache.resolve_room(0), Ok(1001));
        assert_eq!(cache.resolve_room(1), Ok(1), "an id wins over a position");
        assert_eq!(cache.resolve_room(2), Ok(1003));
        assert_eq!(cache.resolve_room(3), Ok(3), "unknown: the MCU decides");
        assert_eq!(cache.resolve_room(1002), Ok(1002));
        cache.enter_room(Joined {
            room: Some(room(1001, 3)),
            own: Some(user(10_007, "me")),
            users: vec![user(10_009, "b"), user(10_008, "a"), user(10_007, "me")],
        });
        let ids = |cache: &Cache| cache.roster().iter().map(|u| u.id).collect::<Vec<_>>();
        assert_eq!(ids(&cache), vec![10_009, 10_008, 10_007], "join order");
        assert_eq!(cache.user(0).map(|u| u.id), Ok(10_009));
        assert_eq!(cache.user(2).map(|u| u.id), Ok(10_007));
        assert_eq!(cache.user(3), Err(ErrorCode::NotFindUserErr));
        assert_eq!(cache.user(10_008).map(|u| u.id), Ok(10_008));
        cache.apply_event(StateId::UserLeave, Some(&user(10_009, "b")));
        cache.apply_event(StateId::UserEnter, Some(&user(10_010, "c")));
        assert_eq!(ids(&cache), vec![10_008, 10_007, 10_010]);
        assert_eq!(cache.user(0).map(|u| u.id), Ok(10_008));
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

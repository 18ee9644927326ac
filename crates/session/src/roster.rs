//! The room's user list as the application has been told it: updated by the dispatcher as it
//! delivers `USER_ENTER` / `USER_LEAVE`, just before the callback runs. Inside a callback,
//! `get_user_count` / `get_user_info` answer from it, so a firmware that builds its list from
//! events alone sees the same list through the API at every callback (the cache may already
//! be ahead by the events still queued).

use conference_proto::message::StateId;

use crate::StateEvent;
use crate::cache::id_or_position;
use crate::types::UserInfo;

#[derive(Debug, Default)]
pub(crate) struct Roster {
    /// From the delivery of `LOGIN_ROOM` to the event after the last `USER_LEAVE` of the room.
    active: bool,
    /// `ROOM_EXIT` was delivered: the `USER_LEAVE`s of the remaining users follow.
    exiting: bool,
    /// The users in join order, as their `USER_ENTER` (or a later event) gave them.
    users: Vec<UserInfo>,
}

impl Roster {
    /// Applies `event`, about to be delivered.
    pub fn deliver(&mut self, event: &StateEvent) {
        if self.exiting && event.state != StateId::UserLeave {
            *self = Roster::default();
        }
        match event.state {
            StateId::LoginRoom => {
                *self = Roster {
                    active: true,
                    ..Roster::default()
                };
            }
            StateId::RoomExit if self.active => self.exiting = true,
            StateId::UserClose | StateId::LoginMcu | StateId::ConnectMcuFailed => {
                *self = Roster::default();
            }
            _ => {}
        }
        let Some(user) = &event.user else {
            return;
        };
        let known = self.users.iter().position(|u| u.id == user.id);
        match (event.state, known) {
            (StateId::UserLeave, Some(index)) => {
                self.users.remove(index);
            }
            (StateId::UserEnter, None) if self.active && !self.exiting => {
                self.users.push(user.clone());
            }
            (StateId::UserLeave | StateId::UserKicked | StateId::RoomExit, _) => {}
            (_, Some(index)) => self.users[index] = user.clone(),
            (_, None) => {}
        }
    }

    /// `None` outside a room: the caller answers from the cache.
    pub fn count(&self) -> Option<usize> {
        self.active.then_some(self.users.len())
    }

    /// The user whose id is `v`, else the user at position `v`; `None` outside a room.
    pub fn user(&self, v: u32) -> Option<Option<&UserInfo>> {
        if !self.active {
            return None;
        }
        let order: Vec<u32> = self.users.iter().map(|u| u.id).collect();
        Some(
            id_or_position(v, |id| order.contains(&id), &order)
                .and_then(|id| self.users.iter().find(|u| u.id == id)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventExtra;

    fn ev(state: StateId, id: Option<u32>) -> StateEvent {
        StateEvent {
            state,
            result: Ok(()),
            user: id.map(|id| UserInfo {
                id,
                ..UserInfo::default()
            }),
            extra: EventExtra::None,
        }
    }

    #[test]
    fn follows_enter_and_leave_up_to_the_last_leave() {
        let mut roster = Roster::default();
        assert_eq!(roster.count(), None);
        roster.deliver(&ev(StateId::LoginRoom, Some(3)));
        assert_eq!(roster.count(), Some(0));
        for id in [20_002, 20_001, 3] {
            roster.deliver(&ev(StateId::UserEnter, Some(id)));
        }
        roster.deliver(&ev(StateId::UserEnter, Some(3)));
        assert_eq!(roster.count(), Some(3), "no duplicate");
        assert_eq!(roster.user(0).unwrap().map(|u| u.id), Some(20_002));
        assert_eq!(roster.user(20_001).unwrap().map(|u| u.id), Some(20_001));
        assert_eq!(roster.user(3).unwrap().map(|u| u.id), Some(3), "id first");
        roster.deliver(&ev(StateId::RoomExit, Some(3)));
        assert_eq!(roster.count(), Some(3));
        for id in [20_002, 20_001, 3] {
            roster.deliver(&ev(StateId::UserLeave, Some(id)));
        }
        assert_eq!(
            roster.count(),
            Some(0),
            "still answering at the last USER_LEAVE"
        );
        roster.deliver(&ev(StateId::UserClose, None));
        assert_eq!(roster.count(), None);
    }
}

//! Rejoining after a refused resume (docs/PROTOCOL.md §8.4: the resume window passed, or the
//! MCU restarted): the connection task has logged in again; this joins the same room and
//! claims again what a user may claim on its own, then reports how the room differs from the
//! one the application knew, as ordinary events. Runs on a thread of its own: it makes
//! blocking calls, like the application.

use std::sync::Arc;

use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body};
use conference_proto::{AUX_SLOTS, ErrorCode, MediaType};

use crate::connection::Conn;
use crate::convert::local_event;
use crate::events::{EventExtra, StateEvent};
use crate::requests::RequestKind;
use crate::types::{AuxInfo, UserInfo};

/// What the user had in the room before the cut and may take again by itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Claims {
    pub room: u32,
    pub master: bool,
    /// Aux slots held (one `ApplyAux` each: the MCU gives the first free slot).
    pub aux_slots: u32,
    pub hand_raised: bool,
    pub subscriptions: Vec<(u32, MediaType)>,
}

/// The rejoin's requests, in order (the room first).
pub(crate) fn requests(claims: &Claims) -> Vec<Body> {
    let mut requests = Vec::new();
    if claims.master {
        requests.push(Body::ApplyMaster(pb::ApplyMaster { on: true }));
    }
    for _ in 0..(claims.aux_slots & ((1 << AUX_SLOTS) - 1)).count_ones() {
        requests.push(Body::ApplyAux(pb::ApplyAux { on: true }));
    }
    if claims.hand_raised {
        requests.push(Body::ApplyTalk(pb::ApplyTalk { on: true }));
    }
    for &(user_id, stream) in &claims.subscriptions {
        requests.push(Body::Subscribe(pb::Subscribe {
            user_id,
            media_type: stream as u32,
            on: true,
        }));
    }
    requests
}

/// The events that take an application from the room it knew (`old`, join order) to the
/// rejoined one (`new`), the own user's record aside: leaves, arrivals, and for users in both
/// the changes of role, hand, aux slots and broadcasts, each as the event that announces it.
pub(crate) fn differences(old: &[UserInfo], new: &[UserInfo], own_id: u32) -> Vec<StateEvent> {
    let event =
        |state, user: &UserInfo, extra| local_event(state, Ok(()), Some(user.clone()), extra);
    let mut events = Vec::new();
    for gone in old.iter().filter(|u| !new.iter().any(|n| n.id == u.id)) {
        if gone.id != own_id {
            events.push(event(StateId::UserLeave, gone, EventExtra::None));
        }
    }
    for user in new {
        let Some(before) = old.iter().find(|o| o.id == user.id) else {
            events.push(event(StateId::UserEnter, user, EventExtra::None));
            continue;
        };
        if before.is_master != user.is_master {
            events.push(event(StateId::UserChair, user, EventExtra::None));
        }
        if before.audio_state != user.audio_state {
            let state = if user.audio_state == 1 || before.audio_state == 1 && user.audio_state == 0
            {
                StateId::UserReqTalk
            } else {
                StateId::UserTalk
            };
            events.push(event(state, user, EventExtra::None));
        }
        for slot in 0..AUX_SLOTS {
            let bit = 1 << slot;
            if before.aux_slots & bit != user.aux_slots & bit {
                let aux = AuxInfo {
                    user_id: user.id,
                    response: u32::from(user.aux_slots & bit != 0),
                    media_type: MediaType::ALL[2 + slot] as u32,
                };
                events.push(event(StateId::UserAux, user, EventExtra::Aux(aux)));
            }
        }
        if before.bcast_video != user.bcast_video || before.bcast_audio != user.bcast_audio {
            events.push(event(StateId::UserBcast, user, EventExtra::None));
        }
    }
    events
}

/// What the session does for a rejoin.
pub(crate) trait Rejoiner: Send + Sync + 'static {
    /// What to claim again, if the user was in a room (marks the rejoin as under way).
    fn claims(&self, generation: u64) -> Option<Claims>;
    /// The room could not be joined again: the session ends with `code`.
    fn rejoin_failed(&self, generation: u64, conn: &Conn, code: ErrorCode);
    /// A subscription granted again (`true`), or to make again when its sender is back.
    fn resubscribed(&self, generation: u64, user_id: u32, stream: MediaType, granted: bool);
}

/// How long a rejoin looks for its room at least (a node's death is noticed by the fleet
/// after its lease, 4 s by default).
const REJOIN_BUDGET_FLOOR: std::time::Duration = std::time::Duration::from_secs(10);

/// Joins the room again and claims what was held; refusals of the claims are the room's
/// answer now (another master, no free slot) and need no report beyond the events.
pub(crate) fn run<R: Rejoiner>(session: Arc<R>, conn: Arc<Conn>) {
    let generation = conn.generation;
    let Some(claims) = session.claims(generation) else {
        return;
    };
    // The room may live on another node now (its node died): follow the fleet's redirects
    // for as long as the MCU would have kept the session.
    let budget = conn.resume_window().max(REJOIN_BUDGET_FLOOR);
    let joined = crate::redirect::join_following(&conn, claims.room, RequestKind::Rejoin, budget)
        .and_then(|response| ErrorCode::check(response.code));
    if let Err(code) = joined {
        tracing::warn!(room = claims.room, ?code, "rejoin refused");
        session.rejoin_failed(generation, &conn, code);
        return;
    }
    for request in requests(&claims) {
        let subscription = match &request {
            Body::Subscribe(s) => MediaType::from_u32(s.media_type).map(|t| (s.user_id, t)),
            _ => None,
        };
        match (conn.call(request), subscription) {
            (Ok(()), Some((user_id, stream))) => {
                session.resubscribed(generation, user_id, stream, true)
            }
            // The sender has not rejoined yet (the MCU restarted under everybody).
            (Err(ErrorCode::NotFindUserErr), Some((user_id, stream))) => {
                session.resubscribed(generation, user_id, stream, false)
            }
            (Ok(()), None) => {}
            (Err(code), _) => tracing::info!(?code, "a claim was refused on rejoin"),
        }
    }
    tracing::info!(room = claims.room, "rejoined after the session was lost");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: u32) -> UserInfo {
        UserInfo {
            id,
            ..UserInfo::default()
        }
    }

    #[test]
    fn claims_become_requests_room_roles_first() {
        let claims = Claims {
            room: 7,
            master: true,
            aux_slots: 0b11,
            hand_raised: true,
            subscriptions: vec![(3, MediaType::Audio)],
        };
        let requests = requests(&claims);
        assert_eq!(requests.len(), 5);
        assert!(matches!(
            requests[0],
            Body::ApplyMaster(pb::ApplyMaster { on: true })
        ));
        assert!(matches!(
            requests[4],
            Body::Subscribe(pb::Subscribe { user_id: 3, .. })
        ));
        assert!(super::requests(&Claims::default()).is_empty());
    }

    #[test]
    fn differences_are_leaves_arrivals_and_changes() {
        let own = user(1);
        let stays = UserInfo {
            is_master: true,
            audio_state: 1,
            ..user(2)
        };
        let gone = user(3);
        let old = vec![own.clone(), stays.clone(), gone];
        let changed = UserInfo {
            is_master: false,
            audio_state: 0,
            aux_slots: 0b01,
            ..user(2)
        };
        let new = vec![own.clone(), changed, user(4)];
        let states: Vec<(StateId, u32)> = differences(&old, &new, 1)
            .iter()
            .map(|e| (e.state, e.user.as_ref().unwrap().id))
            .collect();
        assert_eq!(
            states,
            vec![
                (StateId::UserLeave, 3),
                (StateId::UserChair, 2),
                (StateId::UserReqTalk, 2),
                (StateId::UserAux, 2),
                (StateId::UserEnter, 4),
            ]
        );
        assert!(differences(&old[..2], &old[..2], 1).is_empty());
    }
}

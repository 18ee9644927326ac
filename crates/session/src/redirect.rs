//! Joining a room of a fleet (docs/PROTOCOL.md §9, docs/CLUSTER.md): a node answers a join for
//! a room homed elsewhere with a redirect; the session moves to that node (a login there) and
//! joins with the redirect's token. The application sees one `login_conference_room`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use conference_proto::ErrorCode;
use conference_proto::pb::{self, client_message::Body};

use crate::connection::Conn;
use crate::requests::RequestKind;

/// Redirects followed for one join: a node's view may lag a placement by a moment, never by
/// more than one more hop.
const MAX_HOPS: usize = 3;

/// Pause before asking again when the node a redirect named cannot be reached (it died and
/// the fleet has not re-placed its rooms yet).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// The redirect a join was answered with, if any.
pub(crate) fn redirect_of(response: &pb::Response) -> Option<&pb::Redirect> {
    match &response.result {
        Some(pb::response::Result::Redirect(redirect))
            if response.code == ErrorCode::ServerFull.code() =>
        {
            Some(redirect)
        }
        _ => None,
    }
}

/// Sends `JoinRoom{room_id}` as a request of `kind`, following redirects; returns the final
/// answer (joined, or the room's refusal). A named node that cannot be reached is retried
/// from where the session is, until `budget` is spent: then its code.
pub(crate) fn join_following(
    conn: &Conn,
    room_id: u32,
    kind: RequestKind,
    budget: Duration,
) -> Result<pb::Response, ErrorCode> {
    let deadline = Instant::now() + budget;
    let mut token = Bytes::new();
    let mut hops = 0;
    loop {
        let join = Body::JoinRoom(pb::JoinRoom { room_id });
        let response = conn.request_with_token(join, kind, std::mem::take(&mut token))?;
        let Some(redirect) = redirect_of(&response) else {
            return Ok(response);
        };
        if hops == MAX_HOPS {
            tracing::warn!(room_id, "too many redirects: the fleet's nodes disagree");
            return Err(ErrorCode::ServerFull);
        }
        tracing::info!(room_id, node = %redirect.node, address = %redirect.address, "the room lives on another node: moving there");
        match conn.move_to(&redirect.address) {
            Ok(()) => {
                hops += 1;
                token = redirect.token.clone();
            }
            Err(code) => {
                if Instant::now() + RETRY_PAUSE >= deadline {
                    return Err(code);
                }
                std::thread::sleep(RETRY_PAUSE);
            }
        }
    }
}

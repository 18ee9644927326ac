//! What the CLI prints: text for people, or one JSON object per line for scripts.

use conference_session::{EventExtra, RoomInfo, SdkStats, StateEvent, UserInfo};
use std::io::Write;

use serde_json::{Value, json};

pub struct Output {
    json: bool,
}

/// One pulled stream's rate over the last interval.
pub struct Rate {
    pub user: String,
    pub stream: &'static str,
    pub fps: f64,
    pub kbps: f64,
}

fn user_json(user: &UserInfo) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "nickname": user.nickname,
        "master": user.is_master,
        "chair": user.is_chair,
        "audio_state": user.audio_state,
        "signal": user.signal_status,
    })
}

/// The vendor header's names (`CONFERENCE_STATE_<name>`), in the order of their ids.
const STATE_NAMES: [&str; 27] = [
    "LOGIN_MCU",
    "LOGIN_ROOM",
    "USER_ENTER",
    "USER_LEAVE",
    "ROOM_EXIT",
    "USER_TALK",
    "USER_BCAST",
    "USER_CHAIR",
    "LOOKED",
    "USER_CLOSE",
    "USER_REQTALK",
    "CONNECT_MCU_FAILED",
    "LOGIN_ROOM_FAILED",
    "USER_KICKED",
    "USER_VPOS",
    "UPDATE_INTERACT",
    "USER_CHAT",
    "USER_VNC",
    "NICK_NAME",
    "RECV_JOIN",
    "RECV_INVITE",
    "REJECT_JOIN",
    "ALLOW_JOIN",
    "REJECT_INVITE",
    "ALLOW_INVITE",
    "TRANSPARENT",
    "USER_AUX",
];

pub fn state_name(event: &StateEvent) -> String {
    let id = event.state.id() as usize;
    STATE_NAMES
        .get(id.wrapping_sub(1))
        .map_or(format!("STATE_{id}"), |name| (*name).to_string())
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    /// One line on stdout; a reader that went away (a closed pipe) is not an error.
    fn line(&self, value: Value, text: String) {
        let line = if self.json { value.to_string() } else { text };
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }

    pub fn fatal(&self, message: &str) -> ! {
        self.line(json!({"error": message}), format!("error: {message}"));
        std::process::exit(1);
    }

    pub fn info(&self, what: &str, code: u32) {
        self.line(
            json!({"call": what, "result": code}),
            format!(
                "{what}: {}",
                if code == 0 {
                    "ok".into()
                } else {
                    format!("code {code:#x}")
                }
            ),
        );
    }

    pub fn rooms(&self, rooms: &[RoomInfo]) {
        let list: Vec<Value> = rooms
            .iter()
            .enumerate()
            .map(|(position, r)| {
                json!({"position": position, "id": r.id, "name": r.name,
                       "users": r.cur_users, "max_users": r.max_users})
            })
            .collect();
        let text = rooms
            .iter()
            .enumerate()
            .map(|(position, r)| {
                format!(
                    "[{position}] room {} \"{}\": {}/{} users",
                    r.id, r.name, r.cur_users, r.max_users
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        self.line(json!({"rooms": list}), text);
    }

    pub fn event(&self, event: &StateEvent) {
        let name = state_name(event);
        let extra = match &event.extra {
            EventExtra::Chat(chat) => json!({"chat": {"src": chat.src_id, "dst": chat.dst_id,
                "text": String::from_utf8_lossy(&chat.content)}}),
            EventExtra::Transparent(data) => json!({"transparent": {"src": data.src_id,
                "type": data.data_type, "bytes": data.data.len()}}),
            EventExtra::Room(room) => json!({"room": {"id": room.id, "name": room.name}}),
            _ => Value::Null,
        };
        let who = event
            .user
            .as_ref()
            .map_or("-".to_string(), |u| format!("{}#{}", u.username, u.id));
        let detail = match &event.extra {
            EventExtra::Chat(chat) => format!(" \"{}\"", String::from_utf8_lossy(&chat.content)),
            _ => String::new(),
        };
        self.line(
            json!({"event": name, "result": event.result_code(),
                   "user": event.user.as_ref().map(user_json), "extra": extra}),
            format!("{name:<18} {who} result={:#x}{detail}", event.result_code()),
        );
    }

    pub fn roster(&self, users: &[UserInfo]) {
        let names: Vec<String> = users
            .iter()
            .map(|u| format!("{}#{}", u.username, u.id))
            .collect();
        self.line(
            json!({"roster": users.iter().map(user_json).collect::<Vec<_>>()}),
            format!("-- roster ({}): {}", users.len(), names.join(", ")),
        );
    }

    pub fn rates(&self, rates: &[Rate]) {
        if rates.is_empty() {
            return;
        }
        let list: Vec<Value> = rates
            .iter()
            .map(|r| json!({"user": r.user, "stream": r.stream, "fps": r.fps, "kbps": r.kbps}))
            .collect();
        let text = rates
            .iter()
            .map(|r| {
                format!(
                    "{} {}: {:.1} fps {:.1} kbit/s",
                    r.user, r.stream, r.fps, r.kbps
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        self.line(json!({"rates": list}), format!("-- rates: {text}"));
    }

    pub fn stats(&self, stats: &SdkStats) {
        let streams = |counts: &[conference_session::StreamCount; 4]| {
            counts
                .iter()
                .map(|c| json!({"frames": c.frames, "bytes": c.bytes}))
                .collect::<Vec<_>>()
        };
        self.line(
            json!({"stats": {
                "rtt_us": stats.rtt_us, "loss_permille": stats.loss_permille,
                "sent": streams(&stats.sent), "received": streams(&stats.received),
                "dropped_queue_full": stats.dropped_queue_full, "withheld": stats.withheld,
                "dropped_dispatcher": stats.dropped_dispatcher}}),
            format!(
                "-- stats: rtt {} us, loss {}‰, sent {} frames, received {} frames, withheld {}",
                stats.rtt_us.unwrap_or(0),
                stats.loss_permille,
                stats.sent.iter().map(|c| c.frames).sum::<u64>(),
                stats.received.iter().map(|c| c.frames).sum::<u64>(),
                stats.withheld
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_session::StateId;

    #[test]
    fn state_names_are_the_headers() {
        let event = |state| StateEvent {
            state,
            result: Ok(()),
            user: None,
            extra: EventExtra::None,
        };
        assert_eq!(state_name(&event(StateId::LoginMcu)), "LOGIN_MCU");
        assert_eq!(state_name(&event(StateId::UserReqTalk)), "USER_REQTALK");
        assert_eq!(state_name(&event(StateId::UserAux)), "USER_AUX");
    }
}

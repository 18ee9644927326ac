//! The SDK session of the CLI: the events come through a channel to the main thread, which
//! prints them, keeps the roster from `USER_ENTER` / `USER_LEAVE`, and counts the pulled
//! streams' frames for their rates.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::{Duration, Instant};

use conference_session::{
    DataType, ErrorCode, Event, EventSink, MediaKind, MediaType, Sdk, SdkConfig, StateId, UserInfo,
};

use crate::JoinArgs;
use crate::output::{Output, Rate};

struct ChannelSink(Sender<Event>);

impl EventSink for ChannelSink {
    fn deliver(&mut self, event: Event) {
        let _ = self.0.send(event);
    }
}

pub struct Client {
    sdk: Arc<Sdk>,
    events: Receiver<Event>,
}

fn code(err: ErrorCode) -> u32 {
    err.code()
}

impl Client {
    pub fn connect(out: &Output, host: &str, port: u16, user: &str, password: &str) -> Client {
        let (tx, events) = channel();
        let sdk = match Sdk::start(SdkConfig::default(), Box::new(ChannelSink(tx))) {
            Ok(sdk) => Arc::new(sdk),
            Err(err) => out.fatal(&format!("cannot start the SDK: {err:?}")),
        };
        if let Err(err) = sdk.connect(host, port, user, password) {
            out.fatal(&format!("connect_MCU failed: {err:?} ({:#x})", code(err)));
        }
        let client = Client { sdk, events };
        // LOGIN_MCU
        client.drain(out, Duration::from_millis(50), &mut Roster::default());
        client
    }

    pub fn rooms(&self, out: &Output) {
        let count = self.sdk.room_count().unwrap_or(0);
        let rooms: Vec<_> = (0..count)
            .filter_map(|i| self.sdk.room_info(i).ok())
            .collect();
        out.rooms(&rooms);
        let _ = self.sdk.disconnect();
    }

    pub fn join(&self, out: &Output, args: &JoinArgs, duration: Option<Duration>) {
        let mut roster = Roster::default();
        if let Err(err) = self.sdk.login_room(args.room) {
            self.drain(out, Duration::from_millis(50), &mut roster);
            out.fatal(&format!(
                "login_conference_room failed: {err:?} ({:#x})",
                code(err)
            ));
        }
        // LOGIN_ROOM and the roster of USER_ENTERs.
        self.drain(out, Duration::from_millis(100), &mut roster);
        let own = self.sdk.own_user().map(|u| u.id).unwrap_or(0);
        if args.bcast {
            for kind in [MediaKind::Video, MediaKind::Audio] {
                let result = self.sdk.bcast(kind, own, true);
                out.info("bcast", result.err().map_or(0, code));
            }
        }
        if args.master {
            out.info(
                "apply_for_master",
                self.sdk.apply_master(true).err().map_or(0, code),
            );
        }
        if args.raise_hand {
            out.info(
                "apply_for_talk",
                self.sdk.apply_talk(true).err().map_or(0, code),
            );
        }
        for text in &args.chat {
            let result = self.sdk.send_chat(0, 0x00FF00, text.as_bytes());
            out.info("send_chat", result.err().map_or(0, code));
        }
        for text in &args.transparent {
            let result = self
                .sdk
                .send_transparent(0, text.as_bytes(), DataType::String);
            out.info("send_transparent_data", result.err().map_or(0, code));
        }
        let mut pending: Vec<String> = args.pull.clone();
        self.pull_ready(out, &roster, &mut pending);

        let stop = Arc::new(AtomicBool::new(false));
        let publisher = args
            .publish
            .then(|| crate::publish::start(Arc::clone(&self.sdk), Arc::clone(&stop)));
        let end = duration.map(|d| Instant::now() + d);
        let mut counts: BTreeMap<(u32, MediaType), (u64, u64)> = BTreeMap::new();
        let mut interval = Instant::now();
        let mut left = false;
        while end.is_none_or(|end| Instant::now() < end) && !left {
            match self.events.recv_timeout(Duration::from_millis(50)) {
                Ok(Event::Media(media)) => {
                    let entry = counts
                        .entry((media.user_id as u32, media.media_type))
                        .or_default();
                    entry.0 += 1;
                    entry.1 += media.payload.len() as u64;
                }
                Ok(Event::State(event)) => {
                    left = matches!(event.state, StateId::UserClose)
                        || (event.state == StateId::UserLeave
                            && event.user.as_ref().is_some_and(|u| u.id == own));
                    if roster.apply(out, &event) && event.state == StateId::UserEnter {
                        self.pull_ready(out, &roster, &mut pending);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            let elapsed = interval.elapsed();
            if elapsed >= Duration::from_secs(1) {
                let secs = elapsed.as_secs_f64();
                let rates: Vec<Rate> = counts
                    .iter()
                    .map(|(&(user, media_type), &(frames, bytes))| Rate {
                        user: roster.name(user),
                        stream: media_type.label(),
                        fps: frames as f64 / secs,
                        kbps: bytes as f64 * 8.0 / 1000.0 / secs,
                    })
                    .collect();
                out.rates(&rates);
                counts.clear();
                interval = Instant::now();
            }
        }
        stop.store(true, Ordering::Relaxed);
        if let Some(publisher) = publisher {
            let _ = publisher.join();
        }
        if !left {
            out.info(
                "logout_conference_room",
                self.sdk.logout_room().err().map_or(0, code),
            );
            // ROOM_EXIT and the USER_LEAVEs.
            self.drain(out, Duration::from_millis(200), &mut roster);
        }
        if let Ok(stats) = self.sdk.stats() {
            out.stats(&stats);
        }
        let _ = self.sdk.disconnect();
    }

    /// Pulls the main video and audio of every pending user now in the room.
    fn pull_ready(&self, out: &Output, roster: &Roster, pending: &mut Vec<String>) {
        pending.retain(|who| {
            let Some(user) = roster.find(who) else {
                return true;
            };
            for media_type in [MediaType::VideoMajor, MediaType::Audio] {
                let result = self.sdk.recv_stream(user.id, media_type, true);
                out.info("recv_stream", result.err().map_or(0, code));
            }
            false
        });
    }

    /// Prints the events arriving within `quiet` of each other.
    fn drain(&self, out: &Output, quiet: Duration, roster: &mut Roster) {
        while let Ok(event) = self.events.recv_timeout(quiet) {
            if let Event::State(event) = event {
                roster.apply(out, &event);
            }
        }
    }
}

/// The room's users as the events told them, in join order.
#[derive(Default)]
struct Roster {
    users: Vec<UserInfo>,
}

impl Roster {
    /// Prints `event`; returns whether the roster changed (and printed it).
    fn apply(&mut self, out: &Output, event: &conference_session::StateEvent) -> bool {
        out.event(event);
        let Some(user) = &event.user else {
            return false;
        };
        let known = self.users.iter().position(|u| u.id == user.id);
        let changed = match (event.state, known) {
            (StateId::UserEnter, None) => {
                self.users.push(user.clone());
                true
            }
            (StateId::UserLeave, Some(index)) => {
                self.users.remove(index);
                true
            }
            (_, Some(index)) => {
                self.users[index] = user.clone();
                false
            }
            _ => false,
        };
        if changed {
            out.roster(&self.users);
        }
        changed
    }

    fn find(&self, who: &str) -> Option<&UserInfo> {
        self.users
            .iter()
            .find(|u| u.username == who || who.parse() == Ok(u.id))
    }

    fn name(&self, id: u32) -> String {
        self.users
            .iter()
            .find(|u| u.id == id)
            .map_or(format!("#{id}"), |u| format!("{}#{}", u.username, u.id))
    }
}

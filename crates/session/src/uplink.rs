//! Withholding the streams nobody watches (docs/PROTOCOL.md, "Stream demand"). The MCU tells
//! which of our streams have subscribers; frames of the others never leave the machine, which
//! saves the recorder's uplink and the MCU the work of reading and discarding them.
//!
//! When a stream becomes watched, what a new viewer needs goes out first. The news takes a
//! moment to reach us, and a stream sent all along lost the frames of that moment: the frames
//! withheld in the last 50 ms go out (video: from the first key frame among them), as they
//! would have without withholding. Without a key frame among them, video
//! starts as the MCU's own cache would have started it: with the latest key frame and the
//! frames withheld since it (or, when some of those were sent to an MCU that has since
//! forgotten them, the key frame alone, after which deltas wait for the next key frame). A
//! frame is withheld or sent whole: the decision is taken at its first fragment.
//!
//! A plain state machine, asked about each frame in `send_stream` (a withheld frame never wakes
//! the network thread) and fed the MCU's `StreamDemand` by the reader task. Both queue what it
//! lets through while holding it, so the send queue's order is the order of its decisions.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use conference_proto::MediaType;
use conference_proto::media::MediaHeader;

/// Largest key frame kept for a replay (the MCU's own cache has the same bound).
const KEY_CAP: usize = 1024 * 1024;
/// Largest run of withheld video frames after a key frame kept for a replay.
const SINCE_KEY_CAP: usize = 2 * 1024 * 1024;
/// Frames withheld this recently are replayed to a new viewer: about as long as the news of a
/// subscription takes to reach a sender. (A caller that sends after its viewer's subscription
/// was answered needs no window: the MCU answers once the sender has applied the news.)
const RECENT_WINDOW: Duration = Duration::from_millis(50);
/// At most this many bytes of recent frames are kept per stream (video, audio).
const RECENT_CAP_VIDEO: usize = 4 * 1024 * 1024;
const RECENT_CAP_AUDIO: usize = 64 * 1024;

/// Frames the uplink kept off the wire because nobody watched them.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct WithheldStats {
    /// Whole frames (a fragmented frame counts once).
    pub frames: u64,
    /// Wire bytes (fragments, headers included).
    pub bytes: u64,
}

pub(crate) struct Uplink {
    /// The MCU sends `StreamDemand` and the caller allows withholding.
    active: bool,
    streams: [StreamUplink; 4],
    stats: WithheldStats,
}

#[derive(Default)]
struct StreamUplink {
    video: bool,
    watched: bool,
    /// The frame in progress (its first fragment seen, not its last): sent or withheld.
    current: Option<bool>,
    /// Became watched: a replay goes out before the next frame.
    replay_due: bool,
    /// Video: deltas are withheld until the next key frame (a replay could not give the
    /// frames between the key frame and now).
    need_key: bool,
    /// Video: the latest complete key frame, and the one being received.
    key: Vec<Bytes>,
    key_building: Option<(Vec<Bytes>, usize)>,
    /// Video: a delta after `key` was sent; the MCU forgets it when the stream goes unwatched.
    delta_sent_since_key: bool,
    /// Video: frames withheld since `key` (the frame in progress included), all of them
    /// while `since_key_whole`.
    since_key: Vec<Bytes>,
    since_key_bytes: usize,
    since_key_whole: bool,
    /// Fragments withheld in the last `RECENT_WINDOW` since the stream was last watched, in
    /// order; the front starts a frame.
    recent: VecDeque<Withheld>,
    recent_bytes: usize,
}

struct Withheld {
    at: Instant,
    starts_frame: bool,
    /// Starts a video key frame.
    starts_key: bool,
    frame: Bytes,
}

impl Uplink {
    pub fn new(active: bool) -> Self {
        let mut uplink = Uplink {
            active,
            streams: Default::default(),
            stats: WithheldStats::default(),
        };
        uplink.reset();
        uplink
    }

    /// Entering a room: nothing is watched yet, and nothing from before is replayed.
    pub fn reset(&mut self) {
        for (stream, state) in MediaType::ALL.iter().zip(self.streams.iter_mut()) {
            *state = StreamUplink {
                video: stream.is_video(),
                since_key_whole: true,
                ..StreamUplink::default()
            };
        }
    }

    /// The MCU's `StreamDemand`: bit (stream type − 1) set while that stream is watched.
    pub fn set_watched(&mut self, bits: u32) {
        for (index, state) in self.streams.iter_mut().enumerate() {
            let watched = bits & (1 << index) != 0;
            if watched == state.watched {
                continue;
            }
            state.watched = watched;
            state.replay_due = watched;
            if !watched {
                // The MCU drops what it kept of the stream: sent deltas cannot be replayed.
                state.since_key.clear();
                state.since_key_bytes = 0;
                state.since_key_whole = !state.delta_sent_since_key;
                // What was withheld before this was sent: replaying it would leave gaps.
                state.recent.clear();
                state.recent_bytes = 0;
            }
        }
    }

    /// The session is on a new link after a cut: the MCU's forwarding state for us is new
    /// and keeps no key frame, so every watched video stream restarts from its latest key
    /// frame (as for a viewer that came back after the MCU had dropped the stream).
    pub fn resumed(&mut self, now: Instant, out: &mut Vec<Bytes>) {
        let watched = self
            .streams
            .iter()
            .enumerate()
            .filter(|(_, state)| state.watched)
            .fold(0u32, |bits, (index, _)| bits | 1 << index);
        self.set_watched(0);
        self.set_watched(watched);
        // A frame in progress on the old link is not finished on the new one.
        for state in &mut self.streams {
            state.current = None;
        }
        self.take_replay(now, out);
    }

    /// Moves what new viewers need to `out` (encoded frames, in order), for every stream that
    /// became watched and is not in the middle of sending a frame (that one's replay goes
    /// before its next frame).
    pub fn take_replay(&mut self, now: Instant, out: &mut Vec<Bytes>) {
        if !self.active {
            return;
        }
        for state in &mut self.streams {
            state.take_replay(now, out);
        }
    }

    /// Decides whether one outgoing fragment goes on the wire; `frame` is its encoded form. A
    /// replay that waited for this stream's frame in progress to end comes first, in `out`.
    pub fn admit(
        &mut self,
        header: &MediaHeader,
        frame: &Bytes,
        now: Instant,
        out: &mut Vec<Bytes>,
    ) -> bool {
        if !self.active {
            return true;
        }
        let Some(stream) = header.stream() else {
            // Not ours to judge: the MCU refuses it.
            return true;
        };
        let state = &mut self.streams[stream as usize - 1];
        let start = header.starts_frame();
        if start {
            state.take_replay(now, out);
        }
        let end = header.ends_frame();
        let key = header.is_key_frame();
        let send = if start {
            if state.video && key {
                state.need_key = false;
            }
            state.watched && !(state.video && state.need_key)
        } else {
            state.current.unwrap_or(state.watched)
        };
        state.current = if end { None } else { Some(send) };
        if state.video {
            state.track_video(frame, start, end, key, send);
        }
        if !send {
            state.remember_recent(frame, start, start && key && state.video, now);
        }
        if !send {
            self.stats.bytes += frame.len() as u64;
            if start {
                self.stats.frames += 1;
            }
        }
        send
    }

    pub fn stats(&self) -> WithheldStats {
        self.stats
    }
}

impl StreamUplink {
    fn take_replay(&mut self, now: Instant, out: &mut Vec<Bytes>) {
        if !self.replay_due || self.current == Some(true) {
            return;
        }
        self.replay_due = false;
        self.forget_older_than_window(now);
        let from = if self.video {
            self.recent.iter().position(|w| w.starts_key)
        } else {
            (!self.recent.is_empty()).then_some(0)
        };
        match from {
            Some(from) => self.replay_recent(from, out),
            None if self.video => self.replay_video(out),
            None => {}
        }
        self.recent.clear();
        self.recent_bytes = 0;
    }

    fn track_video(&mut self, frame: &Bytes, start: bool, end: bool, key: bool, sent: bool) {
        if start {
            self.key_building = key.then(|| (Vec::new(), 0));
        }
        let building = match self.key_building.as_mut() {
            Some((fragments, bytes)) if *bytes + frame.len() <= KEY_CAP => {
                fragments.push(frame.clone());
                *bytes += frame.len();
                true
            }
            Some(_) => {
                // Too large to keep: the previous key frame stays the one replayed, and the
                // deltas after this one cannot be decoded from it.
                self.key_building = None;
                self.since_key.clear();
                self.since_key_bytes = 0;
                self.since_key_whole = false;
                return;
            }
            None => false,
        };
        if building {
            if end && let Some((fragments, _)) = self.key_building.take() {
                self.key = fragments;
                self.delta_sent_since_key = false;
                self.since_key.clear();
                self.since_key_bytes = 0;
                self.since_key_whole = true;
            }
            return;
        }
        if key && start {
            return;
        }
        if sent {
            self.delta_sent_since_key = true;
        } else if self.since_key_whole && !self.key.is_empty() {
            if self.since_key_bytes + frame.len() <= SINCE_KEY_CAP {
                self.since_key.push(frame.clone());
                self.since_key_bytes += frame.len();
            } else {
                self.since_key.clear();
                self.since_key_bytes = 0;
                self.since_key_whole = false;
            }
        }
    }

    fn replay_video(&mut self, out: &mut Vec<Bytes>) {
        if let Some((fragments, _)) = &self.key_building {
            // A key frame is on its way: what came of it so far, then the rest as it comes.
            out.extend(fragments.iter().cloned());
            self.current = Some(true);
            self.need_key = false;
            self.since_key.clear();
            self.since_key_bytes = 0;
            return;
        }
        if self.key.is_empty() {
            return;
        }
        out.extend(self.key.iter().cloned());
        if self.since_key_whole {
            self.delta_sent_since_key |= !self.since_key.is_empty();
            out.append(&mut self.since_key);
            self.since_key_bytes = 0;
            if self.current == Some(false) {
                // Its first fragments just went out: the rest follows.
                self.current = Some(true);
            }
            self.need_key = false;
        } else {
            // A withheld frame in progress stays withheld, and so do the deltas after it.
            self.need_key = true;
        }
    }

    fn remember_recent(&mut self, frame: &Bytes, start: bool, starts_key: bool, now: Instant) {
        if !start && self.recent.is_empty() {
            // The rest of a frame whose start is gone.
            return;
        }
        self.recent.push_back(Withheld {
            at: now,
            starts_frame: start,
            starts_key,
            frame: frame.clone(),
        });
        self.recent_bytes += frame.len();
        let cap = if self.video {
            RECENT_CAP_VIDEO
        } else {
            RECENT_CAP_AUDIO
        };
        while self.recent_bytes > cap {
            self.drop_oldest_frame();
        }
        self.forget_older_than_window(now);
    }

    fn forget_older_than_window(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|w| now.duration_since(w.at) > RECENT_WINDOW)
        {
            self.drop_oldest_frame();
        }
    }

    /// Drops the oldest fragment and the rest of its frame.
    fn drop_oldest_frame(&mut self) {
        if let Some(oldest) = self.recent.pop_front() {
            self.recent_bytes -= oldest.frame.len();
        }
        while self.recent.front().is_some_and(|w| !w.starts_frame) {
            if let Some(rest) = self.recent.pop_front() {
                self.recent_bytes -= rest.frame.len();
            }
        }
    }

    /// Replays the recent frames from the `from`th fragment (a frame start) on; the frame in
    /// progress, if among them, goes on being sent.
    fn replay_recent(&mut self, from: usize, out: &mut Vec<Bytes>) {
        let replayed = self.recent.drain(..).skip(from);
        let before = out.len();
        out.extend(replayed.map(|w| w.frame));
        if out.len() == before {
            return;
        }
        if self.current == Some(false) {
            self.current = Some(true);
        }
        if self.video {
            // The replay starts at a key frame and holds everything withheld since.
            self.need_key = false;
            self.since_key.clear();
            self.since_key_bytes = 0;
            self.delta_sent_since_key = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_proto::media::encode_media;

    fn frame(stream: MediaType, seq: u16, key: bool, payload: &str) -> (MediaHeader, Bytes) {
        let header = MediaHeader {
            stream_type: stream as u8,
            frame_seq: seq,
            key_frame: u16::from(key),
            ..Default::default()
        };
        (header, encode_media(&header, payload.as_bytes()))
    }

    /// Feeds frames; returns the payload tags that went on the wire (replays included).
    struct Wire {
        uplink: Uplink,
        now: Instant,
        sent: Vec<Bytes>,
    }

    impl Wire {
        fn new() -> Wire {
            Wire {
                uplink: Uplink::new(true),
                now: Instant::now(),
                sent: Vec::new(),
            }
        }

        fn send(&mut self, stream: MediaType, seq: u16, key: bool, payload: &str) {
            let mut replay = Vec::new();
            let (header, bytes) = frame(stream, seq, key, payload);
            let send = self.uplink.admit(&header, &bytes, self.now, &mut replay);
            self.sent.extend(replay);
            if send {
                self.sent.push(bytes);
            }
        }

        fn watch(&mut self, bits: u32) {
            self.uplink.set_watched(bits);
            let mut replay = Vec::new();
            self.uplink.take_replay(self.now, &mut replay);
            self.sent.extend(replay);
        }

        fn wire(&mut self) -> Vec<String> {
            self.sent
                .drain(..)
                .map(|b| String::from_utf8_lossy(&b[45..]).into_owned())
                .collect()
        }
    }

    const V: MediaType = MediaType::VideoMajor;
    const A: MediaType = MediaType::Audio;

    #[test]
    fn nothing_goes_out_until_a_stream_is_watched() {
        let mut w = Wire::new();
        w.send(V, 3, true, "k1");
        w.send(A, 3, false, "a1");
        assert!(w.wire().is_empty());
        assert_eq!(
            w.uplink.stats(),
            WithheldStats {
                frames: 2,
                bytes: 94
            }
        );
        w.watch(0b11);
        w.send(V, 3, false, "d1");
        w.send(A, 3, false, "a2");
        assert_eq!(w.wire(), ["a1", "k1", "d1", "a2"]);
    }

    #[test]
    fn a_new_viewer_gets_the_key_frame_and_the_frames_withheld_since() {
        let mut w = Wire::new();
        for (seq, key, tag) in [
            (3, true, "k0"),
            (3, true, "k1"),
            (1, false, "d1a"),
            (2, false, "d1b"),
        ] {
            w.send(V, seq, key, tag);
        }
        w.now += Duration::from_millis(300);
        w.send(V, 1, false, "d2a");
        w.watch(0b10);
        // The frame in progress goes on: its first fragment was replayed.
        w.send(V, 2, false, "d2b");
        w.send(V, 3, false, "d3");
        assert_eq!(w.wire(), ["k1", "d1a", "d1b", "d2a", "d2b", "d3"]);
    }

    #[test]
    fn after_sent_deltas_a_returning_viewer_gets_the_key_frame_then_waits_for_the_next() {
        let mut w = Wire::new();
        w.watch(0b10);
        w.send(V, 3, true, "k1");
        w.send(V, 3, false, "d1");
        w.watch(0);
        w.send(V, 3, false, "d2");
        w.watch(0b10);
        w.send(V, 3, false, "d3");
        w.send(V, 1, true, "k2a");
        w.send(V, 2, true, "k2b");
        assert_eq!(w.wire(), ["k1", "d1", "k1", "k2a", "k2b"]);
    }

    #[test]
    fn a_frame_is_sent_or_withheld_whole() {
        let mut w = Wire::new();
        w.watch(0b10);
        w.send(V, 1, true, "k1a");
        w.watch(0);
        w.send(V, 2, true, "k1b");
        w.send(V, 1, false, "d1a");
        w.watch(0b10);
        w.send(V, 2, false, "d1b");
        assert_eq!(w.wire(), ["k1a", "k1b", "k1a", "k1b", "d1a", "d1b"]);
    }

    #[test]
    fn no_replay_cuts_into_a_frame_being_sent() {
        let mut w = Wire::new();
        w.watch(0b10);
        w.send(V, 1, true, "k1a");
        w.watch(0);
        w.watch(0b10);
        w.send(V, 2, true, "k1b");
        w.send(V, 3, false, "d1");
        assert_eq!(w.wire(), ["k1a", "k1b", "k1a", "k1b", "d1"]);
    }

    #[test]
    fn a_key_frame_in_progress_is_replayed_so_far_and_finished() {
        let mut w = Wire::new();
        w.send(V, 3, true, "k1");
        w.now += Duration::from_millis(300);
        w.send(V, 1, true, "k2a");
        w.watch(0b10);
        w.send(V, 2, true, "k2b");
        assert_eq!(w.wire(), ["k2a", "k2b"]);
    }

    #[test]
    fn video_withheld_just_before_the_news_goes_out_from_its_first_key_frame() {
        let mut w = Wire::new();
        w.send(V, 3, true, "k0");
        w.now += Duration::from_millis(300);
        // Within the window: a delta first (undecodable alone), then a key frame and more.
        for (seq, key, tag) in [
            (3, false, "d1"),
            (3, true, "k2"),
            (3, false, "d3"),
            (1, false, "d4a"),
        ] {
            w.send(V, seq, key, tag);
        }
        w.watch(0b10);
        w.send(V, 2, false, "d4b");
        w.send(V, 3, false, "d5");
        assert_eq!(w.wire(), ["k2", "d3", "d4a", "d4b", "d5"]);
    }

    #[test]
    fn only_recent_audio_is_replayed() {
        let mut w = Wire::new();
        w.send(A, 3, false, "old");
        w.now += Duration::from_millis(300);
        w.send(A, 3, false, "a1");
        w.send(A, 1, false, "a2a");
        w.watch(0b01);
        w.send(A, 2, false, "a2b");
        assert_eq!(w.wire(), ["a1", "a2a", "a2b"]);
        w.watch(0);
        w.send(A, 3, false, "a3");
        assert!(w.wire().is_empty());
    }

    #[test]
    fn an_inactive_uplink_sends_everything() {
        let mut uplink = Uplink::new(false);
        let (header, bytes) = frame(V, 3, false, "d");
        let mut replay = Vec::new();
        assert!(uplink.admit(&header, &bytes, Instant::now(), &mut replay));
        uplink.set_watched(0b10);
        uplink.take_replay(Instant::now(), &mut replay);
        assert!(replay.is_empty());
    }

    #[test]
    fn reset_forgets_the_previous_room() {
        let mut w = Wire::new();
        w.watch(0b10);
        w.send(V, 3, true, "k1");
        w.uplink.reset();
        w.watch(0b10);
        w.send(V, 3, false, "d1");
        assert_eq!(w.wire(), ["k1", "d1"], "no replay of the old key frame");
    }
}

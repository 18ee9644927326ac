//! The media drop policy of the event queue: how much media may wait for a slow
//! [`crate::EventSink`], and which frames go when it falls behind. Whole frames are dropped,
//! and a video stream that lost a frame waits for its next key frame; control events never
//! pass through here (they are never dropped).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use conference_proto::MediaType;
use conference_proto::media::MediaHeader;

use crate::MediaEvent;

/// How much media may wait for the sink before frames are dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MediaBudget {
    /// Media events (fragments) queued.
    pub max_events: usize,
    /// Payload bytes queued.
    pub max_bytes: usize,
}

impl Default for MediaBudget {
    fn default() -> Self {
        // A few seconds of several HD streams: a hiccup of the application passes unharmed.
        MediaBudget {
            max_events: 2048,
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Media the dispatcher dropped because the sink could not keep up.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DropStats {
    /// Whole frames dropped (a fragmented frame counts once).
    pub frames: u64,
    /// Media events (fragments) dropped.
    pub events: u64,
    /// Payload bytes dropped.
    pub bytes: u64,
}

/// Where a stream stands between two frames.
#[derive(Copy, Clone, Debug, Default)]
struct StreamGate {
    /// The current frame is being dropped: its remaining fragments go too.
    dropping: bool,
    /// Video only: a frame was lost, so everything up to the next key frame is dropped.
    need_key: bool,
}

/// The drop policy, apart from the queue so it can be tested alone.
pub(crate) struct ReceivePolicy {
    budget: MediaBudget,
    queued_events: usize,
    queued_bytes: usize,
    streams: HashMap<(i32, MediaType), StreamGate>,
    stats: DropStats,
    last_log: Option<Instant>,
}

/// A frame that has started is finished even over budget (whole frames only), up to this
/// many times the budget; past that its rest is dropped and the stream resynchronises.
const HARD_LIMIT_FACTOR: usize = 4;

impl ReceivePolicy {
    pub fn new(budget: MediaBudget) -> Self {
        ReceivePolicy {
            budget,
            queued_events: 0,
            queued_bytes: 0,
            streams: HashMap::new(),
            stats: DropStats::default(),
            last_log: None,
        }
    }

    /// Decides whether a media event may be queued; counts it when it may.
    pub fn admit(&mut self, event: &MediaEvent) -> bool {
        let len = event.payload.len();
        let header = &event.header;
        let video = event.media_type.is_video();
        let over = self.queued_events >= self.budget.max_events
            || self.queued_bytes + len > self.budget.max_bytes;
        let gate = self
            .streams
            .entry((event.user_id, event.media_type))
            .or_default();
        let admit = if header.starts_frame() {
            if over || (video && gate.need_key && !is_key(header)) {
                gate.dropping = !header.ends_frame();
                gate.need_key |= video;
                self.stats.frames += 1;
                false
            } else {
                gate.dropping = false;
                if video && is_key(header) {
                    gate.need_key = false;
                }
                true
            }
        } else if gate.dropping {
            false
        } else {
            let hard_over = self.queued_events >= self.budget.max_events * HARD_LIMIT_FACTOR
                || self.queued_bytes + len > self.budget.max_bytes * HARD_LIMIT_FACTOR;
            if hard_over {
                gate.dropping = true;
                gate.need_key |= video;
                self.stats.frames += 1;
                false
            } else {
                true
            }
        };
        if header.ends_frame() && !admit {
            gate.dropping = false;
        }
        if admit {
            self.queued_events += 1;
            self.queued_bytes += len;
        } else {
            self.stats.events += 1;
            self.stats.bytes += len as u64;
            self.log_drop(event);
        }
        admit
    }

    /// A media event left the queue (delivered or discarded).
    pub fn released(&mut self, len: usize) {
        self.queued_events = self.queued_events.saturating_sub(1);
        self.queued_bytes = self.queued_bytes.saturating_sub(len);
    }

    pub fn stats(&self) -> DropStats {
        self.stats
    }

    fn log_drop(&mut self, event: &MediaEvent) {
        // At most one line a second, with the running totals.
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(1))
        {
            self.last_log = Some(now);
            tracing::warn!(
                user = event.user_id,
                stream = ?event.media_type,
                frames = self.stats.frames,
                bytes = self.stats.bytes,
                "event sink too slow: media frames dropped"
            );
        }
    }
}

fn is_key(header: &MediaHeader) -> bool {
    header.key_frame == 1
}
#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn media(user: i32, ty: MediaType, seq: u16, key: u16, len: usize) -> MediaEvent {
        MediaEvent {
            header: MediaHeader {
                sender_id: user as u32,
                stream_type: ty as u8,
                frame_seq: seq,
                key_frame: key,
                ..MediaHeader::default()
            },
            payload: Bytes::from(vec![0u8; len]),
            user_id: user,
            media_type: ty,
        }
    }

    const FIRST: u16 = 1;
    const MIDDLE: u16 = 0;
    const LAST: u16 = 2;
    const WHOLE: u16 = 3;

    #[test]
    fn within_budget_everything_passes() {
        let mut gate = ReceivePolicy::new(MediaBudget {
            max_events: 10,
            max_bytes: 1000,
        });
        for seq in [FIRST, MIDDLE, LAST, WHOLE] {
            assert!(gate.admit(&media(1, MediaType::VideoMajor, seq, 0, 10)));
        }
        assert_eq!(gate.stats(), DropStats::default());
    }

    #[test]
    fn over_budget_whole_frames_are_dropped_and_video_waits_for_a_key_frame() {
        let mut gate = ReceivePolicy::new(MediaBudget {
            max_events: 2,
            max_bytes: 1_000_000,
        });
        let video = MediaType::VideoMajor;
        // A started frame is finished even though it goes over budget.
        assert!(gate.admit(&media(1, video, FIRST, 1, 10)));
        assert!(gate.admit(&media(1, video, MIDDLE, 1, 10)));
        assert!(gate.admit(&media(1, video, LAST, 1, 10)));
        // Over budget: the next frame goes whole, fragments included.
        assert!(!gate.admit(&media(1, video, FIRST, 0, 10)));
        assert!(!gate.admit(&media(1, video, MIDDLE, 0, 10)));
        assert!(!gate.admit(&media(1, video, LAST, 0, 10)));
        // The sink catches up...
        for _ in 0..3 {
            gate.released(10);
        }
        // ...but a delta frame cannot be decoded without what was lost.
        assert!(!gate.admit(&media(1, video, WHOLE, 0, 10)));
        // Another stream is independent.
        assert!(gate.admit(&media(2, video, WHOLE, 0, 10)));
        gate.released(10);
        // The next key frame resumes the stream.
        assert!(gate.admit(&media(1, video, FIRST, 1, 10)));
        assert!(gate.admit(&media(1, video, LAST, 1, 10)));
        gate.released(10);
        gate.released(10);
        assert!(gate.admit(&media(1, video, WHOLE, 0, 10)));
        assert_eq!(
            gate.stats(),
            DropStats {
                frames: 2,
                events: 4,
                bytes: 40,
            }
        );
    }

    #[test]
    fn audio_resumes_at_the_next_frame() {
        let mut gate = ReceivePolicy::new(MediaBudget {
            max_events: 1_000,
            max_bytes: 100,
        });
        assert!(gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        assert!(!gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        gate.released(80);
        assert!(gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        assert_eq!(gate.stats().frames, 1);
    }

    #[test]
    fn a_runaway_frame_is_cut_at_the_hard_limit() {
        let mut gate = ReceivePolicy::new(MediaBudget {
            max_events: 2,
            max_bytes: 1_000_000,
        });
        let video = MediaType::VideoMajor;
        assert!(gate.admit(&media(1, video, FIRST, 1, 1)));
        for _ in 1..2 * HARD_LIMIT_FACTOR {
            assert!(gate.admit(&media(1, video, MIDDLE, 1, 1)));
        }
        assert!(!gate.admit(&media(1, video, MIDDLE, 1, 1)));
        assert!(!gate.admit(&media(1, video, LAST, 1, 1)));
        assert_eq!(gate.stats().frames, 1);
    }
}

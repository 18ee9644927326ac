//! The media hot path of one sender: its forwarding table (pushed by the hub), the latest
//! key frame of each video stream, and the per-subscriber whole-frame drop policy.
//!
//! Only the sender's own connection task touches this, so nothing here is locked; the
//! subscriber queues are the only shared state: a push takes its queue's lock once, or twice
//! around a direct write to the subscriber's socket when its queue is empty (`queue.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use conference_proto::MediaType;
use conference_proto::media::{MediaHeader, stamp_sender};
use parking_lot::Mutex;

use super::queue::OutQueue;
use crate::room::{ConnId, UserId};

/// A subscriber of a stream.
#[derive(Clone)]
pub struct Sub {
    pub conn: ConnId,
    pub out: Arc<OutQueue>,
}

/// What the hub publishes to a sender's task whenever its subscribers change.
#[derive(Clone, Default)]
pub struct RouteTable {
    /// 0 until logged in.
    pub user_id: UserId,
    /// Per stream type − 1; `None`: this stream may not be sent now (dropped, counted).
    pub streams: [Option<Arc<[Sub]>>; 4],
}

/// Largest key frame kept for late subscribers.
const KEY_CACHE_CAP: usize = 1024 * 1024;

/// Process-wide media counters.
#[derive(Default)]
pub struct MediaStats {
    pub frames_in: AtomicU64,
    pub fragments_out: AtomicU64,
    pub dropped_unrouted: AtomicU64,
    pub dropped_slow: AtomicU64,
    /// The same per stream type (index = media type - 1), with bytes on the wire.
    pub by_stream: [StreamStats; 4],
    /// What each logged-in sender's streams carried (the admin API turns it into rates).
    pub senders: Mutex<HashMap<UserId, Arc<SenderCounts>>>,
}

/// Frames and bytes received from one sender, per stream type.
#[derive(Default)]
pub struct SenderCounts {
    pub frames: [AtomicU64; 4],
    pub bytes: [AtomicU64; 4],
}

/// Media counters of one stream type.
#[derive(Default)]
pub struct StreamStats {
    pub frames_in: AtomicU64,
    pub bytes_in: AtomicU64,
    pub fragments_out: AtomicU64,
    pub bytes_out: AtomicU64,
}

/// Whole-frame state of one subscriber for one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct SubState {
    /// The start of the current frame was accepted: its other fragments follow it.
    in_frame: bool,
    /// Video: refuse everything until a key frame starts.
    need_key: bool,
}

/// The fragments of the latest complete key frame of a video stream.
#[derive(Default)]
struct KeyCache {
    complete: Vec<Bytes>,
    building: Vec<Bytes>,
    building_bytes: usize,
    building_active: bool,
    /// A non-key frame started after `complete`: a late subscriber that gets the cached key
    /// frame must then wait for the next key frame, or it would decode against missing
    /// references.
    deltas_since: bool,
}

impl KeyCache {
    fn observe(&mut self, frame: &Bytes, start: bool, end: bool, key: bool) {
        if start {
            self.building.clear();
            self.building_bytes = 0;
            self.building_active = key;
            if !key {
                self.deltas_since = true;
            }
        }
        if !self.building_active {
            return;
        }
        self.building_bytes += frame.len();
        if self.building_bytes > KEY_CACHE_CAP {
            self.building_active = false;
            self.building.clear();
            return;
        }
        self.building.push(frame.clone());
        if end {
            self.complete = std::mem::take(&mut self.building);
            self.building_active = false;
            self.deltas_since = false;
        }
    }

    fn clear(&mut self) {
        *self = KeyCache::default();
    }
}

struct StreamOut {
    stream: MediaType,
    source: Option<Arc<[Sub]>>,
    subs: Vec<(Sub, SubState)>,
    key: KeyCache,
}

impl StreamOut {
    fn new(stream: MediaType) -> Self {
        StreamOut {
            stream,
            source: None,
            subs: Vec::new(),
            key: KeyCache::default(),
        }
    }

    fn fresh_state(&self) -> SubState {
        SubState {
            in_frame: false,
            need_key: self.stream.is_video(),
        }
    }
}

/// Offers one fragment to one subscriber under the whole-frame policy.
fn offer(
    out: &OutQueue,
    state: &mut SubState,
    frame: &Bytes,
    frag: (bool, bool, bool),
    video: bool,
    stats: &MediaStats,
    stream_stats: &StreamStats,
) {
    let (start, end, key) = frag;
    let accepted = if start {
        if state.need_key && !key {
            state.in_frame = false;
            return;
        }
        out.push_media(frame.clone(), false)
    } else {
        if !state.in_frame {
            return;
        }
        out.push_media(frame.clone(), true)
    };
    if accepted {
        state.need_key = false;
        state.in_frame = !end;
        stats.fragments_out.fetch_add(1, Ordering::Relaxed);
        stream_stats.fragments_out.fetch_add(1, Ordering::Relaxed);
        stream_stats
            .bytes_out
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
    } else {
        // Too slow: this frame is dropped whole, video until the next key frame.
        state.in_frame = false;
        state.need_key = video;
        stats.dropped_slow.fetch_add(1, Ordering::Relaxed);
    }
}

/// The forwarding state of one sender.
pub struct Forwarder {
    user_id: UserId,
    /// The sender takes `StreamDemand` and withholds unwatched streams: a stream without
    /// subscribers keeps no key frame (what arrives before the sender heard that nobody
    /// watches would go stale), and a new subscriber gets the key frame the sender replays.
    sender_withholds: bool,
    streams: [StreamOut; 4],
    stats: Arc<MediaStats>,
    /// This connection's entry of `stats.senders` once logged in.
    counts: Arc<SenderCounts>,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let mut senders = self.stats.senders.lock();
        // A newer connection of the same user may have replaced the entry: keep that one.
        if senders
            .get(&self.user_id)
            .is_some_and(|entry| Arc::ptr_eq(entry, &self.counts))
        {
            senders.remove(&self.user_id);
        }
    }
}

impl Forwarder {
    pub fn new(stats: Arc<MediaStats>) -> Self {
        Forwarder {
            user_id: 0,
            sender_withholds: false,
            streams: MediaType::ALL.map(StreamOut::new),
            stats,
            counts: Arc::default(),
        }
    }

    pub fn set_sender_withholds(&mut self, withholds: bool) {
        self.sender_withholds = withholds;
    }

    /// Installs a new table. Subscribers new to a video stream get its latest key frame first.
    pub fn apply(&mut self, table: &RouteTable) {
        if self.user_id != table.user_id && table.user_id != 0 {
            self.stats
                .senders
                .lock()
                .insert(table.user_id, Arc::clone(&self.counts));
        }
        self.user_id = table.user_id;
        for (index, source) in table.streams.iter().enumerate() {
            let out = &mut self.streams[index];
            match source {
                None => {
                    out.source = None;
                    out.subs.clear();
                    out.key.clear();
                }
                Some(list) if list.is_empty() && self.sender_withholds => {
                    out.source = Some(list.clone());
                    out.subs.clear();
                    out.key.clear();
                }
                Some(list) => {
                    if out
                        .source
                        .as_ref()
                        .is_some_and(|old| Arc::ptr_eq(old, list))
                    {
                        continue;
                    }
                    let mut old: HashMap<ConnId, (Arc<OutQueue>, SubState)> = out
                        .subs
                        .drain(..)
                        .map(|(sub, state)| (sub.conn, (sub.out, state)))
                        .collect();
                    let mut subs = Vec::with_capacity(list.len());
                    for sub in list.iter() {
                        // A subscriber on a new link (resumed) starts afresh, from the key frame.
                        let kept = old
                            .remove(&sub.conn)
                            .filter(|(queue, _)| Arc::ptr_eq(queue, &sub.out));
                        let state = match kept {
                            Some((_, state)) => state,
                            None => {
                                let mut state = out.fresh_state();
                                let video = out.stream.is_video();
                                let last = out.key.complete.len().saturating_sub(1);
                                for (i, frag) in out.key.complete.iter().enumerate() {
                                    let flags = (i == 0, i == last, true);
                                    let stream_stats =
                                        &self.stats.by_stream[out.stream as usize - 1];
                                    offer(
                                        &sub.out,
                                        &mut state,
                                        frag,
                                        flags,
                                        video,
                                        &self.stats,
                                        stream_stats,
                                    );
                                }
                                if !out.key.complete.is_empty() && out.key.deltas_since {
                                    state.need_key = true;
                                }
                                state
                            }
                        };
                        subs.push((sub.clone(), state));
                    }
                    out.subs = subs;
                    out.source = Some(list.clone());
                }
            }
        }
    }

    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    /// Forwards one whole media frame (prefix included) read from the sender.
    pub fn forward(&mut self, mut frame: BytesMut, header: &MediaHeader) {
        self.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        let Some(stream) = header.stream() else {
            return;
        };
        let index = stream as usize - 1;
        self.counts.frames[index].fetch_add(1, Ordering::Relaxed);
        self.counts.bytes[index].fetch_add(frame.len() as u64, Ordering::Relaxed);
        let stream_stats = &self.stats.by_stream[index];
        stream_stats.frames_in.fetch_add(1, Ordering::Relaxed);
        stream_stats
            .bytes_in
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        let out = &mut self.streams[stream as usize - 1];
        if self.user_id == 0 || out.source.is_none() {
            self.stats.dropped_unrouted.fetch_add(1, Ordering::Relaxed);
            return;
        }
        stamp_sender(&mut frame, self.user_id);
        let frame = frame.freeze();
        let frag = (
            header.starts_frame(),
            header.ends_frame(),
            header.is_key_frame(),
        );
        let video = stream.is_video();
        if video && !(self.sender_withholds && out.subs.is_empty()) {
            out.key.observe(&frame, frag.0, frag.1, frag.2);
        }
        for (sub, state) in &mut out.subs {
            offer(
                &sub.out,
                state,
                &frame,
                frag,
                video,
                &self.stats,
                stream_stats,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::queue::{MEDIA_SOFT_CAP, Take};
    use conference_proto::frame::{FRAME_HEADER_LEN, decode_frame};
    use conference_proto::media::{MediaFrame, encode_media};

    fn frame(stream: MediaType, seq: u16, key: bool, payload: &[u8]) -> (BytesMut, MediaHeader) {
        let header = MediaHeader {
            stream_type: stream as u8,
            frame_seq: seq,
            key_frame: u16::from(key),
            ..Default::default()
        };
        let mut buf = BytesMut::from(&encode_media(&header, payload)[..]);
        let raw = decode_frame(&mut buf).unwrap().unwrap();
        let header = MediaHeader::parse(&raw.bytes[FRAME_HEADER_LEN..]).unwrap();
        (raw.bytes, header)
    }

    fn drain(queue: &OutQueue) -> Vec<MediaFrame> {
        let mut batch = Vec::new();
        while queue.take(&mut batch, 1024, usize::MAX) == Take::Frames {}
        batch
            .into_iter()
            .map(|b| MediaFrame::from_frame_bytes(b).unwrap())
            .collect()
    }

    fn table(user_id: UserId, video: &[Sub]) -> RouteTable {
        RouteTable {
            user_id,
            streams: [
                Some(Arc::from(Vec::new())),
                Some(Arc::from(video.to_vec())),
                None,
                None,
            ],
        }
    }

    #[test]
    fn late_subscriber_gets_the_key_frame_then_waits_for_the_next() {
        let mut fwd = Forwarder::new(Arc::default());
        let a = Sub {
            conn: 1,
            out: Arc::new(OutQueue::new()),
        };
        fwd.apply(&table(7, std::slice::from_ref(&a)));
        for (seq, key, payload) in [(1, true, "k1"), (2, true, "k2"), (3, false, "d1")] {
            let (f, h) = frame(MediaType::VideoMajor, seq, key, payload.as_bytes());
            fwd.forward(f, &h);
        }
        let got = drain(&a.out);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|f| f.header.sender_id == 7));

        let b = Sub {
            conn: 2,
            out: Arc::new(OutQueue::new()),
        };
        fwd.apply(&table(7, &[a.clone(), b.clone()]));
        let got = drain(&b.out);
        assert_eq!(got.len(), 2, "the cached key frame, both fragments");
        assert_eq!(&got[0].payload[..], b"k1");
        assert_eq!(&got[1].payload[..], b"k2");
        // A delta followed the key frame: b waits for the next key frame.
        let (f, h) = frame(MediaType::VideoMajor, 3, false, b"d2");
        fwd.forward(f, &h);
        assert!(drain(&b.out).is_empty());
        assert_eq!(drain(&a.out).len(), 1);
        let (f, h) = frame(MediaType::VideoMajor, 3, true, b"k3");
        fwd.forward(f, &h);
        assert_eq!(&drain(&b.out)[0].payload[..], b"k3");
    }

    #[test]
    fn slow_subscriber_loses_whole_frames_until_a_key_frame() {
        let mut fwd = Forwarder::new(Arc::default());
        let slow = Sub {
            conn: 1,
            out: Arc::new(OutQueue::new()),
        };
        fwd.apply(&table(3, std::slice::from_ref(&slow)));
        let big = vec![0u8; MEDIA_SOFT_CAP - 1000];
        let (f, h) = frame(MediaType::VideoMajor, 3, true, &big);
        fwd.forward(f, &h);
        // First fragment of a delta does not fit: the whole frame and later deltas go.
        for (seq, key) in [(1, false), (0, false), (2, false), (3, false)] {
            let (f, h) = frame(MediaType::VideoMajor, seq, key, &[1; 2000]);
            fwd.forward(f, &h);
        }
        assert_eq!(drain(&slow.out).len(), 1);
        for (seq, key) in [(3, false), (1, true), (0, true), (2, true)] {
            let (f, h) = frame(MediaType::VideoMajor, seq, key, b"x");
            fwd.forward(f, &h);
        }
        let got = drain(&slow.out);
        assert_eq!(got.len(), 3, "the next key frame, all fragments");
        assert_eq!(got[0].header.frame_seq, 1);
    }

    #[test]
    fn a_withholding_sender_keeps_no_key_frame_while_nobody_watches() {
        let mut fwd = Forwarder::new(Arc::default());
        fwd.set_sender_withholds(true);
        let a = Sub {
            conn: 1,
            out: Arc::new(OutQueue::new()),
        };
        fwd.apply(&table(7, std::slice::from_ref(&a)));
        let (f, h) = frame(MediaType::VideoMajor, 3, true, b"k1");
        fwd.forward(f, &h);
        assert_eq!(drain(&a.out).len(), 1);
        // The last viewer goes: the cached key frame would go stale, the sender replays its
        // own when a viewer comes back.
        fwd.apply(&table(7, &[]));
        let (f, h) = frame(
            MediaType::VideoMajor,
            3,
            true,
            b"k2 before the sender heard",
        );
        fwd.forward(f, &h);
        let b = Sub {
            conn: 2,
            out: Arc::new(OutQueue::new()),
        };
        fwd.apply(&table(7, std::slice::from_ref(&b)));
        assert!(drain(&b.out).is_empty());
        let (f, h) = frame(MediaType::VideoMajor, 3, true, b"replayed");
        fwd.forward(f, &h);
        assert_eq!(&drain(&b.out)[0].payload[..], b"replayed");
    }

    #[test]
    fn unrouted_streams_are_dropped_and_counted() {
        let stats = Arc::new(MediaStats::default());
        let mut fwd = Forwarder::new(stats.clone());
        let (f, h) = frame(MediaType::Audio, 3, false, b"a");
        fwd.forward(f, &h);
        fwd.apply(&table(3, &[]));
        let (f, h) = frame(MediaType::VideoMinor, 3, true, b"aux");
        fwd.forward(f, &h);
        assert_eq!(stats.dropped_unrouted.load(Ordering::Relaxed), 2);
    }
}

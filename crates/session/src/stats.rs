//! Counters of one SDK instance since `init`, read by `conference_get_stats`: media frames and
//! bytes per stream type each way, the frames that did not go (uplink queue full, withheld
//! because nobody watched, dropped by the dispatcher), and the link as the MCU's heartbeats
//! measure it. Lock-free: they are bumped on the media paths.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

use conference_proto::MediaType;

/// Frames and payload bytes of one stream type.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamCount {
    pub frames: u64,
    pub bytes: u64,
}

/// A snapshot of [`Counters`] (and of the dispatcher's drops).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct SdkStats {
    /// Mean heartbeat round trip the MCU measured on the current link, µs; `None` before the
    /// first measure (or when not connected).
    pub rtt_us: Option<u32>,
    /// Heartbeats unanswered, per mille, on the current link.
    pub loss_permille: u32,
    /// Indexed by media type − 1 (`MediaType::ALL` order).
    pub sent: [StreamCount; 4],
    pub received: [StreamCount; 4],
    /// `send_stream` frames refused with `retCode_QueueFullErr`.
    pub dropped_queue_full: u64,
    /// `send_stream` frames kept on the recorder because nobody watched their stream.
    pub withheld: u64,
    /// Received frames the dispatcher dropped because the callbacks did not keep up.
    pub dropped_dispatcher: u64,
    /// Sessions resumed after a network cut (docs/PROTOCOL.md §8).
    pub resumes: u64,
    /// Links found broken while the session could wait for a new one (each a suspension;
    /// not in the C struct).
    pub suspensions: u64,
    /// `send_stream` frames dropped whole because the session was between links (not in
    /// the C struct, whose size is fixed: the CLI and logs show it).
    pub dropped_link_down: u64,
}

#[derive(Default)]
struct Stream {
    frames: AtomicU64,
    bytes: AtomicU64,
}

impl Stream {
    fn add(&self, bytes: usize) {
        self.frames.fetch_add(1, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }

    fn get(&self) -> StreamCount {
        StreamCount {
            frames: self.frames.load(Relaxed),
            bytes: self.bytes.load(Relaxed),
        }
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    sent: [Stream; 4],
    received: [Stream; 4],
    queue_full: AtomicU64,
    withheld: AtomicU64,
    link_down: AtomicU64,
    resumes: AtomicU64,
    suspensions: AtomicU64,
    /// 0: not measured.
    rtt_us: AtomicU32,
    loss_permille: AtomicU32,
}

/// What became of a frame given to `send_stream`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Uplinked {
    Sent,
    Withheld,
    QueueFull,
    LinkDown,
}

fn index(media_type: MediaType) -> usize {
    media_type as usize - 1
}

impl Counters {
    pub fn uplinked(&self, media_type: MediaType, payload: usize, outcome: Uplinked) {
        match outcome {
            Uplinked::Sent => self.sent[index(media_type)].add(payload),
            Uplinked::Withheld => {
                self.withheld.fetch_add(1, Relaxed);
            }
            Uplinked::QueueFull => {
                self.queue_full.fetch_add(1, Relaxed);
            }
            Uplinked::LinkDown => {
                self.link_down.fetch_add(1, Relaxed);
            }
        }
    }

    /// The session came back on a new link.
    pub fn resumed(&self) {
        self.resumes.fetch_add(1, Relaxed);
    }

    /// The link broke and the session waits for a new one.
    pub fn suspended(&self) {
        self.suspensions.fetch_add(1, Relaxed);
    }

    pub fn received(&self, media_type: MediaType, payload: usize) {
        self.received[index(media_type)].add(payload);
    }

    /// From each `Ping`: the MCU's measure of this link (0 µs: none yet).
    pub fn link(&self, rtt_us: u32, loss_permille: u32) {
        self.rtt_us.store(rtt_us, Relaxed);
        self.loss_permille.store(loss_permille.min(1000), Relaxed);
    }

    /// A new connection (or none): its link is not measured yet.
    pub fn link_reset(&self) {
        self.link(0, 0);
    }

    pub fn snapshot(&self, dropped_dispatcher: u64) -> SdkStats {
        let rtt = self.rtt_us.load(Relaxed);
        SdkStats {
            rtt_us: (rtt != 0).then_some(rtt),
            loss_permille: self.loss_permille.load(Relaxed),
            sent: std::array::from_fn(|i| self.sent[i].get()),
            received: std::array::from_fn(|i| self.received[i].get()),
            dropped_queue_full: self.queue_full.load(Relaxed),
            withheld: self.withheld.load(Relaxed),
            dropped_dispatcher,
            resumes: self.resumes.load(Relaxed),
            suspensions: self.suspensions.load(Relaxed),
            dropped_link_down: self.link_down.load(Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_way_per_stream_type() {
        let counters = Counters::default();
        counters.uplinked(MediaType::Audio, 100, Uplinked::Sent);
        counters.uplinked(MediaType::Audio, 60, Uplinked::Sent);
        counters.uplinked(MediaType::VideoMinor2, 5, Uplinked::Withheld);
        counters.uplinked(MediaType::VideoMajor, 5, Uplinked::QueueFull);
        counters.received(MediaType::VideoMinor2, 7);
        counters.link(1500, 2000);
        let stats = counters.snapshot(3);
        assert_eq!(
            stats.sent[0],
            StreamCount {
                frames: 2,
                bytes: 160
            }
        );
        assert_eq!(stats.sent[1], StreamCount::default());
        assert_eq!(
            stats.received[3],
            StreamCount {
                frames: 1,
                bytes: 7
            }
        );
        assert_eq!((stats.withheld, stats.dropped_queue_full), (1, 1));
        assert_eq!((stats.rtt_us, stats.loss_permille), (Some(1500), 1000));
        assert_eq!(stats.dropped_dispatcher, 3);
        counters.link_reset();
        assert_eq!(counters.snapshot(0).rtt_us, None);
    }
}

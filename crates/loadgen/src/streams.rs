//! The streams of one run: who sends which, and how many receivers each one has.

use std::time::Duration;

use conference_proto::{MediaHeader, MediaType};

use crate::workload::{StreamKind, StreamSpec, fragment_lengths, mix};

/// Tags per sender: room for every [`StreamKind`].
pub const TAGS_PER_SENDER: u32 = 8;

/// One stream of the run.
#[derive(Clone, Debug)]
pub struct StreamInfo {
    pub tag: u32,
    pub kind: StreamKind,
    /// Index of the sending client in the run's client list.
    pub sender: usize,
    /// The sender's user id as receivers see it (MCU-assigned, or the loadgen's own for NATS).
    pub sender_user: u32,
    /// How many clients subscribe to it.
    pub subscribers: u32,
}

impl StreamInfo {
    pub fn new(sender: usize, kind: StreamKind, sender_user: u32, subscribers: u32) -> StreamInfo {
        StreamInfo {
            tag: StreamTable::tag(sender, kind),
            kind,
            sender,
            sender_user,
            subscribers,
        }
    }

    /// Where this stream's key-frame cycle starts, spread by its tag.
    pub fn key_phase(&self) -> u64 {
        mix(u64::from(self.tag) ^ 0x6b65_7966) % self.spec().gop
    }

    /// Delay of the first frame after the start, spread over one frame interval.
    pub fn start_phase(&self) -> Duration {
        let interval = self.spec().interval.as_nanos() as u64;
        Duration::from_nanos(mix(u64::from(self.tag)) % interval)
    }

    pub fn frame_bytes(&self, seq: u64) -> usize {
        self.spec().frame_bytes(seq, self.key_phase())
    }

    /// The header of fragment `frag` of `count` of frame `seq`, as the sender passes it.
    pub fn header(&self, seq: u64, frag: usize, count: usize) -> MediaHeader {
        self.spec()
            .header(self.media_type(), seq, self.key_phase(), frag, count)
    }
}

impl StreamInfo {
    pub fn spec(&self) -> &'static StreamSpec {
        self.kind.spec()
    }

    pub fn media_type(&self) -> MediaType {
        self.kind.media_type()
    }
}

/// Every stream of the run, looked up by tag on the receive path.
#[derive(Debug, Default)]
pub struct StreamTable {
    by_tag: Vec<Option<StreamInfo>>,
    /// Fragment size of the run (0 = whole frames).
    pub frag_size: usize,
}

impl StreamTable {
    pub fn new(frag_size: usize) -> Self {
        StreamTable {
            by_tag: Vec::new(),
            frag_size,
        }
    }

    pub fn tag(sender: usize, kind: StreamKind) -> u32 {
        sender as u32 * TAGS_PER_SENDER + kind.index()
    }

    pub fn insert(&mut self, info: StreamInfo) {
        let index = info.tag as usize;
        if self.by_tag.len() <= index {
            self.by_tag.resize(index + 1, None);
        }
        self.by_tag[index] = Some(info);
    }

    pub fn get(&self, tag: u32) -> Option<&StreamInfo> {
        self.by_tag.get(tag as usize).and_then(Option::as_ref)
    }

    pub fn streams(&self) -> impl Iterator<Item = &StreamInfo> {
        self.by_tag.iter().flatten()
    }

    /// Length of fragment `index` of frame `seq` of a stream.
    pub fn fragment_len(&self, info: &StreamInfo, seq: u64, index: usize) -> Option<usize> {
        fragment_lengths(info.frame_bytes(seq), self.frag_size).nth(index)
    }

    pub fn fragment_count(&self, info: &StreamInfo, seq: u64) -> usize {
        fragment_lengths(info.frame_bytes(seq), self.frag_size).count()
    }
}

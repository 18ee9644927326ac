//! The classroom workload: what each stream sends, how big and how often.
//!
//! Every header field and every frame size is a pure function of (stream kind, sequence
//! number, fragment), so a receiver can recompute what it must have got and compare.

use std::time::Duration;

use conference_proto::{MediaHeader, MediaType};
use serde::Serialize;

/// The five kinds of stream in a classroom.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum StreamKind {
    /// The master's main video: 1080p30 H.264-like, 4 Mbit/s.
    MasterMain,
    /// The master's aux (courseware) video: 1 Mbit/s, 15 fps.
    MasterAux,
    /// The master's Opus-sized audio: 160 B every 20 ms.
    MasterAudio,
    /// A listener's 720p video: 1.5 Mbit/s, 30 fps.
    ListenerVideo,
    /// A listener's audio: 160 B every 20 ms.
    ListenerAudio,
}

impl StreamKind {
    pub const MASTER: [StreamKind; 3] = [
        StreamKind::MasterMain,
        StreamKind::MasterAux,
        StreamKind::MasterAudio,
    ];
    pub const LISTENER: [StreamKind; 2] = [StreamKind::ListenerVideo, StreamKind::ListenerAudio];

    /// Index inside a sender's block of stream tags.
    pub const fn index(self) -> u32 {
        self as u32
    }

    pub fn spec(self) -> &'static StreamSpec {
        &SPECS[self as usize]
    }

    pub const fn media_type(self) -> MediaType {
        match self {
            StreamKind::MasterMain | StreamKind::ListenerVideo => MediaType::VideoMajor,
            StreamKind::MasterAux => MediaType::VideoMinor,
            StreamKind::MasterAudio | StreamKind::ListenerAudio => MediaType::Audio,
        }
    }
}

/// One stream's shape.
#[derive(Debug)]
pub struct StreamSpec {
    pub interval: Duration,
    /// Frames per group of pictures (one key frame each); 1 for audio.
    pub gop: u64,
    pub key_bytes: usize,
    pub delta_bytes: usize,
    /// `m_u16MediaType`: 0 audio, 1 main video, 2 aux video.
    pub media_type_field: u16,
    /// `m_u16CodecID`: 3 H.264, 1 Opus.
    pub codec: u16,
    /// `m_u16Framerate`: fps, or the packet duration in ms for audio.
    pub framerate: u16,
    pub width_or_rate: i32,
    pub height_or_channels: i32,
    /// kbit/s.
    pub bitrate: i32,
}

/// Indexed by `StreamKind as usize`. Sizes: main 120,000 + 59 × 15,000 B per 2 s = 4.02 Mbit/s;
/// aux 40,000 + 29 × 7,241 B per 2 s = 1.00 Mbit/s; listener 50,000 + 59 × 5,508 B per 2 s =
/// 1.50 Mbit/s; audio 160 B per 20 ms = 64 kbit/s.
static SPECS: [StreamSpec; 5] = [
    StreamSpec {
        interval: Duration::from_nanos(33_333_333),
        gop: 60,
        key_bytes: 120_000,
        delta_bytes: 15_000,
        media_type_field: 1,
        codec: 3,
        framerate: 30,
        width_or_rate: 1920,
        height_or_channels: 1080,
        bitrate: 4000,
    },
    StreamSpec {
        interval: Duration::from_nanos(66_666_667),
        gop: 30,
        key_bytes: 40_000,
        delta_bytes: 7_241,
        media_type_field: 2,
        codec: 3,
        framerate: 15,
        width_or_rate: 1920,
        height_or_channels: 1080,
        bitrate: 1000,
    },
    AUDIO_SPEC,
    StreamSpec {
        interval: Duration::from_nanos(33_333_333),
        gop: 60,
        key_bytes: 50_000,
        delta_bytes: 5_508,
        media_type_field: 1,
        codec: 3,
        framerate: 30,
        width_or_rate: 1280,
        height_or_channels: 720,
        bitrate: 1500,
    },
    AUDIO_SPEC,
];

const AUDIO_SPEC: StreamSpec = StreamSpec {
    interval: Duration::from_millis(20),
    gop: 1,
    key_bytes: 160,
    delta_bytes: 160,
    media_type_field: 0,
    codec: 1,
    framerate: 20,
    width_or_rate: 48_000,
    height_or_channels: 2,
    bitrate: 64,
};

/// Fragment flags of `m_u16FrameSeq`'s low 8 bits.
pub const FRAG_MIDDLE: u16 = 0;
pub const FRAG_FIRST: u16 = 1;
pub const FRAG_LAST: u16 = 2;
pub const FRAG_WHOLE: u16 = 3;

impl StreamSpec {
    pub fn is_video(&self) -> bool {
        self.gop > 1
    }

    /// An encoder starts with a key frame, then emits one every `gop` frames; `key_phase`
    /// shifts that cycle per stream so the key frames of many senders do not coincide.
    pub fn is_key(&self, seq: u64, key_phase: u64) -> bool {
        seq == 0 || (seq + key_phase).is_multiple_of(self.gop)
    }

    pub fn frame_bytes(&self, seq: u64, key_phase: u64) -> usize {
        if self.is_key(seq, key_phase) {
            self.key_bytes
        } else {
            self.delta_bytes
        }
    }

    /// The header the sender gives `send_stream` for fragment `frag` of `count` of frame `seq`.
    pub fn header(
        &self,
        media_type: MediaType,
        seq: u64,
        key_phase: u64,
        frag: usize,
        count: usize,
    ) -> MediaHeader {
        let position = match (frag == 0, frag + 1 == count) {
            (true, true) => FRAG_WHOLE,
            (true, false) => FRAG_FIRST,
            (false, true) => FRAG_LAST,
            (false, false) => FRAG_MIDDLE,
        };
        let key_frame = if self.is_video() {
            u16::from(self.is_key(seq, key_phase))
        } else {
            16 // audio: bits per sample
        };
        MediaHeader {
            sender_id: 0,
            stream_type: media_type as u8,
            media_type: self.media_type_field,
            codec_id: self.codec,
            // High byte: a rolling frame counter, as firmware keeps one.
            frame_seq: ((seq as u16 & 0xff) << 8) | position,
            key_frame,
            framerate: self.framerate,
            stream_id: 0,
            width_or_rate: self.width_or_rate,
            height_or_channels: self.height_or_channels,
            bitrate: self.bitrate,
            timestamp: seq * self.interval.as_millis() as u64,
        }
    }

    /// Average payload bit rate of the stream.
    pub fn bits_per_second(&self) -> f64 {
        let per_gop = self.key_bytes + (self.gop as usize - 1) * self.delta_bytes;
        let gop_secs = self.interval.as_secs_f64() * self.gop as f64;
        per_gop as f64 * 8.0 / gop_secs
    }
}

/// How a frame of `len` bytes is cut into `send_stream` calls: `frag_size` 0 = whole; else
/// pieces of `frag_size` bytes, the last one taking the remainder (so none is tiny).
pub fn fragment_lengths(len: usize, frag_size: usize) -> impl Iterator<Item = usize> {
    let count = len.checked_div(frag_size).unwrap_or(1).max(1);
    (0..count).map(move |i| {
        if i + 1 == count {
            len - frag_size * (count - 1)
        } else {
            frag_size
        }
    })
}

/// splitmix64: a deterministic spread of start phases, no RNG state to share.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_rates_match_the_classroom_figures() {
        let rate = |k: StreamKind| k.spec().bits_per_second() / 1e6;
        assert!((rate(StreamKind::MasterMain) - 4.0).abs() < 0.05);
        assert!((rate(StreamKind::MasterAux) - 1.0).abs() < 0.01);
        assert!((rate(StreamKind::ListenerVideo) - 1.5).abs() < 0.01);
        assert!((rate(StreamKind::MasterAudio) - 0.064).abs() < 1e-9);
    }

    #[test]
    fn fragments_cover_the_frame_and_none_is_tiny() {
        assert_eq!(fragment_lengths(100, 0).collect::<Vec<_>>(), vec![100]);
        assert_eq!(
            fragment_lengths(100, 30).collect::<Vec<_>>(),
            vec![30, 30, 40]
        );
        assert_eq!(fragment_lengths(20, 30).collect::<Vec<_>>(), vec![20]);
        assert_eq!(fragment_lengths(120_000, 16_384).sum::<usize>(), 120_000);
    }

    #[test]
    fn headers_carry_fragment_flags_and_key_frames() {
        let spec = StreamKind::MasterMain.spec();
        let h = spec.header(MediaType::VideoMajor, 60, 0, 0, 3);
        assert_eq!(h.frame_seq & 0xff, FRAG_FIRST);
        assert_eq!(h.key_frame, 1);
        assert_eq!(
            spec.header(MediaType::VideoMajor, 61, 0, 2, 3).frame_seq & 0xff,
            FRAG_LAST
        );
        assert_eq!(spec.header(MediaType::VideoMajor, 61, 0, 0, 1).key_frame, 0);
        // Shifted cycle: the first frame is a key frame, then every 60th from seq 50.
        let keys: Vec<u64> = (0..200).filter(|&s| spec.is_key(s, 10)).collect();
        assert_eq!(keys, vec![0, 50, 110, 170]);
        let audio = StreamKind::MasterAudio.spec();
        assert_eq!(audio.header(MediaType::Audio, 5, 0, 0, 1).timestamp, 100);
    }
}

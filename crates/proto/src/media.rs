//! Media frames: a fixed 40-byte big-endian header, then the encoded bytes untouched.
//!
//! ```text
//! offset size field
//!  0     4    sender user id (0 from a client; the MCU writes the real one)
//!  4     1    stream type (conference_media_type_e: 1 audio, 2 main, 3 aux, 4 aux 2)
//!  5     1    reserved, 0
//!  6     2    m_u16MediaType
//!  8     2    m_u16CodecID
//! 10     2    m_u16FrameSeq   (low 8 bits: 1 first, 0 middle, 2 last, 3 whole)
//! 12     2    m_u16KeyFrame
//! 14     2    m_u16Framerate
//! 16     2    m_u16StreamID
//! 18     2    reserved, 0
//! 20     4    m_u32W_S        (i32)
//! 24     4    m_u32H_C        (i32)
//! 28     4    m_u32Bitrate    (i32)
//! 32     8    m_u64TimeStamp
//! 40     ..   payload
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::frame::{FRAME_HEADER_LEN, FrameKind, MAX_MEDIA_FRAME, put_frame_header};

/// Size of the media header inside a media frame's body.
pub const MEDIA_HEADER_LEN: usize = 40;

/// Largest payload of one media message.
pub const MAX_MEDIA_PAYLOAD: usize = MAX_MEDIA_FRAME - 1 - MEDIA_HEADER_LEN;

/// Offset of the sender id inside a whole media frame (prefix included).
pub const SENDER_OFFSET: usize = FRAME_HEADER_LEN;

/// `conference_media_type_e`: which of a user's streams a frame belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum MediaType {
    Audio = 1,
    VideoMajor = 2,
    VideoMinor = 3,
    VideoMinor2 = 4,
}

impl MediaType {
    pub const ALL: [MediaType; 4] = [
        MediaType::Audio,
        MediaType::VideoMajor,
        MediaType::VideoMinor,
        MediaType::VideoMinor2,
    ];

    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(MediaType::Audio),
            2 => Some(MediaType::VideoMajor),
            3 => Some(MediaType::VideoMinor),
            4 => Some(MediaType::VideoMinor2),
            _ => None,
        }
    }

    /// The name metrics, the admin API and the tools use: `audio`, `video_major`,
    /// `video_minor`, `video_minor2`.
    pub const fn label(self) -> &'static str {
        match self {
            MediaType::Audio => "audio",
            MediaType::VideoMajor => "video_major",
            MediaType::VideoMinor => "video_minor",
            MediaType::VideoMinor2 => "video_minor2",
        }
    }

    pub const fn is_video(self) -> bool {
        !matches!(self, MediaType::Audio)
    }

    /// The aux slot a stream type needs, if any.
    pub const fn aux_slot(self) -> Option<usize> {
        match self {
            MediaType::VideoMinor => Some(0),
            MediaType::VideoMinor2 => Some(1),
            _ => None,
        }
    }

    /// Stream type carried by aux slot `slot`.
    pub const fn of_aux_slot(slot: usize) -> Option<Self> {
        match slot {
            0 => Some(MediaType::VideoMinor),
            1 => Some(MediaType::VideoMinor2),
            _ => None,
        }
    }
}

/// Fragment position, from the low 8 bits of `m_u16FrameSeq`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    Middle,
    First,
    Last,
    Whole,
    /// Any other value: forwarded unchanged, treated as a whole frame.
    Unknown(u8),
}

/// `media_info_t`, field for field, plus who sent it and on which stream.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct MediaHeader {
    pub sender_id: u32,
    /// Raw stream type byte; see [`MediaHeader::media_type`].
    pub stream_type: u8,
    pub media_type: u16,
    pub codec_id: u16,
    pub frame_seq: u16,
    pub key_frame: u16,
    pub framerate: u16,
    pub stream_id: u16,
    pub width_or_rate: i32,
    pub height_or_channels: i32,
    pub bitrate: i32,
    pub timestamp: u64,
}

/// Why a media body is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("media body of {0} bytes is shorter than the header")]
    Truncated(usize),
    #[error("unknown stream type {0}")]
    UnknownStreamType(u8),
}

impl MediaHeader {
    pub fn stream(&self) -> Option<MediaType> {
        MediaType::from_u32(u32::from(self.stream_type))
    }

    pub fn fragment(&self) -> Fragment {
        match self.frame_seq as u8 {
            0 => Fragment::Middle,
            1 => Fragment::First,
            2 => Fragment::Last,
            3 => Fragment::Whole,
            other => Fragment::Unknown(other),
        }
    }

    /// True for the fragment that starts a frame (first or whole).
    pub fn starts_frame(&self) -> bool {
        matches!(
            self.fragment(),
            Fragment::First | Fragment::Whole | Fragment::Unknown(_)
        )
    }

    /// True for the fragment that ends a frame (last or whole).
    pub fn ends_frame(&self) -> bool {
        matches!(
            self.fragment(),
            Fragment::Last | Fragment::Whole | Fragment::Unknown(_)
        )
    }

    /// A video key frame (audio frames are all independent).
    pub fn is_key_frame(&self) -> bool {
        match self.stream() {
            Some(stream) if stream.is_video() => self.key_frame == 1,
            _ => true,
        }
    }

    pub fn write(&self, out: &mut impl BufMut) {
        out.put_u32(self.sender_id);
        out.put_u8(self.stream_type);
        out.put_u8(0);
        out.put_u16(self.media_type);
        out.put_u16(self.codec_id);
        out.put_u16(self.frame_seq);
        out.put_u16(self.key_frame);
        out.put_u16(self.framerate);
        out.put_u16(self.stream_id);
        out.put_u16(0);
        out.put_i32(self.width_or_rate);
        out.put_i32(self.height_or_channels);
        out.put_i32(self.bitrate);
        out.put_u64(self.timestamp);
    }

    /// Parses the header at the start of a media frame body.
    pub fn parse(body: &[u8]) -> Result<Self, MediaError> {
        let Some(h) = body.first_chunk::<MEDIA_HEADER_LEN>() else {
            return Err(MediaError::Truncated(body.len()));
        };
        let u16_at = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let i32_at = |i: usize| i32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let header = MediaHeader {
            sender_id: u32::from_be_bytes([h[0], h[1], h[2], h[3]]),
            stream_type: h[4],
            media_type: u16_at(6),
            codec_id: u16_at(8),
            frame_seq: u16_at(10),
            key_frame: u16_at(12),
            framerate: u16_at(14),
            stream_id: u16_at(16),
            width_or_rate: i32_at(20),
            height_or_channels: i32_at(24),
            bitrate: i32_at(28),
            timestamp: u64::from_be_bytes([h[32], h[33], h[34], h[35], h[36], h[37], h[38], h[39]]),
        };
        if header.stream().is_none() {
            return Err(MediaError::UnknownStreamType(header.stream_type));
        }
        Ok(header)
    }
}

/// Encodes one media frame (header and payload copied once into a single buffer).
pub fn encode_media(header: &MediaHeader, payload: &[u8]) -> Bytes {
    let body_len = MEDIA_HEADER_LEN + payload.len();
    let mut out = BytesMut::with_capacity(FRAME_HEADER_LEN + body_len);
    put_frame_header(&mut out, FrameKind::Media, body_len);
    header.write(&mut out);
    out.extend_from_slice(payload);
    out.freeze()
}

/// Stamps the sender id into a whole media frame read from a client, so the same buffer can
/// be forwarded to every subscriber.
pub fn stamp_sender(frame: &mut BytesMut, sender_id: u32) {
    frame[SENDER_OFFSET..SENDER_OFFSET + 4].copy_from_slice(&sender_id.to_be_bytes());
}

/// A decoded media frame: header plus the payload, sharing the frame's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFrame {
    pub header: MediaHeader,
    pub payload: Bytes,
}

impl MediaFrame {
    /// Splits a whole media frame (as forwarded by the MCU) without copying the payload.
    pub fn from_frame_bytes(frame: Bytes) -> Result<Self, MediaError> {
        let body = frame.slice(FRAME_HEADER_LEN.min(frame.len())..);
        let header = MediaHeader::parse(&body)?;
        Ok(MediaFrame {
            header,
            payload: body.slice(MEDIA_HEADER_LEN..),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::decode_frame;

    fn sample() -> MediaHeader {
        MediaHeader {
            sender_id: 0,
            stream_type: MediaType::VideoMajor as u8,
            media_type: 1,
            codec_id: 3,
            frame_seq: 0x1203,
            key_frame: 1,
            framerate: 30,
            stream_id: 7,
            width_or_rate: 1920,
            height_or_channels: 1080,
            bitrate: -5,
            timestamp: u64::MAX - 1,
        }
    }

    #[test]
    fn media_frame_round_trips_and_sender_is_stamped_in_place() {
        let header = sample();
        let encoded = encode_media(&header, b"payload");
        let mut buf = BytesMut::from(&encoded[..]);
        let mut raw = decode_frame(&mut buf).unwrap().unwrap();
        assert_eq!(raw.kind, FrameKind::Media);
        stamp_sender(&mut raw.bytes, 42);
        let frame = MediaFrame::from_frame_bytes(raw.bytes.freeze()).unwrap();
        assert_eq!(
            frame.header,
            MediaHeader {
                sender_id: 42,
                ..header
            }
        );
        assert_eq!(&frame.payload[..], b"payload");
        assert_eq!(frame.header.fragment(), Fragment::Whole);
        assert!(frame.header.is_key_frame());
    }

    #[test]
    fn truncated_or_unknown_headers_are_refused() {
        assert_eq!(MediaHeader::parse(&[0; 39]), Err(MediaError::Truncated(39)));
        let mut body = vec![0u8; 40];
        body[4] = 9;
        assert_eq!(
            MediaHeader::parse(&body),
            Err(MediaError::UnknownStreamType(9))
        );
    }
}

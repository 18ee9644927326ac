//! The media send queue: `send_stream` pushes encoded frames without ever blocking; the
//! connection's writer task drains it. Bounded in frames and bytes: when full, the new frame
//! is refused (`QueueFullErr`) and the caller decides what to drop.

use std::collections::VecDeque;

use bytes::Bytes;
use conference_proto::media::{MAX_MEDIA_PAYLOAD, encode_media};
use conference_proto::{ErrorCode, MediaHeader, MediaType};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Bounds of the send queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SendBudget {
    pub max_frames: usize,
    pub max_bytes: usize,
}

impl Default for SendBudget {
    fn default() -> Self {
        // Larger than the biggest single media message (4 MiB), so any one frame fits.
        SendBudget {
            max_frames: 1024,
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

struct Inner {
    frames: VecDeque<Bytes>,
    bytes: usize,
}

pub(crate) struct SendQueue {
    budget: SendBudget,
    inner: Mutex<Inner>,
    /// One waiter (the writer task); `notify_one` keeps a permit, so no wake-up is lost.
    ready: Notify,
}

impl SendQueue {
    pub fn new(budget: SendBudget) -> Self {
        SendQueue {
            budget,
            inner: Mutex::new(Inner {
                frames: VecDeque::new(),
                bytes: 0,
            }),
            ready: Notify::new(),
        }
    }

    /// Queues one encoded media frame.
    pub fn push(&self, frame: Bytes) -> Result<(), ErrorCode> {
        let mut inner = self.inner.lock();
        if inner.frames.len() >= self.budget.max_frames
            || inner.bytes + frame.len() > self.budget.max_bytes
        {
            return Err(ErrorCode::QueueFullErr);
        }
        inner.bytes += frame.len();
        inner.frames.push_back(frame);
        drop(inner);
        self.ready.notify_one();
        Ok(())
    }

    pub fn pop(&self) -> Option<Bytes> {
        let mut inner = self.inner.lock();
        let frame = inner.frames.pop_front()?;
        inner.bytes -= frame.len();
        Some(frame)
    }

    /// Forgets what was queued (the link it was for is gone); returns the frames dropped.
    pub fn clear(&self) -> usize {
        let mut inner = self.inner.lock();
        let dropped = inner.frames.len();
        inner.frames.clear();
        inner.bytes = 0;
        dropped
    }

    /// Queues a replay for new viewers beyond the bounds: the uplink's own caps bound it,
    /// and losing part of it would leave the viewers without a picture.
    pub fn push_replay(&self, frames: Vec<Bytes>) {
        if frames.is_empty() {
            return;
        }
        let mut inner = self.inner.lock();
        for frame in frames {
            inner.bytes += frame.len();
            inner.frames.push_back(frame);
        }
        drop(inner);
        self.ready.notify_one();
    }

    /// Resolves after a push (or at once if one happened since the last wait).
    pub async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// Builds the wire frame of one `send_stream` call: the caller's `media_info_t` fields
/// unchanged, the stream type from `media_type`, the sender id left for the MCU to fill.
pub(crate) fn encode_outgoing(
    header: MediaHeader,
    payload: &[u8],
    media_type: MediaType,
) -> Result<Bytes, ErrorCode> {
    if payload.len() > MAX_MEDIA_PAYLOAD {
        return Err(ErrorCode::ParamErr);
    }
    let header = MediaHeader {
        sender_id: 0,
        stream_type: media_type as u8,
        ..header
    };
    Ok(encode_media(&header, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_proto::media::MediaFrame;

    #[test]
    fn the_queue_refuses_frames_beyond_its_bounds() {
        let queue = SendQueue::new(SendBudget {
            max_frames: 2,
            max_bytes: 10,
        });
        assert_eq!(queue.push(Bytes::from_static(b"1234")), Ok(()));
        assert_eq!(
            queue.push(Bytes::from_static(b"1234567")),
            Err(ErrorCode::QueueFullErr),
            "bytes"
        );
        assert_eq!(queue.push(Bytes::from_static(b"123456")), Ok(()));
        assert_eq!(
            queue.push(Bytes::from_static(b"")),
            Err(ErrorCode::QueueFullErr),
            "frames"
        );
        assert_eq!(queue.pop().as_deref(), Some(&b"1234"[..]));
        assert_eq!(queue.push(Bytes::from_static(b"ab")), Ok(()));
        assert_eq!(queue.pop().as_deref(), Some(&b"123456"[..]));
        assert_eq!(queue.pop().as_deref(), Some(&b"ab"[..]));
        assert_eq!(queue.pop(), None);
    }

    #[test]
    fn every_header_field_goes_out_unchanged() {
        let header = MediaHeader {
            sender_id: 99,
            stream_type: 0,
            media_type: 0xfffe,
            codec_id: 3,
            frame_seq: 0xab02,
            key_frame: 7,
            framerate: 25,
            stream_id: 0x1234,
            width_or_rate: -1920,
            height_or_channels: 1080,
            bitrate: i32::MIN,
            timestamp: u64::MAX,
        };
        let frame = encode_outgoing(header, b"\0payload\xff", MediaType::VideoMinor2).unwrap();
        let parsed = MediaFrame::from_frame_bytes(frame).unwrap();
        assert_eq!(
            parsed.header,
            MediaHeader {
                sender_id: 0,
                stream_type: 4,
                ..header
            }
        );
        assert_eq!(&parsed.payload[..], b"\0payload\xff");
        assert_eq!(
            encode_outgoing(header, &vec![0; MAX_MEDIA_PAYLOAD + 1], MediaType::Audio),
            Err(ErrorCode::ParamErr)
        );
    }
}

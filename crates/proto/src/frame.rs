//! Framing: `u32` big-endian length, one kind byte, body.
//!
//! The length counts the kind byte and the body. A reader refuses a frame longer than its
//! cap before buffering any of it, so a hostile peer cannot make it allocate more.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Length prefix + kind byte.
pub const FRAME_HEADER_LEN: usize = 5;

/// Hard cap of a control frame (kind byte + protobuf body).
pub const MAX_CONTROL_FRAME: usize = 256 * 1024;

/// Hard cap of a media frame (kind byte + media header + payload).
pub const MAX_MEDIA_FRAME: usize = 4 * 1024 * 1024;

/// What a frame carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    /// A protobuf `ClientMessage` or `ServerMessage`.
    Control = 1,
    /// A media header and the encoded media bytes.
    Media = 2,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(FrameKind::Control),
            2 => Some(FrameKind::Media),
            _ => None,
        }
    }

    /// Largest length prefix allowed for this kind.
    pub const fn max_len(self) -> usize {
        match self {
            FrameKind::Control => MAX_CONTROL_FRAME,
            FrameKind::Media => MAX_MEDIA_FRAME,
        }
    }
}

/// Why a byte stream is not a valid frame sequence. Any of these ends the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("frame length {0} is zero")]
    Empty(usize),
    #[error("unknown frame kind {0}")]
    UnknownKind(u8),
    #[error("{kind:?} frame of {len} bytes exceeds the cap of {max}")]
    TooLarge {
        kind: FrameKind,
        len: usize,
        max: usize,
    },
}

/// One whole frame as read from the wire, prefix included, so it can be forwarded as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub kind: FrameKind,
    /// The complete frame: length prefix, kind byte and body.
    pub bytes: BytesMut,
}

impl RawFrame {
    /// The body after the kind byte.
    pub fn body(&self) -> &[u8] {
        &self.bytes[FRAME_HEADER_LEN..]
    }
}

/// Takes the next complete frame off the front of `buf`, if there is one.
///
/// `Ok(None)` means more bytes are needed. An error means the stream is corrupt or hostile
/// and must be closed; `buf` is left as it was.
pub fn decode_frame(buf: &mut BytesMut) -> Result<Option<RawFrame>, FrameError> {
    if buf.len() < FRAME_HEADER_LEN {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if len == 0 {
        return Err(FrameError::Empty(len));
    }
    let kind = FrameKind::from_byte(buf[4]).ok_or(FrameError::UnknownKind(buf[4]))?;
    if len > kind.max_len() {
        return Err(FrameError::TooLarge {
            kind,
            len,
            max: kind.max_len(),
        });
    }
    let total = 4 + len;
    if buf.len() < total {
        // Reserve once for the whole frame instead of growing by doubling.
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    Ok(Some(RawFrame {
        kind,
        bytes: buf.split_to(total),
    }))
}

/// The read side of a connection: bytes in, whole frames out. Every reader of the protocol
/// (the MCU's connections, [`crate::client::ClientConn`]) reads into [`read_target`] and takes
/// frames with [`next_frame`]; the buffer grows to its busy chunk while reads fill it (a media
/// stream) and stays at its idle chunk otherwise, so an idle connection holds little memory.
///
/// [`read_target`]: FrameBuffer::read_target
/// [`next_frame`]: FrameBuffer::next_frame
#[derive(Debug)]
pub struct FrameBuffer {
    buf: BytesMut,
    chunk: usize,
    idle_chunk: usize,
    busy_chunk: usize,
}

impl FrameBuffer {
    /// Reads of `idle_chunk` bytes, `busy_chunk` while reads come back full.
    pub fn new(idle_chunk: usize, busy_chunk: usize) -> Self {
        FrameBuffer {
            buf: BytesMut::new(),
            chunk: idle_chunk,
            idle_chunk,
            busy_chunk: busy_chunk.max(idle_chunk),
        }
    }

    /// The buffer to read into (`read_buf`), with room for at least a quarter chunk.
    pub fn read_target(&mut self) -> &mut BytesMut {
        if self.buf.capacity() - self.buf.len() < self.chunk / 4 {
            self.buf.reserve(self.chunk);
        }
        &mut self.buf
    }

    /// Records a read of `n` bytes into [`read_target`](Self::read_target), where `spare`
    /// bytes were free: a full read means more is waiting, so read bigger chunks.
    pub fn filled(&mut self, n: usize, spare: usize) {
        self.chunk = if n == spare {
            self.busy_chunk
        } else {
            self.idle_chunk
        };
    }

    /// [`read_target`](Self::read_target), moved out of the buffer (to read without holding
    /// whatever owns it); [`restore`](Self::restore) puts it back.
    pub fn take_target(&mut self) -> BytesMut {
        self.read_target();
        std::mem::take(&mut self.buf)
    }

    /// The buffer of [`take_target`](Self::take_target) back, `n` bytes read into it where
    /// `spare` were free.
    pub fn restore(&mut self, buf: BytesMut, n: usize, spare: usize) {
        self.buf = buf;
        self.filled(n, spare);
    }

    /// Appends bytes read elsewhere (tests, fuzzing, TLS plaintext).
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, if buffered; see [`decode_frame`].
    pub fn next_frame(&mut self) -> Result<Option<RawFrame>, FrameError> {
        decode_frame(&mut self.buf)
    }
}

/// Writes the 5-byte frame header for a body of `body_len` bytes.
pub fn put_frame_header(out: &mut impl BufMut, kind: FrameKind, body_len: usize) {
    let len = u32::try_from(body_len + 1).expect("frame bodies are capped far below 4 GiB");
    out.put_u32(len);
    out.put_u8(kind as u8);
}

/// Encodes a protobuf message as one control frame.
pub fn encode_control(message: &impl prost::Message) -> Bytes {
    let body_len = message.encoded_len();
    let mut out = BytesMut::with_capacity(FRAME_HEADER_LEN + body_len);
    put_frame_header(&mut out, FrameKind::Control, body_len);
    message
        .encode(&mut out)
        .expect("buffer was sized by encoded_len");
    out.freeze()
}

/// Decodes the protobuf body of a control frame.
pub fn decode_control<M: prost::Message + Default>(
    frame: &RawFrame,
) -> Result<M, prost::DecodeError> {
    M::decode(frame.body())
}

/// Splits the body of a media frame off its prefix without copying.
pub fn frame_body(frame: RawFrame) -> Bytes {
    let mut bytes = frame.bytes.freeze();
    bytes.advance(FRAME_HEADER_LEN);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut buf = BytesMut::new();
        assert_eq!(decode_frame(&mut buf), Ok(None));
        buf.extend_from_slice(&[0, 0, 0, 3, 1, 0xaa]);
        assert_eq!(decode_frame(&mut buf), Ok(None));
        buf.extend_from_slice(&[0xbb, 0xcc]);
        let frame = decode_frame(&mut buf).unwrap().unwrap();
        assert_eq!(frame.kind, FrameKind::Control);
        assert_eq!(frame.body(), &[0xaa, 0xbb]);
        assert_eq!(&buf[..], &[0xcc]);
    }

    #[test]
    fn hostile_headers_are_refused_before_buffering() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff, 2][..]);
        assert!(matches!(
            decode_frame(&mut buf),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(buf.capacity() < 1024);
        let mut buf = BytesMut::from(&[0, 0, 0, 1, 9][..]);
        assert_eq!(decode_frame(&mut buf), Err(FrameError::UnknownKind(9)));
        let mut buf = BytesMut::from(&[0, 0, 0, 0, 1][..]);
        assert_eq!(decode_frame(&mut buf), Err(FrameError::Empty(0)));
        let control_cap = (MAX_CONTROL_FRAME as u32 + 1).to_be_bytes();
        let mut buf = BytesMut::from(
            &[
                control_cap[0],
                control_cap[1],
                control_cap[2],
                control_cap[3],
                1,
            ][..],
        );
        assert!(decode_frame(&mut buf).is_err());
    }
}

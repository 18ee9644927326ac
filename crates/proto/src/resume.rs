//! What both ends need to carry a session across link cuts (docs/PROTOCOL.md §8): the proof
//! that a resume comes from the client that logged in, the sequence number stamped on a
//! shared encoded frame, and the buffer of sequenced messages kept until acknowledged.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};
use subtle::ConstantTimeEq;

use crate::frame::{FRAME_HEADER_LEN, FrameKind};
use crate::scram::{ChannelBinding, hmac};

/// Bytes of a resume token (opaque, random, names the session on the MCU).
pub const TOKEN_LEN: usize = 16;

/// Default and largest resume window (MCU configuration, announced at login).
pub const DEFAULT_WINDOW_MS: u32 = 60_000;
pub const MAX_WINDOW_MS: u32 = 600_000;

/// Sequenced messages kept for a replay before the session is given up (each side).
pub const REPLAY_CAP_BYTES: usize = 8 * 1024 * 1024;

/// `ServerMessage.seq` / `ClientMessage.seq`: field 30, varint.
const SEQ_FIELD: u32 = 30;

/// The proof a resume carries: keyed by the login's session key, over the token, both nonces
/// and the link's channel binding (a relay between two TLS links cannot forward it).
pub fn proof(
    key: &[u8; 32],
    token: &[u8],
    client_nonce: &str,
    server_nonce: &str,
    binding: ChannelBinding,
) -> [u8; 32] {
    let mut data = b"conference resume,".to_vec();
    for part in [token, client_nonce.as_bytes(), server_nonce.as_bytes()] {
        data.extend_from_slice(&(part.len() as u32).to_be_bytes());
        data.extend_from_slice(part);
    }
    if let ChannelBinding::TlsExporter(exporter) = binding {
        data.extend_from_slice(&exporter);
    }
    hmac(key, &data)
}

/// Checks a received proof in constant time.
pub fn verify(expected: &[u8; 32], received: &[u8]) -> bool {
    received.len() == expected.len() && bool::from(expected.ct_eq(received))
}

/// A fresh random nonce (base64).
pub fn nonce() -> String {
    crate::scram::random_nonce()
}

/// A fresh random token.
pub fn token() -> [u8; TOKEN_LEN] {
    let mut token = [0u8; TOKEN_LEN];
    crate::scram::fill_random(&mut token);
    token
}

/// `frame` (an encoded CONTROL frame of a message whose `seq` is unset) with `seq` set: the
/// field is appended to the body (protobuf merges it), so a frame encoded once for many
/// receivers is stamped per receiver without decoding.
pub fn stamp_seq(frame: &[u8], seq: u64) -> Bytes {
    let body = &frame[FRAME_HEADER_LEN..];
    let field_len = prost::encoding::key_len(SEQ_FIELD) + prost::encoding::encoded_len_varint(seq);
    let len = 1 + body.len() + field_len;
    let mut out = BytesMut::with_capacity(4 + len);
    out.put_u32(len as u32);
    out.put_u8(FrameKind::Control as u8);
    out.extend_from_slice(body);
    prost::encoding::uint64::encode(SEQ_FIELD, &seq, &mut out);
    out.freeze()
}

/// The buffer overflowed: the session cannot be carried across a cut any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayOverflow;

/// Sequenced messages sent and not yet acknowledged, in order.
#[derive(Debug, Default)]
pub struct ReplayBuffer {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    /// The last sequence number handed out.
    last: u64,
}

impl ReplayBuffer {
    pub fn new() -> Self {
        ReplayBuffer::default()
    }

    /// The next sequence number (what [`push`](Self::push) will be given).
    pub fn next_seq(&self) -> u64 {
        self.last + 1
    }

    /// The last sequence number handed out (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// Keeps the encoded frame of sequence number [`next_seq`](Self::next_seq).
    pub fn push(&mut self, frame: Bytes) -> Result<u64, ReplayOverflow> {
        self.last += 1;
        self.bytes += frame.len();
        self.frames.push_back((self.last, frame));
        if self.bytes > REPLAY_CAP_BYTES {
            Err(ReplayOverflow)
        } else {
            Ok(self.last)
        }
    }

    /// The peer has everything up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        while let Some((first, frame)) = self.frames.front() {
            if *first > seq {
                break;
            }
            self.bytes -= frame.len();
            self.frames.pop_front();
        }
    }

    /// What the peer has not seen after `received`, in order (acknowledges `received`).
    pub fn replay_after(&mut self, received: u64) -> impl Iterator<Item = &Bytes> {
        self.ack(received);
        self.frames.iter().map(|(_, frame)| frame)
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Bytes kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{FrameBuffer, encode_control};
    use crate::pb;

    #[test]
    fn a_stamped_frame_decodes_with_its_seq_and_body() {
        let message = pb::ServerMessage::response(7, 5, None);
        let frame = encode_control(&message);
        let stamped = stamp_seq(&frame, 300);
        let mut buffer = FrameBuffer::new(1024, 1024);
        buffer.extend(&stamped);
        let raw = buffer.next_frame().unwrap().unwrap();
        let decoded: pb::ServerMessage = crate::frame::decode_control(&raw).unwrap();
        assert_eq!(decoded.seq, 300);
        assert_eq!(decoded.body, message.body);
    }

    #[test]
    fn the_buffer_replays_what_was_not_acknowledged() {
        let mut buffer = ReplayBuffer::new();
        for i in 1..=5u8 {
            assert_eq!(buffer.push(Bytes::from(vec![i; 10])), Ok(u64::from(i)));
        }
        buffer.ack(2);
        assert_eq!(buffer.len(), 3);
        let replay: Vec<u8> = buffer.replay_after(3).map(|f| f[0]).collect();
        assert_eq!(replay, vec![4, 5]);
        assert_eq!(buffer.bytes(), 20);
        assert_eq!(buffer.next_seq(), 6);
    }

    #[test]
    fn the_buffer_reports_an_overflow() {
        let mut buffer = ReplayBuffer::new();
        let big = Bytes::from(vec![0u8; REPLAY_CAP_BYTES]);
        assert!(buffer.push(big.clone()).is_ok());
        assert_eq!(buffer.push(Bytes::from_static(b"x")), Err(ReplayOverflow));
    }

    #[test]
    fn a_proof_is_bound_to_the_key_the_nonces_and_the_link() {
        let key = [1u8; 32];
        let p = proof(&key, b"token", "c", "s", ChannelBinding::None);
        assert!(verify(&p, &p));
        assert_ne!(p, proof(&[2; 32], b"token", "c", "s", ChannelBinding::None));
        assert_ne!(p, proof(&key, b"token", "c", "t", ChannelBinding::None));
        assert_ne!(
            p,
            proof(
                &key,
                b"token",
                "c",
                "s",
                ChannelBinding::TlsExporter([0; 32])
            )
        );
        assert!(!verify(&p, &p[..31]));
    }
}

//! The bytes of a load-generator frame: a 32-byte stamp, then filler.
//!
//! ```text
//! offset size  field (little-endian)
//!  0     4     magic "CLG1"
//!  4     4     stream tag (sender index × 8 + stream kind)
//!  8     8     frame sequence number of the stream
//! 16     8     scheduled send time, ns since the run's epoch
//! 24     4     length of the whole frame (all fragments)
//! 28     2     fragment index
//! 30     2     fragment count
//! 32     ..    filler: a slice of one shared pseudo-random block, chosen by (tag, seq, frag)
//! ```
//!
//! Every fragment carries its own stamp, so each is checked on its own; the filler is
//! compared byte for byte against the shared block (one `memcmp`, cheap next to the copy).

use std::sync::OnceLock;

pub const STAMP_LEN: usize = 32;
const MAGIC: [u8; 4] = *b"CLG1";
/// Filler offsets wrap at this, so neighbouring frames differ in their bytes.
const OFFSET_SPAN: usize = 4096;
/// Largest fragment the filler block covers.
pub const MAX_FRAGMENT: usize = 1024 * 1024;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub tag: u32,
    pub seq: u64,
    pub sent_ns: u64,
    pub frame_len: u32,
    pub frag_index: u16,
    pub frag_count: u16,
}

/// Why a fragment's bytes are not what was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Corruption {
    TooShort(usize),
    BadMagic,
    Filler { tag: u32, seq: u64, frag: u16 },
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Corruption::TooShort(len) => write!(f, "payload of {len} bytes has no stamp"),
            Corruption::BadMagic => write!(f, "payload does not start with the stamp magic"),
            Corruption::Filler { tag, seq, frag } => {
                write!(
                    f,
                    "filler bytes differ (stream {tag}, frame {seq}, fragment {frag})"
                )
            }
        }
    }
}

fn filler() -> &'static [u8] {
    static FILLER: OnceLock<Vec<u8>> = OnceLock::new();
    FILLER.get_or_init(|| {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        (0..MAX_FRAGMENT + OFFSET_SPAN)
            .map(|_| {
                // xorshift64*
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    })
}

fn filler_slice(stamp: &Stamp, len: usize) -> &'static [u8] {
    let offset = (stamp.tag as usize)
        .wrapping_mul(131)
        .wrapping_add(stamp.seq as usize * 4099)
        .wrapping_add(stamp.frag_index as usize * 17)
        % OFFSET_SPAN;
    &filler()[offset..offset + len]
}

/// Writes one fragment of `len` bytes (at least [`STAMP_LEN`], at most [`MAX_FRAGMENT`]) into
/// `out`, replacing its contents.
pub fn write_fragment(out: &mut Vec<u8>, stamp: &Stamp, len: usize) {
    assert!(
        (STAMP_LEN..=MAX_FRAGMENT).contains(&len),
        "fragment length {len}"
    );
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&stamp.tag.to_le_bytes());
    out.extend_from_slice(&stamp.seq.to_le_bytes());
    out.extend_from_slice(&stamp.sent_ns.to_le_bytes());
    out.extend_from_slice(&stamp.frame_len.to_le_bytes());
    out.extend_from_slice(&stamp.frag_index.to_le_bytes());
    out.extend_from_slice(&stamp.frag_count.to_le_bytes());
    out.extend_from_slice(filler_slice(stamp, len - STAMP_LEN));
}

/// Reads the stamp of a fragment and checks its filler bytes.
pub fn check_fragment(payload: &[u8]) -> Result<Stamp, Corruption> {
    let Some(head) = payload.first_chunk::<STAMP_LEN>() else {
        return Err(Corruption::TooShort(payload.len()));
    };
    if head[0..4] != MAGIC {
        return Err(Corruption::BadMagic);
    }
    let u16_at = |i: usize| u16::from_le_bytes([head[i], head[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let stamp = Stamp {
        tag: u32_at(4),
        seq: u64_at(8),
        sent_ns: u64_at(16),
        frame_len: u32_at(24),
        frag_index: u16_at(28),
        frag_count: u16_at(30),
    };
    let body = &payload[STAMP_LEN..];
    if body.len() > MAX_FRAGMENT || body != filler_slice(&stamp, body.len()) {
        return Err(Corruption::Filler {
            tag: stamp.tag,
            seq: stamp.seq,
            frag: stamp.frag_index,
        });
    }
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            tag: 17,
            seq: 12_345,
            sent_ns: 987_654_321,
            frame_len: 1000,
            frag_index: 1,
            frag_count: 3,
        }
    }

    #[test]
    fn a_fragment_round_trips() {
        let mut buf = Vec::new();
        write_fragment(&mut buf, &stamp(), 500);
        assert_eq!(buf.len(), 500);
        assert_eq!(check_fragment(&buf), Ok(stamp()));
    }

    #[test]
    fn any_flipped_byte_is_caught() {
        let mut buf = Vec::new();
        write_fragment(&mut buf, &stamp(), 200);
        for i in [0, 5, 40, 199] {
            let mut bad = buf.clone();
            bad[i] ^= 0x01;
            let checked = check_fragment(&bad);
            // A flip inside the stamp changes which filler is expected, so it fails too.
            assert!(
                checked.is_err() || checked.is_ok_and(|s| s != stamp()),
                "flip at {i}"
            );
        }
        assert_eq!(check_fragment(&buf[..10]), Err(Corruption::TooShort(10)));
        let mut truncated = buf.clone();
        truncated.truncate(150);
        assert_eq!(
            check_fragment(&truncated),
            Ok(stamp()),
            "length is checked by the caller"
        );
    }
}

//! What goes into the mixer (one received audio packet) and what comes out (one 20 ms frame).

use bytes::Bytes;

use crate::format::{FRAME_MS, OutputFormat};

/// Identifies one remote audio stream. The session chooses the mapping (the user id, or the
/// user id and stream id packed together); the mixer only compares ids.
pub type SourceId = u64;

/// Audio codec ids of `media_info_t.m_u16CodecID`.
pub mod codec {
    /// Raw PCM, signed little-endian interleaved, 16 or 32 bits.
    pub const PCM: u16 = 0;
    /// Opus.
    pub const OPUS: u16 = 1;
    /// G.722.1: forwarded by the SDK, not mixed.
    pub const G7221: u16 = 2;
    /// AMR-WB: forwarded by the SDK, not mixed.
    pub const AMRWB: u16 = 3;
}

/// One received audio packet, with the fields of its `media_info_t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioPacket {
    /// `m_u16CodecID`: see [`codec`].
    pub codec: u16,
    /// `m_u32W_S`: the sender's sample rate.
    pub sample_rate: u32,
    /// `m_u32H_C`: the sender's channel count.
    pub channels: u16,
    /// `m_u16KeyFrame`: bits per sample (PCM only: 16 or 32).
    pub bits: u16,
    /// `m_u16Framerate`: the packet's duration in ms. Only a hint: the mixer derives the real
    /// duration from the payload (PCM length, Opus TOC).
    pub duration_ms: u16,
    /// `m_u64TimeStamp`: the sender's timestamp in ms, which orders the jitter buffer.
    pub timestamp_ms: u64,
    /// The encoded payload.
    pub payload: Bytes,
}

/// One 20 ms frame of the mix: signed little-endian interleaved PCM in the output format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixedFrame {
    /// Starts at `MixerConfig::first_timestamp_ms` and grows by exactly 20 per frame.
    pub timestamp_ms: u64,
    /// Output rate (`m_u32W_S`).
    pub sample_rate: u32,
    /// Output channels (`m_u32H_C`).
    pub channels: u16,
    /// Output bits per sample (`m_u16KeyFrame`).
    pub bits: u16,
    /// `OutputFormat::bytes_per_frame()` bytes.
    pub data: Bytes,
}

impl MixedFrame {
    pub(crate) fn new(format: &OutputFormat, timestamp_ms: u64, data: Bytes) -> Self {
        Self {
            timestamp_ms,
            sample_rate: format.sample_rate(),
            channels: format.channels(),
            bits: format.bits(),
            data,
        }
    }

    /// Duration of every frame in ms (`m_u16Framerate`), always 20.
    pub fn duration_ms(&self) -> u16 {
        FRAME_MS as u16
    }

    /// The samples as `i32`, whatever the width (test and analysis helper).
    pub fn samples_i32(&self) -> Vec<i32> {
        match self.bits {
            32 => self
                .data
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            _ => self
                .data
                .chunks_exact(2)
                .map(|b| i32::from(i16::from_le_bytes([b[0], b[1]])))
                .collect(),
        }
    }

    /// The samples scaled to [-1, 1) (test and analysis helper).
    pub fn samples_f64(&self) -> Vec<f64> {
        let scale = if self.bits == 32 {
            2_147_483_648.0
        } else {
            32_768.0
        };
        self.samples_i32()
            .into_iter()
            .map(|s| f64::from(s) / scale)
            .collect()
    }
}

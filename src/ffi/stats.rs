//! `conference_get_stats()`: the library's counters (a prefixed addition to the document's
//! API). The struct starts with its size so that it can grow: a caller built against an
//! older header gets the fields it knows.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_uint, c_ulonglong};

use conference_session::{SdkStats, StreamCount};

use super::instance;
use super::ret_code::ret_code_e;

/// Frames and payload bytes of one stream type.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct conference_stream_stats_t {
    pub m_u64Frames: c_ulonglong,
    pub m_u64Bytes: c_ulonglong,
}

/// Counters since `init`, and the current link. Arrays are indexed by media type − 1
/// (`CONFERENCE_MEDIA_TYPE_AUDIO` first).
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct conference_stats_t {
    /// In: `sizeof(conference_stats_t)` as the caller's header has it. Out: the bytes written.
    pub m_u32Size: c_uint,
    /// Mean heartbeat round trip the MCU measured on the current link, µs (0: not yet, or not
    /// connected).
    pub m_u32RttUs: c_uint,
    /// Heartbeats unanswered on the current link, per mille.
    pub m_u32LossPermille: c_uint,
    /// Always 0.
    pub m_u32Reserved: c_uint,
    /// Frames and bytes given to `send_stream` that went to the MCU, per media type.
    pub m_stSent: [conference_stream_stats_t; 4],
    /// Frames and bytes received from the MCU, per media type (before any dispatcher drop).
    pub m_stReceived: [conference_stream_stats_t; 4],
    /// `send_stream` frames refused with `retCode_QueueFullErr`.
    pub m_u64DropQueueFull: c_ulonglong,
    /// `send_stream` frames kept on the recorder because nobody watched their stream.
    pub m_u64Withheld: c_ulonglong,
    /// Received frames the dispatcher dropped because the callbacks did not keep up.
    pub m_u64DropDispatcher: c_ulonglong,
    /// Sessions resumed after a network cut.
    pub m_u64Resumes: c_ulonglong,
}

/// Fills `*stats` with the counters since `init`. Set `stats->m_u32Size` to
/// `sizeof(conference_stats_t)` first: a larger struct (a newer header) gets this version's
/// fields and `m_u32Size` says how many bytes were written; a smaller one is
/// `retCode_ParamErr` (there is no older version). `retCode_InitErr` before `init`;
/// `retCode_ParamErr` for NULL. Callable from any thread, in any state after `init`, from
/// callbacks too.
#[unsafe(no_mangle)]
pub extern "C" fn conference_get_stats(stats: *mut conference_stats_t) -> ret_code_e {
    ffi_boundary!("conference_get_stats", {
        let sdk = instance::get()?;
        let out = try_out!(stats);
        // SAFETY: non-NULL and aligned (checked); whatever its version, the caller's struct
        // starts with its size: read only that field.
        let size = unsafe { out.as_ptr().cast::<c_uint>().read() } as usize;
        if size < std::mem::size_of::<conference_stats_t>() {
            return Err(ret_code_e::retCode_ParamErr);
        }
        let filled = from_core(&sdk.stats()?);
        // SAFETY: as above; this version's struct fits in what the caller declared.
        unsafe { out.as_ptr().write(filled) };
        Ok(())
    })
}

fn from_core(stats: &SdkStats) -> conference_stats_t {
    let stream = |count: &StreamCount| conference_stream_stats_t {
        m_u64Frames: count.frames,
        m_u64Bytes: count.bytes,
    };
    conference_stats_t {
        m_u32Size: std::mem::size_of::<conference_stats_t>() as c_uint,
        m_u32RttUs: stats.rtt_us.unwrap_or(0),
        m_u32LossPermille: stats.loss_permille,
        m_u32Reserved: 0,
        m_stSent: stats.sent.each_ref().map(stream),
        m_stReceived: stats.received.each_ref().map(stream),
        m_u64DropQueueFull: stats.dropped_queue_full,
        m_u64Withheld: stats.withheld,
        m_u64DropDispatcher: stats.dropped_dispatcher,
        m_u64Resumes: stats.resumes,
    }
}

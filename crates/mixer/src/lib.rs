//! The audio mixer engine of the conference SDK (SPEC §7, issue 5): decodes the remote audio
//! streams (codec 0 PCM, codec 1 Opus), resamples them to the output format, mixes them with
//! saturation and produces one continuous track in 20 ms frames.
//!
//! No sockets and no other workspace crate: the session feeds it packets and hands its frames
//! to the dispatcher.
//!
//! # Using it from the session
//!
//! ```no_run
//! use conference_mixer::{AudioPacket, MixerConfig, MixerThread, OutputFormat, codec};
//!
//! // From `audio_mixer_props_t` at `init` (an error maps to `retCode_ParamErr`).
//! let format = OutputFormat::new(16000, 1, 16)?;
//! let mixer = MixerThread::spawn(format, MixerConfig::default(), |frame| {
//!     // Runs on the mixer thread every 20 ms while active: deliver through the dispatcher as
//!     // `on_conference_stream_data` with user_id = -1, media type audio, codec 0,
//!     // m_u32W_S = frame.sample_rate, m_u32H_C = frame.channels, m_u16KeyFrame = frame.bits,
//!     // m_u16Framerate = frame.duration_ms() (20), m_u64TimeStamp = frame.timestamp_ms.
//!     let _ = frame;
//! })?;
//! mixer.set_own_source(Some(42)); // own user id: never mixed
//! mixer.set_active(true); // joined a room: frames start (silence until someone talks)
//! // For every remote audio packet received (not the own stream):
//! mixer.push(7, AudioPacket {
//!     codec: codec::OPUS,
//!     sample_rate: 48000,
//!     channels: 2,
//!     bits: 16,
//!     duration_ms: 20,
//!     timestamp_ms: 123_456,
//!     payload: bytes::Bytes::from_static(&[0xfc, 0xff, 0xfe]),
//! });
//! mixer.remove_source(7); // user 7 left
//! mixer.set_active(false); // left the room: returns once frames have stopped
//! drop(mixer); // stops and joins the thread (uninit)
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Mixer`] is the same engine without a thread or clock (`push`, then `next_frame` once per
//! 20 ms), for tests and benchmarks.
//!
//! # Behaviour
//! - **Output**: every frame is exactly 20 ms (`rate / 50` frames), signed little-endian
//!   interleaved (host order on the x86/ARM targets, like the vendor firmware), 16 or 32 bits;
//!   timestamps start at [`MixerConfig::first_timestamp_ms`] and grow by 20 per frame, also
//!   across `set_active(false)`/`(true)`. Silence when nobody talks.
//! - **Decoding**: PCM 16/32-bit little-endian at the sender's rate and channels (from the
//!   media info); Opus with libopus, decoded directly at the output rate when Opus supports it
//!   (8/12/16/24/48 kHz), else at 48 kHz and resampled. Codecs 2 (G.722.1) and 3 (AMR-WB) are
//!   not mixed, logged once per source. The real duration comes from the payload, not from
//!   `duration_ms`.
//! - **Conversion**: rubato's FFT resampler for fixed rate pairs (sinc for odd rates); mono
//!   is averaged down from stereo, duplicated up to stereo; the sum clips at the sample range.
//! - **Jitter buffer** per source, ordered by the sender's timestamp: playout starts once
//!   [`MixerConfig::target_delay_ms`] (40 ms) is buffered; late packets are dropped; a missing
//!   Opus packet is rebuilt from the next packet's in-band FEC or concealed by libopus PLC
//!   (PCM: silence); after [`MixerConfig::max_conceal_ms`] without packets the source is quiet
//!   and re-buffers when it returns.
//! - **Own stream**: [`MixerThread::set_own_source`] / [`Mixer::set_own_source`]; the session
//!   should not push it anyway.
//! - **Threading**: the thread blocks while inactive and sleeps until each deadline (computed
//!   from a monotonic start, so no drift) while active; `push` never blocks.

mod clock;
mod convert;
mod decode;
mod format;
mod jitter;
mod mix;
mod packet;
mod resample;
mod source;
mod thread;

pub mod analysis;

pub use format::{FRAME_MS, FormatError, OutputFormat, SUPPORTED_RATES, SampleBits};
pub use jitter::SourceStats;
pub use mix::{Mixer, MixerConfig, PushOutcome};
pub use packet::{AudioPacket, MixedFrame, SourceId, codec};
pub use thread::MixerThread;

/// The payload type of [`AudioPacket`] and [`MixedFrame`].
pub use bytes::Bytes;

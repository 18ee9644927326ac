//! The mixer proper: sources by id, one 20 ms frame per call, no threads and no clock.

use std::collections::{BTreeMap, HashSet};

use bytes::Bytes;

use crate::convert::encode;
use crate::decode::{Rejected, classify};
use crate::format::{FRAME_MS, OutputFormat};
use crate::jitter::{Inserted, JitterConfig, SourceStats};
use crate::packet::{AudioPacket, MixedFrame, SourceId};
use crate::source::Source;

/// Tuning. The defaults suit a LAN/MCU path with 20 ms packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerConfig {
    /// A source starts playing once this much audio is buffered (or it has waited this long).
    /// This is the jitter the mixer absorbs; keep it ≤ 60 ms.
    pub target_delay_ms: u32,
    /// A source's buffer never holds more than this; the oldest packets are dropped beyond it.
    pub max_delay_ms: u32,
    /// Missing audio is concealed for at most this long; then the source is quiet until its
    /// packets return (and re-buffers).
    pub max_conceal_ms: u32,
    /// A source with no packets for this long is dropped (decoder freed); it comes back
    /// automatically with its next packet.
    pub idle_source_timeout_ms: u32,
    /// Timestamp of the first frame.
    pub first_timestamp_ms: u64,
}

impl Default for MixerConfig {
    fn default() -> Self {
        Self {
            target_delay_ms: 40,
            max_delay_ms: 120,
            max_conceal_ms: 100,
            idle_source_timeout_ms: 5000,
            first_timestamp_ms: 0,
        }
    }
}

/// What [`Mixer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// Buffered for playout.
    Queued,
    /// Arrived after its playout time: dropped.
    Late,
    /// Same source and timestamp as a buffered packet: dropped.
    Duplicate,
    /// The caller's own stream ([`Mixer::set_own_source`]): never mixed.
    OwnStream,
    /// G.722.1, AMR-WB or an unknown codec: not mixed (logged once per source).
    Unsupported,
    /// Malformed (bad PCM parameters, empty or unparsable payload): dropped (logged once per
    /// source and reason).
    Invalid,
}

/// The mixing engine. Feed packets with [`push`](Mixer::push), take one 20 ms frame per
/// [`next_frame`](Mixer::next_frame); the caller provides the clock.
pub struct Mixer {
    format: OutputFormat,
    config: MixerConfig,
    sources: BTreeMap<SourceId, Source>,
    own: Option<SourceId>,
    next_timestamp_ms: u64,
    mix: Vec<f32>,
    /// (source, what) already logged, so a stream of bad packets logs once.
    warned: HashSet<(SourceId, Rejected)>,
}

impl Mixer {
    /// A mixer with the default [`MixerConfig`].
    pub fn new(format: OutputFormat) -> Self {
        Self::with_config(format, MixerConfig::default())
    }

    pub fn with_config(format: OutputFormat, config: MixerConfig) -> Self {
        Self {
            format,
            config,
            sources: BTreeMap::new(),
            own: None,
            next_timestamp_ms: config.first_timestamp_ms,
            mix: vec![0.0; format.samples_per_frame()],
            warned: HashSet::new(),
        }
    }

    pub fn format(&self) -> OutputFormat {
        self.format
    }

    /// The caller's own stream id: its packets are ignored (SPEC §7: never mixed). The session
    /// should not push its own stream anyway; this is the safety net.
    pub fn set_own_source(&mut self, own: Option<SourceId>) {
        self.own = own;
        if let Some(id) = own {
            self.remove_source(id);
        }
    }

    /// Queues a received packet of `source`.
    pub fn push(&mut self, source: SourceId, packet: AudioPacket) -> PushOutcome {
        if self.own == Some(source) {
            return PushOutcome::OwnStream;
        }
        let duration_ms = match classify(&packet) {
            Ok((_, ms)) => ms,
            Err(why) => {
                if self.warned.insert((source, why)) {
                    match why {
                        Rejected::Unsupported(codec) => {
                            tracing::info!(source, codec, "audio codec not mixed (forwarded only)")
                        }
                        Rejected::Invalid(reason) => {
                            tracing::warn!(source, reason, "audio packet not mixable")
                        }
                    }
                }
                return match why {
                    Rejected::Unsupported(_) => PushOutcome::Unsupported,
                    Rejected::Invalid(_) => PushOutcome::Invalid,
                };
            }
        };
        let jitter = JitterConfig {
            target_ms: self.config.target_delay_ms,
            max_ms: self.config.max_delay_ms,
            max_conceal_ms: self.config.max_conceal_ms,
        };
        let format = self.format;
        let src = self
            .sources
            .entry(source)
            .or_insert_with(|| Source::new(format, jitter));
        match src.insert(packet, duration_ms) {
            Inserted::Queued => PushOutcome::Queued,
            Inserted::Late => PushOutcome::Late,
            Inserted::Duplicate => PushOutcome::Duplicate,
        }
    }

    /// Forgets a source (its user left): buffered audio is dropped.
    pub fn remove_source(&mut self, source: SourceId) {
        self.sources.remove(&source);
        self.warned.retain(|(s, _)| *s != source);
    }

    /// Drops every source (leaving a room). Timestamps continue; the own id is kept.
    pub fn reset(&mut self) {
        self.sources.clear();
        self.warned.clear();
    }

    /// Sources currently known (buffering, playing, or idle but not yet timed out).
    pub fn source_count(&self) -> usize {
        self.sources.len()
    }

    /// Counters of one source, if it is known.
    pub fn source_stats(&self, source: SourceId) -> Option<SourceStats> {
        self.sources.get(&source).map(Source::stats)
    }

    /// The next 20 ms of the mix: always exactly `format.bytes_per_frame()` bytes (silence when
    /// nobody talks), timestamp 20 ms after the previous frame's.
    pub fn next_frame(&mut self) -> MixedFrame {
        self.mix.fill(0.0);
        for source in self.sources.values_mut() {
            source.render_into(&mut self.mix);
        }
        let idle_limit = self.config.idle_source_timeout_ms / FRAME_MS;
        self.sources.retain(|_, s| s.idle_frames() < idle_limit);

        let mut data = Vec::with_capacity(self.format.bytes_per_frame());
        encode(&self.mix, self.format.sample_bits(), &mut data);
        let ts = self.next_timestamp_ms;
        self.next_timestamp_ms += u64::from(FRAME_MS);
        MixedFrame::new(&self.format, ts, Bytes::from(data))
    }
}

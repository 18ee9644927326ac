//! One remote stream: jitter buffer → decoder → channel reduction → resampler → channel
//! expansion → a FIFO of output-format samples, drained 20 ms per mixed frame.

use std::collections::VecDeque;

use crate::convert::remix;
use crate::decode::{Decoder, StreamSpec};
use crate::format::OutputFormat;
use crate::jitter::{Inserted, JitterBuffer, JitterConfig, Playout, SourceStats};
use crate::packet::AudioPacket;
use crate::resample::StreamResampler;

/// Upper bound of jitter-buffer pulls in one frame (a frame needs 1–2 normally).
const MAX_PULLS_PER_FRAME: usize = 64;

/// Decoder and resampler for the current stream shape.
struct Chain {
    spec: StreamSpec,
    decoder: Decoder,
    /// Channels the resampler works at: `min(decoded, output)` so mono stays mono until the end.
    mid_channels: usize,
    resampler: StreamResampler,
}

pub(crate) struct Source {
    format: OutputFormat,
    jitter: JitterBuffer,
    /// Built on the first played packet; the spec is re-derived from each packet on play, so
    /// a sender changing codec or format mid-stream gets a new chain.
    chain: Option<Chain>,
    fifo: VecDeque<f32>,
    decoded: Vec<f32>,
    reduced: Vec<f32>,
    resampled: Vec<f32>,
    expanded: Vec<f32>,
    /// Frames since the last packet arrived, to drop sources that went away.
    idle_frames: u32,
}

impl Source {
    pub fn new(format: OutputFormat, jitter: JitterConfig) -> Self {
        Self {
            format,
            jitter: JitterBuffer::new(jitter),
            chain: None,
            fifo: VecDeque::new(),
            decoded: Vec::new(),
            reduced: Vec::new(),
            resampled: Vec::new(),
            expanded: Vec::new(),
            idle_frames: 0,
        }
    }

    pub fn insert(&mut self, packet: AudioPacket, duration_ms: u32) -> Inserted {
        self.idle_frames = 0;
        self.jitter.insert(packet, duration_ms)
    }

    pub fn stats(&self) -> SourceStats {
        self.jitter.stats()
    }

    /// Frames without any packet while nothing is left to play.
    pub fn idle_frames(&self) -> u32 {
        if self.jitter.is_idle() {
            self.idle_frames
        } else {
            0
        }
    }

    /// Adds this source's next 20 ms into `mix` (interleaved, output format).
    pub fn render_into(&mut self, mix: &mut [f32]) {
        self.idle_frames = self.idle_frames.saturating_add(1);
        self.jitter.tick();
        let needed = mix.len();
        let mut pulls = 0;
        while self.fifo.len() < needed && pulls < MAX_PULLS_PER_FRAME {
            pulls += 1;
            match self.jitter.next() {
                Playout::Play(packet) => self.play(&packet),
                Playout::Conceal { ms, fec } => self.conceal(ms, fec.as_deref()),
                Playout::Wait => break,
            }
        }
        let n = needed.min(self.fifo.len());
        for (m, s) in mix.iter_mut().zip(self.fifo.drain(..n)) {
            *m += s;
        }
        // Short (source went quiet mid-frame): the rest stays silent.
    }

    fn play(&mut self, packet: &AudioPacket) {
        let Ok((spec, ms)) = crate::decode::classify(packet) else {
            return; // classified on insert already
        };
        self.ensure_chain(spec);
        let Some(chain) = self.chain.as_mut() else {
            return;
        };
        self.decoded.clear();
        chain.decoder.decode(&packet.payload, ms, &mut self.decoded);
        self.push_decoded();
    }

    fn conceal(&mut self, ms: u32, fec: Option<&[u8]>) {
        let Some(chain) = self.chain.as_mut() else {
            return;
        };
        self.decoded.clear();
        chain.decoder.conceal(ms, fec, &mut self.decoded);
        self.push_decoded();
    }

    /// (Re)builds the chain when the stream's shape changed.
    fn ensure_chain(&mut self, spec: StreamSpec) {
        if self.chain.as_ref().is_none_or(|c| c.spec != spec) {
            self.chain = match Self::build_chain(spec, &self.format) {
                Ok(chain) => Some(chain),
                Err(e) => {
                    tracing::warn!("cannot decode {spec:?}: {e}");
                    None
                }
            };
        }
    }

    fn build_chain(spec: StreamSpec, format: &OutputFormat) -> Result<Chain, String> {
        let decoder = Decoder::new(spec, format).map_err(|e| e.to_string())?;
        let mid_channels = decoder.channels().min(usize::from(format.channels()));
        let resampler = StreamResampler::new(decoder.rate(), format.sample_rate(), mid_channels)
            .map_err(|e| e.to_string())?;
        Ok(Chain {
            spec,
            decoder,
            mid_channels,
            resampler,
        })
    }

    /// `decoded` (decoder layout) → FIFO (output layout).
    fn push_decoded(&mut self) {
        let Some(chain) = self.chain.as_mut() else {
            return;
        };
        let out_ch = usize::from(self.format.channels());
        // Copies only where a layout actually changes.
        let reduced: &[f32] = if chain.decoder.channels() == chain.mid_channels {
            &self.decoded
        } else {
            self.reduced.clear();
            let in_ch = chain.decoder.channels();
            remix(&self.decoded, in_ch, chain.mid_channels, &mut self.reduced);
            &self.reduced
        };
        self.resampled.clear();
        chain.resampler.process(reduced, &mut self.resampled);
        if chain.mid_channels == out_ch {
            self.fifo.extend(self.resampled.iter().copied());
        } else {
            self.expanded.clear();
            remix(
                &self.resampled,
                chain.mid_channels,
                out_ch,
                &mut self.expanded,
            );
            self.fifo.extend(self.expanded.iter().copied());
        }
    }
}

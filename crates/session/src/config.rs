//! What an instance is started with: [`SdkConfig`] (what the C API sets), [`Tuning`] (internal
//! bounds, for the load generator and tests) and the validated [`MixerFormat`].

use std::time::Duration;

use conference_proto::ErrorCode;

use crate::Result;
use crate::receive_policy::MediaBudget;
use crate::send_queue::SendBudget;

/// Output format of the audio mixer (`audio_mixer_props_t`), already validated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MixerFormat {
    pub sample_rate: u32,
    pub channels: u16,
    pub bits: u16,
}

impl MixerFormat {
    /// Checks the formats SPEC §3 allows.
    pub fn new(sample_rate: i32, channels: i32, bits: i32) -> Result<Self> {
        let rate_ok = matches!(sample_rate, 8000 | 16000 | 32000 | 44100 | 48000);
        let channels_ok = matches!(channels, 1 | 2);
        let bits_ok = matches!(bits, 16 | 32);
        if !(rate_ok && channels_ok && bits_ok) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(MixerFormat {
            sample_rate: sample_rate as u32,
            channels: channels as u16,
            bits: bits as u16,
        })
    }
}

/// Settings of one SDK instance.
#[derive(Clone, Debug)]
pub struct SdkConfig {
    /// `None` disables the mixer.
    pub mixer: Option<MixerFormat>,
    /// Bound on `connect`, `login_room` and every other MCU request.
    pub request_timeout: Duration,
}

impl Default for SdkConfig {
    fn default() -> Self {
        SdkConfig {
            mixer: None,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// Internal bounds, for the load generator and tests; the defaults suit a recorder.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Media that may wait for a slow [`EventSink`] before frames are dropped.
    pub media_budget: MediaBudget,
    /// Bound of the `send_stream` queue (`QueueFullErr` beyond).
    pub send_budget: SendBudget,
    /// How long a closing connection waits for its Goodbye to be flushed and for the MCU to
    /// close its side (each), so that `disconnect` returns with the MCU done with the session.
    pub disconnect_grace: Duration,
    /// Keep the frames of streams nobody subscribes to off the wire (when the MCU says who
    /// watches: docs/PROTOCOL.md, "Stream demand").
    pub withhold_unwatched: bool,
    /// Keep the session across link cuts (docs/PROTOCOL.md §8): on by default,
    /// `CONFERENCE_SDK_RESUME=off` turns it off (every cut then ends the session).
    pub resume: bool,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            media_budget: MediaBudget::default(),
            send_budget: SendBudget::default(),
            disconnect_grace: Duration::from_secs(1),
            withhold_unwatched: true,
            resume: std::env::var("CONFERENCE_SDK_RESUME").map_or(true, |v| v != "off"),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixer_formats_are_validated() {
        assert!(MixerFormat::new(44_100, 2, 32).is_ok());
        assert_eq!(MixerFormat::new(22_050, 1, 16), Err(ErrorCode::ParamErr));
        assert_eq!(MixerFormat::new(16_000, 3, 16), Err(ErrorCode::ParamErr));
        assert_eq!(MixerFormat::new(16_000, 1, 8), Err(ErrorCode::ParamErr));
    }
}

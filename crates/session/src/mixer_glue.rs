//! Mixer integration (SPEC §7): the `conference-mixer` thread runs from `start` to `shutdown`,
//! is active only while in a room, is fed the audio received from other users, and its 20 ms
//! frames reach the application through the dispatcher as the user `MIXER_USER_ID`.

use std::sync::Arc;

use conference_mixer::{AudioPacket, MixedFrame, MixerConfig, MixerThread, OutputFormat};
use conference_proto::media::Fragment;
use conference_proto::{ErrorCode, MediaHeader, MediaType};

use crate::dispatcher::Queue;
use crate::{Event, MIXER_USER_ID, MediaEvent, MixerFormat};

/// `m_u16MediaType` of an audio stream.
const MEDIA_TYPE_AUDIO: u16 = 0;

/// Low byte of `m_u16FrameSeq` for a complete packet.
const FRAME_WHOLE: u16 = 3;

pub(crate) struct MixerGlue {
    thread: MixerThread,
}

impl MixerGlue {
    /// Starts the mixer thread, inactive.
    pub fn start(format: MixerFormat, events: Arc<Queue>) -> Result<Self, ErrorCode> {
        let output = OutputFormat::new(format.sample_rate, format.channels, format.bits)
            .map_err(|_| ErrorCode::ParamErr)?;
        let thread = MixerThread::spawn(output, MixerConfig::default(), move |frame| {
            events.push(Event::Media(mixed_event(frame)));
        })
        .map_err(|err| {
            tracing::error!(%err, "cannot start the mixer thread");
            ErrorCode::ThreadErr
        })?;
        Ok(MixerGlue { thread })
    }

    /// On while in a room (continuous output), off otherwise (no CPU).
    pub fn set_active(&self, active: bool) {
        self.thread.set_active(active);
    }

    /// One audio frame received from another user. Fragmented audio is not mixed (audio
    /// packets are small and sent whole); the raw frame still reaches the application.
    pub fn feed(&self, header: &MediaHeader, payload: &bytes::Bytes) {
        if !matches!(header.fragment(), Fragment::Whole) {
            return;
        }
        let packet = AudioPacket {
            codec: header.codec_id,
            sample_rate: u32::try_from(header.width_or_rate).unwrap_or(0),
            channels: u16::try_from(header.height_or_channels).unwrap_or(0),
            bits: header.key_frame,
            duration_ms: header.framerate,
            timestamp_ms: header.timestamp,
            payload: payload.clone(),
        };
        // A sender may have several audio streams: one mixer source each.
        let source = (u64::from(header.sender_id) << 16) | u64::from(header.stream_id);
        self.thread.push(source, packet);
    }

    /// Stops and joins the mixer thread.
    pub fn stop(self) {
        self.thread.stop();
    }
}

/// A mixed frame as `on_conference_stream_data` delivers it (SPEC §7).
fn mixed_event(frame: MixedFrame) -> MediaEvent {
    MediaEvent {
        header: MediaHeader {
            sender_id: MIXER_USER_ID as u32,
            stream_type: MediaType::Audio as u8,
            media_type: MEDIA_TYPE_AUDIO,
            codec_id: conference_mixer::codec::PCM,
            frame_seq: FRAME_WHOLE,
            key_frame: frame.bits,
            framerate: frame.duration_ms(),
            stream_id: 0,
            width_or_rate: i32::try_from(frame.sample_rate).unwrap_or(i32::MAX),
            height_or_channels: i32::from(frame.channels),
            // Raw PCM: the document's convention is a bit rate of 0.
            bitrate: 0,
            timestamp: frame.timestamp_ms,
        },
        payload: frame.data,
        user_id: MIXER_USER_ID,
        media_type: MediaType::Audio,
    }
}

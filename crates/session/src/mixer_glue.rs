//! Mixer integration (SPEC §7): the `conference-mixer` thread runs from `start` to `shutdown`,
//! is active only while in a room, is fed the audio received from other users, and its 20 ms
//! frames reach the application through the dispatcher as the user `MIXER_USER_ID`.

use std::collections::BTreeSet;
use std::sync::Arc;

use conference_mixer::{AudioPacket, MixedFrame, MixerConfig, MixerThread, OutputFormat, SourceId};
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
    /// Sources fed since the room was entered, so a leaving user's streams can be removed at
    /// once instead of playing out their buffer and concealment, then idling for 5 s.
    fed: BTreeSet<SourceId>,
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
        Ok(MixerGlue {
            thread,
            fed: BTreeSet::new(),
        })
    }

    /// On while in a room (continuous output), off otherwise (no CPU). Switching off drops
    /// every source in the mixer thread.
    pub fn set_active(&mut self, active: bool) {
        self.fed.clear();
        self.thread.set_active(active);
    }

    /// One audio frame received from another user. Fragmented audio is not mixed (audio
    /// packets are small and sent whole); the raw frame still reaches the application.
    pub fn feed(&mut self, header: &MediaHeader, payload: &bytes::Bytes) {
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
        let source = source_id(header.sender_id, header.stream_id);
        if self.thread.push(source, packet) {
            self.fed.insert(source);
        }
    }

    /// `user_id` left the room (USER_LEAVE / USER_KICKED): its streams leave the mix now.
    pub fn remove_user(&mut self, user_id: u32) {
        let range = source_id(user_id, 0)..=source_id(user_id, u16::MAX);
        let gone: Vec<SourceId> = self.fed.range(range).copied().collect();
        for source in gone {
            self.fed.remove(&source);
            self.thread.remove_source(source);
        }
    }

    /// Stops and joins the mixer thread.
    pub fn stop(self) {
        self.thread.stop();
    }
}

/// A sender may have several audio streams: one mixer source each.
fn source_id(sender_id: u32, stream_id: u16) -> SourceId {
    (u64::from(sender_id) << 16) | u64::from(stream_id)
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

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::*;
    use crate::EventSink;
    use crate::dispatcher::{DispatchThread, Worker};
    use crate::receive_policy::MediaBudget;

    struct Collect(mpsc::Sender<MediaEvent>);

    impl EventSink for Collect {
        fn deliver(&mut self, event: Event) {
            if let Event::Media(media) = event {
                let _ = self.0.send(media);
            }
        }
    }

    /// 20 ms of a 500 Hz tone, 16 kHz mono 16-bit PCM, as user `sender` stream `stream`.
    fn packet(sender: u32, stream: u16, index: u64) -> (MediaHeader, Bytes) {
        let header = MediaHeader {
            sender_id: sender,
            stream_type: MediaType::Audio as u8,
            frame_seq: FRAME_WHOLE,
            key_frame: 16,
            framerate: 20,
            stream_id: stream,
            width_or_rate: 16_000,
            height_or_channels: 1,
            timestamp: 1_000 + 20 * index,
            ..MediaHeader::default()
        };
        let payload = (0..320u64)
            .flat_map(|n| {
                let phase = (index * 320 + n) as f64 * 500.0 / 16_000.0;
                let v = (8_000.0 * (std::f64::consts::TAU * phase).sin()) as i16;
                v.to_le_bytes()
            })
            .collect::<Vec<u8>>();
        (header, Bytes::from(payload))
    }

    fn loud(frame: &MediaEvent) -> bool {
        frame
            .payload
            .chunks_exact(2)
            .any(|b| i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 100)
    }

    #[test]
    fn leaving_users_and_rooms_take_their_audio_out_of_the_mix() {
        let dispatcher = DispatchThread::start(Worker::new()).unwrap();
        let (tx, rx) = mpsc::channel();
        let queue = Queue::new(
            Arc::clone(dispatcher.worker()),
            MediaBudget::default(),
            Box::new(Collect(tx)),
        );
        let format = MixerFormat::new(16_000, 1, 16).unwrap();
        let mut glue = MixerGlue::start(format, Arc::clone(&queue)).unwrap();
        let activated = Instant::now();
        glue.set_active(true);

        // User 7 talks in real time (the jitter buffer plays in the sender's time), user 8
        // has a second stream too: bookkeeping is per source.
        let start = Instant::now();
        for i in 0..15 {
            let (header, payload) = packet(7, 0, i);
            glue.feed(&header, &payload);
            let due = start + Duration::from_millis(20 * (i + 1));
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
        }
        for (sender, stream) in [(7, 1), (8, 0)] {
            let (header, payload) = packet(sender, stream, 0);
            glue.feed(&header, &payload);
        }
        // 100 ms more of user 7 already buffered: without the removal it would still play.
        for i in 15..20 {
            let (header, payload) = packet(7, 0, i);
            glue.feed(&header, &payload);
        }
        glue.remove_user(7);
        // Frame k (timestamp 20·k) is mixed no earlier than activation + 20·k ms, after
        // draining the commands queued by then: every frame past this index saw the removal,
        // however loaded the machine is.
        let removed_by = (activated.elapsed().as_millis() / 20) as u64 + 1;
        assert_eq!(
            glue.fed.iter().copied().collect::<Vec<_>>(),
            vec![source_id(8, 0)]
        );
        let mut frames = Vec::new();
        while frames
            .last()
            .is_none_or(|f: &MediaEvent| f.header.timestamp / 20 < removed_by + 12)
        {
            frames.push(rx.recv_timeout(Duration::from_secs(5)).unwrap());
        }
        assert!(frames.iter().any(loud), "user 7 was never heard");
        let late: Vec<u64> = frames
            .iter()
            .filter(|f| f.header.timestamp / 20 > removed_by && loud(f))
            .map(|f| f.header.timestamp)
            .collect();
        assert!(
            late.is_empty(),
            "user 7 still heard after leaving, at {late:?} ms"
        );

        // Leaving the room drops every source: user 8's buffered audio is not heard in the
        // next room.
        for i in 1..6 {
            let (header, payload) = packet(8, 0, i);
            glue.feed(&header, &payload);
        }
        glue.set_active(false);
        assert!(glue.fed.is_empty());
        while rx.try_recv().is_ok() {}
        glue.set_active(true);
        let next_room: Vec<MediaEvent> = (0..10)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert!(
            !next_room.iter().any(loud),
            "a source survived leaving the room"
        );
        glue.stop();
        queue.stop();
        drop(dispatcher);
    }
}

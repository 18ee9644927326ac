//! The recorder's two files: the mixed track as raw bytes (frames back to back, as
//! delivered) and a text log, one line per delivered frame header, per frame received from a
//! sender, and per state event (with how many mixed frames preceded it). [`Writer`] writes
//! them in the recorder, [`Recording`] reads them back in the test.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::str::FromStr;

use conference_session::{MediaEvent, StateEvent};

/// One mixed frame's `media_info_t` and delivery fields, as logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub user_id: i32,
    /// `conference_media_type_e` of the callback.
    pub stream: u8,
    pub media_type: u16,
    pub codec: u16,
    pub rate: i32,
    pub channels: i32,
    pub bits: u16,
    pub framerate: u16,
    pub frame_seq: u16,
    pub stream_id: u16,
    pub bitrate: i32,
    pub timestamp: u64,
    pub bytes: usize,
}

/// A frame received from a sender (raw, not mixed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderFrame {
    pub user_id: i32,
    pub codec: u16,
    pub timestamp: u64,
    pub bytes: usize,
    /// Mixed frames delivered before it: when it arrived, on the mixer's clock.
    pub at_frame: usize,
}

/// A state event and its place in the mixed track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    /// `StateId` name, e.g. `UserLeave`.
    pub state: String,
    /// Subject user, 0 for none.
    pub user: u32,
    pub result: u32,
    /// Mixed frames delivered before this event.
    pub at_frame: usize,
}

/// Writes the recorder's files.
pub struct Writer {
    raw: BufWriter<File>,
    log: BufWriter<File>,
    frames: usize,
}

impl Writer {
    pub fn create(raw: &Path, log: &Path) -> io::Result<Writer> {
        Ok(Writer {
            raw: BufWriter::new(File::create(raw)?),
            log: BufWriter::new(File::create(log)?),
            frames: 0,
        })
    }

    /// Mixed frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// A mixed frame: its bytes to the raw file, its header to the log.
    pub fn mixed(&mut self, m: &MediaEvent) -> io::Result<()> {
        self.raw.write_all(&m.payload)?;
        let h = &m.header;
        writeln!(
            self.log,
            "frame user={} stream={} media_type={} codec={} rate={} channels={} bits={} \
             framerate={} seq={} stream_id={} bitrate={} ts={} bytes={}",
            m.user_id,
            m.media_type as u8,
            h.media_type,
            h.codec_id,
            h.width_or_rate,
            h.height_or_channels,
            h.key_frame,
            h.framerate,
            h.frame_seq,
            h.stream_id,
            h.bitrate,
            h.timestamp,
            m.payload.len()
        )?;
        self.frames += 1;
        Ok(())
    }

    /// A frame from a sender: only its header is logged.
    pub fn sender(&mut self, m: &MediaEvent) -> io::Result<()> {
        writeln!(
            self.log,
            "sender user={} codec={} ts={} bytes={} at_frame={}",
            m.user_id,
            m.header.codec_id,
            m.header.timestamp,
            m.payload.len(),
            self.frames
        )
    }

    pub fn event(&mut self, s: &StateEvent) -> io::Result<()> {
        writeln!(
            self.log,
            "event state={:?} user={} result={} at_frame={}",
            s.state,
            s.user.as_ref().map_or(0, |u| u.id),
            s.result_code(),
            self.frames
        )
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.raw.flush()?;
        self.log.flush()
    }
}

/// The recorder's files, read back.
#[derive(Debug, Default)]
pub struct Recording {
    /// The raw file as 16-bit little-endian samples.
    pub samples: Vec<i16>,
    pub raw_bytes: usize,
    pub frames: Vec<FrameHeader>,
    pub senders: Vec<SenderFrame>,
    pub events: Vec<EventLine>,
}

impl Recording {
    pub fn load(raw: &Path, log: &Path) -> Result<Recording, String> {
        let bytes = std::fs::read(raw).map_err(|e| format!("{}: {e}", raw.display()))?;
        let text = std::fs::read_to_string(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut rec = Recording {
            samples: bytes
                .chunks_exact(2)
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect(),
            raw_bytes: bytes.len(),
            ..Recording::default()
        };
        for (n, line) in text.lines().enumerate() {
            rec.parse_line(line)
                .map_err(|e| format!("{} line {}: {e}: {line:?}", log.display(), n + 1))?;
        }
        Ok(rec)
    }

    fn parse_line(&mut self, line: &str) -> Result<(), String> {
        let mut words = line.split_whitespace();
        let kind = words.next().unwrap_or_default();
        let fields: HashMap<&str, &str> = words.filter_map(|w| w.split_once('=')).collect();
        let get = |name: &str| fields.get(name).copied().ok_or(format!("no {name}"));
        match kind {
            "frame" => self.frames.push(FrameHeader {
                user_id: num(get("user")?)?,
                stream: num(get("stream")?)?,
                media_type: num(get("media_type")?)?,
                codec: num(get("codec")?)?,
                rate: num(get("rate")?)?,
                channels: num(get("channels")?)?,
                bits: num(get("bits")?)?,
                framerate: num(get("framerate")?)?,
                frame_seq: num(get("seq")?)?,
                stream_id: num(get("stream_id")?)?,
                bitrate: num(get("bitrate")?)?,
                timestamp: num(get("ts")?)?,
                bytes: num(get("bytes")?)?,
            }),
            "sender" => self.senders.push(SenderFrame {
                user_id: num(get("user")?)?,
                codec: num(get("codec")?)?,
                timestamp: num(get("ts")?)?,
                bytes: num(get("bytes")?)?,
                at_frame: num(get("at_frame")?)?,
            }),
            "event" => self.events.push(EventLine {
                state: get("state")?.to_string(),
                user: num(get("user")?)?,
                result: num(get("result")?)?,
                at_frame: num(get("at_frame")?)?,
            }),
            other => return Err(format!("unknown line kind {other:?}")),
        }
        Ok(())
    }

    /// The track as samples in full-scale units (mono: one per sample frame).
    pub fn normalized(&self) -> Vec<f64> {
        self.samples
            .iter()
            .map(|&s| f64::from(s) / 32768.0)
            .collect()
    }
}

fn num<T: FromStr>(text: &str) -> Result<T, String> {
    text.parse().map_err(|_| format!("bad number {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_session::{MediaHeader, MediaType, StateId, UserInfo};

    #[test]
    fn written_files_read_back() {
        let dir = std::env::temp_dir().join(format!("conference-e2e-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (raw, log) = (dir.join("mix.raw"), dir.join("mix.log"));
        let mut w = Writer::create(&raw, &log).unwrap();
        let header = MediaHeader {
            codec_id: 0,
            frame_seq: 3,
            key_frame: 16,
            framerate: 20,
            width_or_rate: 16_000,
            height_or_channels: 1,
            timestamp: 40,
            ..MediaHeader::default()
        };
        let frame = MediaEvent {
            header,
            payload: vec![1, 0, 0xff, 0xff].into(),
            user_id: -1,
            media_type: MediaType::Audio,
        };
        w.mixed(&frame).unwrap();
        w.sender(&MediaEvent {
            user_id: 3,
            ..frame.clone()
        })
        .unwrap();
        w.event(&StateEvent {
            state: StateId::UserLeave,
            result: Ok(()),
            user: Some(UserInfo {
                id: 3,
                ..UserInfo::default()
            }),
            extra: conference_session::EventExtra::None,
        })
        .unwrap();
        w.finish().unwrap();
        let rec = Recording::load(&raw, &log).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(rec.samples, vec![1, -1]);
        assert_eq!(rec.frames.len(), 1);
        assert_eq!(rec.frames[0].rate, 16_000);
        assert_eq!(rec.frames[0].timestamp, 40);
        assert_eq!(rec.frames[0].stream, 1);
        assert_eq!(rec.senders[0].user_id, 3);
        assert_eq!(rec.senders[0].at_frame, 1);
        assert_eq!(
            rec.events[0],
            EventLine {
                state: "UserLeave".into(),
                user: 3,
                result: 0,
                at_frame: 1
            }
        );
    }
}

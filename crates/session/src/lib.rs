//! The session core of `libconference_sdk`: plain Rust, no C types.
//!
//! [`Sdk`] is what the C facade drives: one value per `init` … `uninit`. Control calls block
//! until the MCU answers (or a timeout); `get_*` calls answer from a local cache; events reach
//! the application through an [`EventSink`] called on one dedicated dispatcher thread.
//!
//! SKELETON: the API surface below is the contract between the C facade (`src/ffi/`) and this
//! crate. Until the MCU session is wired in, every call that needs the MCU answers
//! `ErrorCode::NotLoginErr`.

use std::time::Duration;

use bytes::Bytes;
pub use conference_proto::message::StateId;
pub use conference_proto::pb::{
    AuxInfo, ChatInfo, LookedInfo, RoomInfo, TransparentInfo, UserInfo,
};
pub use conference_proto::{ErrorCode, MediaHeader, MediaType};

pub type Result<T> = std::result::Result<T, ErrorCode>;

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

/// `invite_type_e`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InviteType {
    Video = 0,
    Audio = 1,
}

/// Which of a user's two permissioned streams an `auth_*`, `check_*` or `bcast_*` call is about.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum MediaKind {
    Video,
    Audio,
}

/// Transparent data type (`send_transparent_data`'s `data_type`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DataType {
    Binary = 0,
    String = 1,
}

/// The `append_data` of a state event.
#[derive(Clone, Debug, PartialEq)]
pub enum EventExtra {
    None,
    /// LOGIN_MCU: number of rooms.
    RoomCount(i32),
    /// LOGIN_ROOM: the room joined.
    Room(RoomInfo),
    Looked(LookedInfo),
    Chat(ChatInfo),
    InviteType(InviteType),
    Transparent(TransparentInfo),
    Aux(AuxInfo),
    /// USER_VPOS: layout position.
    Position(i32),
}

/// One `on_conference_state` call (plus `on_conference_chat` for USER_CHAT).
#[derive(Clone, Debug, PartialEq)]
pub struct StateEvent {
    pub state: StateId,
    /// 0 or a `ret_code_e` value.
    pub result: u32,
    pub user: Option<UserInfo>,
    pub extra: EventExtra,
}

/// One `on_conference_stream_data` call.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaEvent {
    pub header: MediaHeader,
    pub payload: Bytes,
    /// Sender, or `MIXER_USER_ID` for the mixed audio.
    pub user_id: i32,
    pub media_type: MediaType,
}

/// `user_id` of the mixed audio track (`CONFERENCE_MIXER_USER_ID`).
pub const MIXER_USER_ID: i32 = -1;

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    State(StateEvent),
    Media(MediaEvent),
}

/// Receives the events, one at a time, in order, on the dispatcher thread.
pub trait EventSink: Send + 'static {
    fn deliver(&mut self, event: Event);
}

/// One SDK instance: from `init` to `uninit`.
pub struct Sdk {
    config: SdkConfig,
    _sink: parking_lot::Mutex<Box<dyn EventSink>>,
}

impl Sdk {
    /// Starts the runtime, the dispatcher thread and (with a mixer format) the mixer thread.
    pub fn start(config: SdkConfig, sink: Box<dyn EventSink>) -> Result<Sdk> {
        Ok(Sdk {
            config,
            _sink: parking_lot::Mutex::new(sink),
        })
    }

    pub fn config(&self) -> &SdkConfig {
        &self.config
    }

    /// Stops everything and joins the threads. Called on the dispatcher thread (from inside a
    /// callback) it does not wait for that thread, which ends after the callback returns.
    pub fn shutdown(&self) {}

    /// `connect_MCU`: blocks until the MCU accepted or refused the login.
    pub fn connect(&self, _host: &str, _port: u16, _username: &str, _password: &str) -> Result<()> {
        Err(ErrorCode::SockCnntErr)
    }

    pub fn disconnect(&self) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn room_count(&self) -> Result<usize> {
        Err(ErrorCode::NotLoginErr)
    }

    /// `room_idx` is 0-based.
    pub fn room_info(&self, _room_idx: usize) -> Result<RoomInfo> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn login_room(&self, _room_id: u32) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn logout_room(&self) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn kick(&self, _user_id: u32) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn invite(&self, _user_id: u32, _invite_type: InviteType, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn answer_invite(&self, _user_id: u32, _accept: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn own_user(&self) -> Result<UserInfo> {
        Err(ErrorCode::NotLoginErr)
    }

    /// Users in the room, the caller included.
    pub fn user_count(&self) -> Result<usize> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn user(&self, _user_id: u32) -> Result<UserInfo> {
        Err(ErrorCode::NotLoginErr)
    }

    /// `dst_id` 0 = everyone. `content` is at most 127 bytes of UTF-8.
    pub fn send_chat(&self, _dst_id: u32, _color: i32, _content: &[u8]) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn apply_master(&self, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn apply_talk(&self, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn apply_aux(&self, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn ctrl_talk(&self, _user_id: u32, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn auth(&self, _kind: MediaKind, _src_id: u32, _dst_id: u32, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn check(&self, _kind: MediaKind, _user_id: u32, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn bcast(&self, _kind: MediaKind, _user_id: u32, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn set_interact(&self, _user_id: u32) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    /// Queues one media message; never blocks (`QueueFullErr` when the queue is full).
    pub fn send_stream(
        &self,
        _header: MediaHeader,
        _payload: &[u8],
        _media_type: MediaType,
    ) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    pub fn recv_stream(&self, _user_id: u32, _media_type: MediaType, _on: bool) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }

    /// `dst_id` 0 = everyone; at most 65,536 bytes.
    pub fn send_transparent(&self, _dst_id: u32, _data: &[u8], _data_type: DataType) -> Result<()> {
        Err(ErrorCode::NotLoginErr)
    }
}

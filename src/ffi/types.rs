//! The C types of the vendor document (section 三) and of SPEC §1, as `#[repr(C)]` Rust.
//!
//! Names, field order and C types are the document's; cbindgen turns this file into
//! `include/conference_sdk.h`. Values produced by Rust may use the Rust enums; values read
//! FROM C that have an enum type are declared with the `c_int` aliases at the bottom, so an
//! out-of-range number stays a number until it is validated.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_char, c_int, c_uchar, c_ulonglong, c_ushort, c_void};

pub use super::ret_code::{result_code_e, ret_code_e};

/// Number of aux (courseware) stream slots: slot 0 carries `CONFERENCE_MEDIA_TYPE_VIDEO_MINOR`,
/// slot 1 `CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2` (SPEC §1).
pub const CONFERENCE_AUX_MAX: usize = 2;

/// `user_id` of the mixed audio track handed to `on_conference_stream_data` (SPEC §7).
/// The header spells it `(-1)` (see `after_includes` in cbindgen.toml).
pub const CONFERENCE_MIXER_USER_ID: c_int = -1;

// The same numbers on both sides of the facade: a change to one fails the build.
const _: () = assert!(CONFERENCE_AUX_MAX == conference_proto::AUX_SLOTS);
const _: () = assert!(CONFERENCE_MIXER_USER_ID == conference_session::MIXER_USER_ID);

/// C `time_t`, as the target's C library has it: 64-bit on 64-bit targets (the sizes of
/// SPEC §1); on 32-bit ARM what the firmware's toolchain uses, which build.rs asks it.
/// Declared here, not emitted: the header takes it from `<time.h>`.
#[cfg(not(time_t_32))]
pub type time_t = i64;
#[cfg(time_t_32)]
pub type time_t = i32;

/// Event id of `on_conference_state`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum conference_state_e {
    /// Connected to the MCU, room list received.
    CONFERENCE_STATE_LOGIN_MCU = 1,
    /// Logged into a room; own user info.
    CONFERENCE_STATE_LOGIN_ROOM,
    /// A user entered the room.
    CONFERENCE_STATE_USER_ENTER,
    /// A user left the room.
    CONFERENCE_STATE_USER_LEAVE,
    /// We left the room.
    CONFERENCE_STATE_ROOM_EXIT,
    /// A user's audio (talk) state changed.
    CONFERENCE_STATE_USER_TALK,
    /// A user's video broadcast state changed.
    CONFERENCE_STATE_USER_BCAST,
    /// A user's master state changed.
    CONFERENCE_STATE_USER_CHAIR,
    /// Our video is being looked at (as a listener).
    CONFERENCE_STATE_LOOKED,
    /// Connection failure.
    CONFERENCE_STATE_USER_CLOSE,
    /// A user raised (or lowered) a hand.
    CONFERENCE_STATE_USER_REQTALK,
    /// Connecting to the MCU failed.
    CONFERENCE_STATE_CONNECT_MCU_FAILED,
    /// Logging into the room failed.
    CONFERENCE_STATE_LOGIN_ROOM_FAILED,
    /// A user was kicked out of the room.
    CONFERENCE_STATE_USER_KICKED,
    /// A user's video layout position changed.
    CONFERENCE_STATE_USER_VPOS,
    /// The interactive user changed.
    CONFERENCE_STATE_UPDATE_INTERACT,
    /// Chat message received.
    CONFERENCE_STATE_USER_CHAT,
    /// VNC state changed.
    CONFERENCE_STATE_USER_VNC,
    /// A user's nickname changed.
    CONFERENCE_STATE_NICK_NAME,
    /// Join request received.
    CONFERENCE_STATE_RECV_JOIN,
    /// Invitation received.
    CONFERENCE_STATE_RECV_INVITE,
    /// Join request rejected.
    CONFERENCE_STATE_REJECT_JOIN,
    /// Join request accepted.
    CONFERENCE_STATE_ALLOW_JOIN,
    /// Invitation rejected.
    CONFERENCE_STATE_REJECT_INVITE,
    /// Invitation accepted.
    CONFERENCE_STATE_ALLOW_INVITE,
    /// Transparent data received.
    CONFERENCE_STATE_TRANSPARENT,
    /// A user's aux stream state changed.
    CONFERENCE_STATE_USER_AUX,
}

/// Media stream type.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum conference_media_type_e {
    /// Audio stream.
    CONFERENCE_MEDIA_TYPE_AUDIO = 1,
    /// Main video.
    CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR,
    /// Aux video (aux slot 0).
    CONFERENCE_MEDIA_TYPE_VIDEO_MINOR,
    /// Aux video 2 (aux slot 1).
    CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2,
}

/// Invitation / join request type. The document names it `intvite_type_e` in its definition
/// and `invite_type_e` everywhere else: both names are kept.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum intvite_type_e {
    /// Video conference.
    INVITE_TYPE_VIDEO = 0,
    /// Voice conference.
    INVITE_TYPE_AUDIO = 1,
}

/// The document's usual spelling of `intvite_type_e`.
pub type invite_type_e = intvite_type_e;

/// `append_data` of `CONFERENCE_STATE_USER_AUX`.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct aux_stream_state_info_t {
    /// User id.
    pub m_i32UserID: c_int,
    /// 0 failed / released, 1 granted, 2 pending (unused).
    pub m_i32ResponseState: c_int,
    /// Stream type of the aux slot.
    pub m_eMediaType: media_type_value,
}

/// A chat message (`send_chat`, `on_conference_chat`).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct conference_chat_info_t {
    /// Sender (filled by the MCU).
    pub m_i32SrcID: c_int,
    /// Receiver, 0 = everyone in the room.
    pub m_i32DstID: c_int,
    /// Font colour.
    pub m_i32Color: c_int,
    /// UTF-8 text, NUL-terminated.
    pub m_strContent: [c_char; 128],
}

/// Header of one media frame.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct media_info_t {
    /// Media type: 0 audio, 1 main video, 2 aux video...
    pub m_u16MediaType: c_ushort,
    /// Codec: video 3 = H.264; audio 0 PCM, 1 Opus, 2 G.722.1, 3 AMR-WB.
    pub m_u16CodecID: c_ushort,
    /// Low 8 bits: fragment flag, 1 first, 0 middle, 2 last, 3 whole frame.
    pub m_u16FrameSeq: c_ushort,
    /// Video: key frame 0/1. Audio: bits per sample.
    pub m_u16KeyFrame: c_ushort,
    /// Video frame rate, or duration of one audio packet in ms.
    pub m_u16Framerate: c_ushort,
    /// Stream sequence number.
    pub m_u16StreamID: c_ushort,
    /// Video width or audio sample rate.
    pub m_u32W_S: c_int,
    /// Video height or audio channel count.
    pub m_u32H_C: c_int,
    /// Bit rate in kbit/s (0 for raw data).
    pub m_u32Bitrate: c_int,
    /// Time stamp in ms.
    pub m_u64TimeStamp: c_ulonglong,
}

/// A room (conference room) on the MCU.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct room_info_t {
    /// Room id, decimal.
    pub m_strRoomID: [c_char; 64],
    /// Room name.
    pub m_strRoomName: [c_char; 32],
    /// Creator's user id, decimal ("" when unknown).
    pub m_strCreatorID: [c_char; 32],
    /// Start time, Unix seconds (0 = unset).
    pub m_tStartTime: time_t,
    /// End time, Unix seconds (0 = unset).
    pub m_tEndTime: time_t,
    /// Maximum number of users.
    pub m_s32MaxUserCnt: c_int,
    /// Current number of users.
    pub m_s32CurUserCnt: c_int,
}

/// A user in the room.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct user_info_t {
    /// 1 master, 0 listener.
    pub m_u8IsMaster: c_uchar,
    /// 1 chair.
    pub m_u8IsChairMan: c_uchar,
    /// 1 while the video is broadcast (everyone may pull it).
    pub m_u8BcastVideo: c_uchar,
    /// 1 while the audio is broadcast (everyone may pull it).
    pub m_u8BcastAudio: c_uchar,
    /// `m_u8GainAux[i]` is 1 while the user holds aux slot i.
    pub m_u8GainAux: [c_uchar; CONFERENCE_AUX_MAX],
    /// Signal status (strength), 0..5.
    pub m_u8SignalStatus: c_uchar,
    /// User id, decimal.
    pub m_strID: [c_char; 32],
    /// User name.
    pub m_strUserName: [c_char; 32],
    /// Nickname.
    pub m_strNickName: [c_char; 32],
    /// May we pull this user's video: 0 no, 1 request pending, 2 yes.
    pub m_u8AuthVideo: c_uchar,
    /// May we pull this user's audio: 0 no, 1 request pending, 2 yes.
    pub m_u8AuthAudio: c_uchar,
    /// 0 silent, 1 hand raised, 2 talking.
    pub m_u8AudioState: c_uchar,
}

/// The callback table given to `init`; any pointer may be NULL.
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct conference_event_handler_t {
    /// Chat messages (also reported as `CONFERENCE_STATE_USER_CHAT`).
    pub on_conference_chat: Option<unsafe extern "C" fn(pchat_info: *const conference_chat_info_t)>,
    /// Every conference event; see SPEC §4 for `puser_info` and `append_data`.
    pub on_conference_state: Option<
        unsafe extern "C" fn(
            result: result_code_e,
            conference_state_id: conference_state_e,
            puser_info: *const user_info_t,
            append_data: *mut c_void,
        ),
    >,
    /// Media frames; `user_id` is `CONFERENCE_MIXER_USER_ID` for the mixed audio.
    pub on_conference_stream_data: Option<
        unsafe extern "C" fn(
            pmedia_info: *const media_info_t,
            pdata: *const c_char,
            data_len: c_int,
            user_id: c_int,
            media_type: conference_media_type_e,
        ),
    >,
}

/// Output format of the audio mixer.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct audio_mixer_props_t {
    /// Sample rate: 8000, 16000, 32000, 44100 or 48000.
    pub m_i32Sample: c_int,
    /// Channels: 1 or 2.
    pub m_i32Channel: c_int,
    /// Bits per sample: 16 or 32.
    pub m_i32SampleBit: c_int,
}

/// `append_data` of `CONFERENCE_STATE_TRANSPARENT` (SPEC §1).
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct transparent_data_info_t {
    /// Sender.
    pub m_i32SrcID: c_int,
    /// 0 binary, 1 string.
    pub m_i32DataType: c_int,
    /// Length in bytes (the NUL that follows the data is not counted).
    pub m_i32DataLen: c_int,
    /// The data, followed by one NUL byte.
    pub m_pData: *const c_char,
}

/// `append_data` of `CONFERENCE_STATE_LOOKED` (SPEC §1).
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct looked_info_t {
    /// Who looks.
    pub m_i32ViewerID: c_int,
    /// Which stream.
    pub m_eMediaType: media_type_value,
    /// 1 starts looking, 0 stops.
    pub m_i32Ctrl: c_int,
}

/// A `conference_media_type_e` as a plain `int`, for values read from C or from the wire.
/// The header prints it as `conference_media_type_e` (cbindgen.toml `[export.rename]`).
pub type media_type_value = c_int;

/// An `invite_type_e` as a plain `int` (read from C, validated before use).
/// The header prints it as `invite_type_e`.
pub type invite_type_value = c_int;

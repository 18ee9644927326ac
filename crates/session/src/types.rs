//! The plain values of the API: users, rooms and event payloads as the application sees them,
//! and the small enums of the calls' arguments. Wire messages (`conference_proto::pb`) become
//! these in `convert.rs`, so a change to `conference.proto` stops at this crate.

use bytes::Bytes;

/// A user of the room (`user_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub id: u32,
    pub username: String,
    pub nickname: String,
    pub is_master: bool,
    pub is_chair: bool,
    pub bcast_video: bool,
    pub bcast_audio: bool,
    /// Bit i set while the user holds aux slot i.
    pub aux_slots: u32,
    /// 0 (no signal) .. 5 (excellent).
    pub signal_status: u32,
    pub auth_video: u32,
    pub auth_audio: u32,
    /// 0 silent, 1 hand raised, 2 talking.
    pub audio_state: u32,
}

/// A room of the MCU's list (`room_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoomInfo {
    pub id: u32,
    pub name: String,
    pub creator_id: u32,
    /// Unix seconds, 0 = unset.
    pub start_time: i64,
    pub end_time: i64,
    pub max_users: u32,
    pub cur_users: u32,
}

/// LOOKED: who started or stopped watching which stream of ours (`looked_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LookedInfo {
    pub viewer_id: u32,
    /// `conference_media_type_e`.
    pub media_type: u32,
    /// 1 start, 0 stop.
    pub ctrl: u32,
}

/// USER_CHAT (`conference_chat_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChatInfo {
    pub src_id: u32,
    pub dst_id: u32,
    pub color: i32,
    pub content: Bytes,
}

/// TRANSPARENT (`transparent_data_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransparentInfo {
    pub src_id: u32,
    pub data_type: u32,
    pub data: Bytes,
}

/// USER_AUX (`aux_stream_state_info_t`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuxInfo {
    pub user_id: u32,
    /// 0 failed/released, 1 granted.
    pub response: u32,
    /// `conference_media_type_e` of the slot.
    pub media_type: u32,
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

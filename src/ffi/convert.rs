//! Conversions between core values and the C structs (SPEC §2): strings are UTF-8, always
//! NUL-terminated, truncated on a character boundary; ids are decimal strings; numbers that
//! do not fit their C field saturate.

use std::ffi::{c_char, c_int, c_uchar};

use conference_session::{
    AuxInfo, ChatInfo, LookedInfo, MediaHeader, MediaType, RoomInfo, StateId, UserInfo,
};

use super::types::{
    CONFERENCE_AUX_MAX, aux_stream_state_info_t, conference_chat_info_t, conference_media_type_e,
    conference_state_e, looked_info_t, media_info_t, room_info_t, time_t, user_info_t,
};

/// Copies `src` into `dst` as a C string: at most `dst.len() - 1` bytes, cut before a UTF-8
/// continuation byte so no character is split, then NUL-filled.
pub fn copy_str(dst: &mut [c_char], src: &[u8]) {
    let Some(capacity) = dst.len().checked_sub(1) else {
        return;
    };
    let mut len = src.len().min(capacity);
    // Back off while the first dropped byte continues the character before it.
    while len > 0 && len < src.len() && src[len] & 0xC0 == 0x80 {
        len -= 1;
    }
    for (d, &s) in dst.iter_mut().zip(&src[..len]) {
        *d = s as c_char;
    }
    dst[len..].fill(0);
}

/// An id as its decimal string; 0 (unset) as "".
pub fn copy_id(dst: &mut [c_char], id: u32) {
    if id == 0 {
        copy_str(dst, b"");
    } else {
        copy_str(dst, id.to_string().as_bytes());
    }
}

/// `u32` into `int`, saturating.
pub fn c_int_of(value: u32) -> c_int {
    c_int::try_from(value).unwrap_or(c_int::MAX)
}

/// A count into `int`, saturating.
pub fn count(value: usize) -> c_int {
    c_int::try_from(value).unwrap_or(c_int::MAX)
}

fn c_uchar_of(value: u32) -> c_uchar {
    c_uchar::try_from(value).unwrap_or(c_uchar::MAX)
}

pub fn user_info(user: &UserInfo) -> user_info_t {
    let mut out = user_info_t {
        m_u8IsMaster: user.is_master.into(),
        m_u8IsChairMan: user.is_chair.into(),
        m_u8BcastVideo: user.bcast_video.into(),
        m_u8BcastAudio: user.bcast_audio.into(),
        m_u8GainAux: [0; CONFERENCE_AUX_MAX],
        m_u8SignalStatus: c_uchar_of(user.signal_status),
        m_strID: [0; 32],
        m_strUserName: [0; 32],
        m_strNickName: [0; 32],
        m_u8AuthVideo: c_uchar_of(user.auth_video),
        m_u8AuthAudio: c_uchar_of(user.auth_audio),
        m_u8AudioState: c_uchar_of(user.audio_state),
    };
    for (slot, gain) in out.m_u8GainAux.iter_mut().enumerate() {
        *gain = ((user.aux_slots >> slot) & 1) as c_uchar;
    }
    copy_id(&mut out.m_strID, user.id);
    copy_str(&mut out.m_strUserName, user.username.as_bytes());
    copy_str(&mut out.m_strNickName, user.nickname.as_bytes());
    out
}

/// Unix seconds as the target's `time_t`.
#[cfg(not(time_t_32))]
fn time_of(seconds: i64) -> time_t {
    seconds
}

/// Unix seconds as a 32-bit `time_t`: saturated beyond it (after January 2038).
#[cfg(time_t_32)]
fn time_of(seconds: i64) -> time_t {
    seconds.clamp(time_t::MIN.into(), time_t::MAX.into()) as time_t
}

pub fn room_info(room: &RoomInfo) -> room_info_t {
    let mut out = room_info_t {
        m_strRoomID: [0; 64],
        m_strRoomName: [0; 32],
        m_strCreatorID: [0; 32],
        m_tStartTime: time_of(room.start_time),
        m_tEndTime: time_of(room.end_time),
        m_s32MaxUserCnt: c_int_of(room.max_users),
        m_s32CurUserCnt: c_int_of(room.cur_users),
    };
    copy_id(&mut out.m_strRoomID, room.id);
    copy_str(&mut out.m_strRoomName, room.name.as_bytes());
    copy_id(&mut out.m_strCreatorID, room.creator_id);
    out
}

pub fn chat_info(chat: &ChatInfo) -> conference_chat_info_t {
    let mut out = conference_chat_info_t {
        m_i32SrcID: c_int_of(chat.src_id),
        m_i32DstID: c_int_of(chat.dst_id),
        m_i32Color: chat.color,
        m_strContent: [0; 128],
    };
    copy_str(&mut out.m_strContent, &chat.content);
    out
}

pub fn looked_info(looked: &LookedInfo) -> looked_info_t {
    looked_info_t {
        m_i32ViewerID: c_int_of(looked.viewer_id),
        m_eMediaType: c_int_of(looked.media_type),
        m_i32Ctrl: c_int_of(looked.ctrl),
    }
}

pub fn aux_info(aux: &AuxInfo) -> aux_stream_state_info_t {
    aux_stream_state_info_t {
        m_i32UserID: c_int_of(aux.user_id),
        m_i32ResponseState: c_int_of(aux.response),
        m_eMediaType: c_int_of(aux.media_type),
    }
}

pub fn media_info(header: &MediaHeader) -> media_info_t {
    media_info_t {
        m_u16MediaType: header.media_type,
        m_u16CodecID: header.codec_id,
        m_u16FrameSeq: header.frame_seq,
        m_u16KeyFrame: header.key_frame,
        m_u16Framerate: header.framerate,
        m_u16StreamID: header.stream_id,
        m_u32W_S: header.width_or_rate,
        m_u32H_C: header.height_or_channels,
        m_u32Bitrate: header.bitrate,
        m_u64TimeStamp: header.timestamp,
    }
}

/// The header `send_stream` hands to the core: `media_info_t` kept exactly.
pub fn media_header(info: &media_info_t, media_type: MediaType) -> MediaHeader {
    MediaHeader {
        sender_id: 0,
        stream_type: media_type as u8,
        media_type: info.m_u16MediaType,
        codec_id: info.m_u16CodecID,
        frame_seq: info.m_u16FrameSeq,
        key_frame: info.m_u16KeyFrame,
        framerate: info.m_u16Framerate,
        stream_id: info.m_u16StreamID,
        width_or_rate: info.m_u32W_S,
        height_or_channels: info.m_u32H_C,
        bitrate: info.m_u32Bitrate,
        timestamp: info.m_u64TimeStamp,
    }
}

pub fn media_type(media_type: MediaType) -> conference_media_type_e {
    match media_type {
        MediaType::Audio => conference_media_type_e::CONFERENCE_MEDIA_TYPE_AUDIO,
        MediaType::VideoMajor => conference_media_type_e::CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR,
        MediaType::VideoMinor => conference_media_type_e::CONFERENCE_MEDIA_TYPE_VIDEO_MINOR,
        MediaType::VideoMinor2 => conference_media_type_e::CONFERENCE_MEDIA_TYPE_VIDEO_MINOR2,
    }
}

pub fn state(state: StateId) -> conference_state_e {
    use conference_state_e::*;
    match state {
        StateId::LoginMcu => CONFERENCE_STATE_LOGIN_MCU,
        StateId::LoginRoom => CONFERENCE_STATE_LOGIN_ROOM,
        StateId::UserEnter => CONFERENCE_STATE_USER_ENTER,
        StateId::UserLeave => CONFERENCE_STATE_USER_LEAVE,
        StateId::RoomExit => CONFERENCE_STATE_ROOM_EXIT,
        StateId::UserTalk => CONFERENCE_STATE_USER_TALK,
        StateId::UserBcast => CONFERENCE_STATE_USER_BCAST,
        StateId::UserChair => CONFERENCE_STATE_USER_CHAIR,
        StateId::Looked => CONFERENCE_STATE_LOOKED,
        StateId::UserClose => CONFERENCE_STATE_USER_CLOSE,
        StateId::UserReqTalk => CONFERENCE_STATE_USER_REQTALK,
        StateId::ConnectMcuFailed => CONFERENCE_STATE_CONNECT_MCU_FAILED,
        StateId::LoginRoomFailed => CONFERENCE_STATE_LOGIN_ROOM_FAILED,
        StateId::UserKicked => CONFERENCE_STATE_USER_KICKED,
        StateId::UserVpos => CONFERENCE_STATE_USER_VPOS,
        StateId::UpdateInteract => CONFERENCE_STATE_UPDATE_INTERACT,
        StateId::UserChat => CONFERENCE_STATE_USER_CHAT,
        StateId::UserVnc => CONFERENCE_STATE_USER_VNC,
        StateId::NickName => CONFERENCE_STATE_NICK_NAME,
        StateId::RecvJoin => CONFERENCE_STATE_RECV_JOIN,
        StateId::RecvInvite => CONFERENCE_STATE_RECV_INVITE,
        StateId::RejectJoin => CONFERENCE_STATE_REJECT_JOIN,
        StateId::AllowJoin => CONFERENCE_STATE_ALLOW_JOIN,
        StateId::RejectInvite => CONFERENCE_STATE_REJECT_INVITE,
        StateId::AllowInvite => CONFERENCE_STATE_ALLOW_INVITE,
        StateId::Transparent => CONFERENCE_STATE_TRANSPARENT,
        StateId::UserAux => CONFERENCE_STATE_USER_AUX,
    }
}

/// The text of a C string field, for tests and logs.
#[cfg(test)]
pub fn text_of(field: &[c_char]) -> &[u8] {
    let len = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    // SAFETY: c_char and u8 have the same size and alignment.
    unsafe { std::slice::from_raw_parts(field.as_ptr().cast::<u8>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_truncated_on_a_character_boundary_and_terminated() {
        let mut dst = [0x55 as c_char; 8];
        copy_str(&mut dst, b"abc");
        assert_eq!(text_of(&dst), b"abc");
        assert!(dst[3..].iter().all(|&c| c == 0));

        copy_str(&mut dst, b"abcdefghij");
        assert_eq!(text_of(&dst), b"abcdefg");
        assert_eq!(dst[7], 0);

        // "ab" + three 3-byte characters: 7 bytes fit, which would split the second one.
        let text = "ab中文字".as_bytes();
        copy_str(&mut dst, text);
        assert_eq!(text_of(&dst), "ab中".as_bytes());

        // Exactly fits (7 bytes + NUL).
        copy_str(&mut dst, "a中文".as_bytes());
        assert_eq!(text_of(&dst), "a中文".as_bytes());

        // A 4-byte character right at the cut is dropped whole.
        copy_str(&mut dst, "abcde😀".as_bytes());
        assert_eq!(text_of(&dst), b"abcde");

        let mut empty: [c_char; 0] = [];
        copy_str(&mut empty, b"x");
        let mut one = [7 as c_char; 1];
        copy_str(&mut one, b"x");
        assert_eq!(one, [0]);
    }

    #[test]
    fn user_info_fields_are_converted() {
        let user = UserInfo {
            id: 1234,
            username: "teacher".into(),
            nickname: "一二三四五六七八九十一".into(), // 33 bytes: cut to 30
            is_master: true,
            is_chair: false,
            bcast_video: true,
            bcast_audio: false,
            aux_slots: 0b10,
            signal_status: 4,
            auth_video: 2,
            auth_audio: 1,
            audio_state: 2,
        };
        let c = user_info(&user);
        assert_eq!(text_of(&c.m_strID), b"1234");
        assert_eq!(text_of(&c.m_strUserName), b"teacher");
        assert_eq!(text_of(&c.m_strNickName), "一二三四五六七八九十".as_bytes());
        assert_eq!(c.m_strNickName[30], 0);
        assert_eq!(
            (
                c.m_u8IsMaster,
                c.m_u8IsChairMan,
                c.m_u8BcastVideo,
                c.m_u8BcastAudio
            ),
            (1, 0, 1, 0)
        );
        assert_eq!(c.m_u8GainAux, [0, 1]);
        assert_eq!(c.m_u8SignalStatus, 4);
        assert_eq!(
            (c.m_u8AuthVideo, c.m_u8AuthAudio, c.m_u8AudioState),
            (2, 1, 2)
        );

        let all_aux = user_info(&UserInfo {
            aux_slots: 0b111,
            signal_status: 300,
            ..user
        });
        assert_eq!(all_aux.m_u8GainAux, [1, 1]);
        assert_eq!(all_aux.m_u8SignalStatus, 255);
    }

    #[test]
    fn room_info_fields_are_converted() {
        let room = RoomInfo {
            id: 42,
            name: "Physics 101".into(),
            creator_id: 0,
            start_time: 1_700_000_000,
            end_time: -1,
            max_users: 30,
            cur_users: u32::MAX,
        };
        let c = room_info(&room);
        assert_eq!(text_of(&c.m_strRoomID), b"42");
        assert_eq!(text_of(&c.m_strRoomName), b"Physics 101");
        assert_eq!(text_of(&c.m_strCreatorID), b"");
        assert_eq!((c.m_tStartTime, c.m_tEndTime), (1_700_000_000, -1));
        assert_eq!((c.m_s32MaxUserCnt, c.m_s32CurUserCnt), (30, c_int::MAX));
        let max = room_info(&RoomInfo {
            id: u32::MAX,
            creator_id: 7,
            ..room
        });
        assert_eq!(text_of(&max.m_strRoomID), b"4294967295");
        assert_eq!(text_of(&max.m_strCreatorID), b"7");
    }

    #[test]
    fn chat_content_keeps_127_bytes() {
        let chat = ChatInfo {
            src_id: 3,
            dst_id: 0,
            color: 0xff0000,
            content: vec![b'x'; 200].into(),
        };
        let c = chat_info(&chat);
        assert_eq!((c.m_i32SrcID, c.m_i32DstID, c.m_i32Color), (3, 0, 0xff0000));
        assert_eq!(text_of(&c.m_strContent).len(), 127);
        assert_eq!(c.m_strContent[127], 0);
    }

    #[test]
    fn media_header_round_trips_through_media_info() {
        let info = media_info_t {
            m_u16MediaType: 1,
            m_u16CodecID: 3,
            m_u16FrameSeq: 0x0103,
            m_u16KeyFrame: 1,
            m_u16Framerate: 25,
            m_u16StreamID: 9,
            m_u32W_S: 1280,
            m_u32H_C: 720,
            m_u32Bitrate: 2048,
            m_u64TimeStamp: u64::MAX,
        };
        let header = media_header(&info, MediaType::VideoMajor);
        assert_eq!(header.stream_type, 2);
        assert_eq!(header.sender_id, 0);
        assert_eq!(media_info(&header), info);
    }

    #[test]
    fn every_state_id_maps_to_the_same_number() {
        for id in 1..=27 {
            let state_id = StateId::from_u32(id).expect("ids 1..=27 exist");
            assert_eq!(state(state_id) as u32, id);
        }
        for media in MediaType::ALL {
            assert_eq!(media_type(media) as u32, media as u32);
        }
    }
}

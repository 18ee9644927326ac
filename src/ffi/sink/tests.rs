//! `CallbackSink::deliver` driven directly, with real C-ABI callbacks that record what a C
//! application would see (decoding `append_data` by event id, as SPEC §4 tells it to).

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void};

use bytes::Bytes;
use conference_session::{
    AuxInfo, ChatInfo, ErrorCode, LookedInfo, MediaHeader, MediaType, RoomInfo, StateId,
    TransparentInfo, UserInfo,
};

use super::*;
use crate::ffi::convert::text_of;
use crate::ffi::types::{conference_media_type_e, conference_state_e, media_info_t, result_code_e};

thread_local! {
    static RECORDS: RefCell<Vec<Record>> = const { RefCell::new(Vec::new()) };
}

#[derive(Debug, Clone, PartialEq)]
enum Appended {
    Null,
    Int(c_int),
    Room(room_info_t),
    Chat(conference_chat_info_t),
    Looked(looked_info_t),
    Aux(aux_stream_state_info_t),
    /// src, type, len, the bytes including the one after the data.
    Transparent(c_int, c_int, c_int, Vec<u8>),
    /// A non-NULL append_data for an event that has none.
    Unexpected(u32),
}

#[derive(Debug, Clone, PartialEq)]
enum Record {
    State {
        result: u32,
        state: u32,
        user: Option<user_info_t>,
        append: Appended,
    },
    Chat(conference_chat_info_t),
    Stream {
        info: media_info_t,
        data: Vec<u8>,
        user_id: c_int,
        media_type: u32,
    },
}

fn push(record: Record) {
    RECORDS.with(|records| records.borrow_mut().push(record));
}

fn take() -> Vec<Record> {
    RECORDS.with(|records| std::mem::take(&mut *records.borrow_mut()))
}

unsafe extern "C" fn on_state(
    result: result_code_e,
    state: conference_state_e,
    puser_info: *const user_info_t,
    append_data: *mut c_void,
) {
    use conference_state_e::*;
    let user = unsafe { puser_info.as_ref() }.copied();
    let append = if append_data.is_null() {
        Appended::Null
    } else {
        unsafe {
            match state {
                CONFERENCE_STATE_LOGIN_MCU
                | CONFERENCE_STATE_USER_VPOS
                | CONFERENCE_STATE_RECV_JOIN
                | CONFERENCE_STATE_RECV_INVITE => Appended::Int(*append_data.cast::<c_int>()),
                CONFERENCE_STATE_LOGIN_ROOM => Appended::Room(*append_data.cast()),
                CONFERENCE_STATE_USER_CHAT => Appended::Chat(*append_data.cast()),
                CONFERENCE_STATE_LOOKED => Appended::Looked(*append_data.cast()),
                CONFERENCE_STATE_USER_AUX => Appended::Aux(*append_data.cast()),
                CONFERENCE_STATE_TRANSPARENT => {
                    let info = &*append_data.cast::<transparent_data_info_t>();
                    let len = usize::try_from(info.m_i32DataLen).expect("non-negative") + 1;
                    let data = std::slice::from_raw_parts(info.m_pData.cast::<u8>(), len);
                    Appended::Transparent(
                        info.m_i32SrcID,
                        info.m_i32DataType,
                        info.m_i32DataLen,
                        data.to_vec(),
                    )
                }
                // append_data must be NULL for every other event.
                other => Appended::Unexpected(other as u32),
            }
        }
    };
    push(Record::State {
        result: result as u32,
        state: state as u32,
        user,
        append,
    });
}

unsafe extern "C" fn on_chat(pchat_info: *const conference_chat_info_t) {
    push(Record::Chat(unsafe { *pchat_info }));
}

unsafe extern "C" fn on_stream(
    pmedia_info: *const media_info_t,
    pdata: *const c_char,
    data_len: c_int,
    user_id: c_int,
    media_type: conference_media_type_e,
) {
    let len = usize::try_from(data_len).expect("non-negative");
    let data = unsafe { std::slice::from_raw_parts(pdata.cast::<u8>(), len) }.to_vec();
    push(Record::Stream {
        info: unsafe { *pmedia_info },
        data,
        user_id,
        media_type: media_type as u32,
    });
}

fn full_handler() -> conference_event_handler_t {
    conference_event_handler_t {
        on_conference_chat: Some(on_chat),
        on_conference_state: Some(on_state),
        on_conference_stream_data: Some(on_stream),
    }
}

fn sink(handler: conference_event_handler_t) -> (CallbackSink, Arc<AtomicBool>) {
    let alive = Arc::new(AtomicBool::new(true));
    (CallbackSink::new(handler, alive.clone()), alive)
}

/// `result` as the wire number, to check it reaches the callback unchanged.
fn state(state: StateId, result: u32, user: Option<UserInfo>, extra: EventExtra) -> Event {
    Event::State(StateEvent {
        state,
        result: ErrorCode::check(result),
        user,
        extra,
    })
}

fn user(id: u32, name: &str) -> UserInfo {
    UserInfo {
        id,
        username: name.into(),
        nickname: format!("nick {name}"),
        aux_slots: 0b01,
        audio_state: 1,
        ..UserInfo::default()
    }
}

fn only_state(records: Vec<Record>) -> (u32, u32, Option<user_info_t>, Appended) {
    match records.as_slice() {
        [
            Record::State {
                result,
                state,
                user,
                append,
            },
        ] => (*result, *state, *user, append.clone()),
        other => panic!("expected one state callback, got {other:?}"),
    }
}

#[test]
fn login_mcu_carries_the_room_count_and_no_user() {
    let (mut sink, _) = sink(full_handler());
    sink.deliver(state(StateId::LoginMcu, 0, None, EventExtra::RoomCount(3)));
    assert_eq!(only_state(take()), (0, 1, None, Appended::Int(3)));
}

#[test]
fn failures_carry_their_code_and_unknown_codes_become_unknow() {
    let (mut sink, _) = sink(full_handler());
    sink.deliver(state(
        StateId::ConnectMcuFailed,
        106,
        None,
        EventExtra::None,
    ));
    assert_eq!(only_state(take()), (106, 12, None, Appended::Null));
    sink.deliver(state(StateId::UserClose, 0x7777, None, EventExtra::None));
    assert_eq!(only_state(take()), (1000, 10, None, Appended::Null));
    sink.deliver(state(StateId::RoomExit, 0x10029, None, EventExtra::None));
    assert_eq!(only_state(take()).0, 0x10029);
}

#[test]
fn login_room_carries_own_user_and_room() {
    let (mut sink, _) = sink(full_handler());
    let room = RoomInfo {
        id: 7,
        name: "Room 7".into(),
        creator_id: 1,
        start_time: 100,
        end_time: 200,
        max_users: 16,
        cur_users: 2,
    };
    sink.deliver(state(
        StateId::LoginRoom,
        0,
        Some(user(12, "alice")),
        EventExtra::Room(room),
    ));
    let (result, id, user, append) = only_state(take());
    assert_eq!((result, id), (0, 2));
    let user = user.expect("own user");
    assert_eq!(text_of(&user.m_strID), b"12");
    assert_eq!(text_of(&user.m_strUserName), b"alice");
    assert_eq!(text_of(&user.m_strNickName), b"nick alice");
    assert_eq!(user.m_u8GainAux, [1, 0]);
    assert_eq!(user.m_u8AudioState, 1);
    let Appended::Room(room) = append else {
        panic!("room_info_t expected, got {append:?}")
    };
    assert_eq!(text_of(&room.m_strRoomID), b"7");
    assert_eq!(text_of(&room.m_strRoomName), b"Room 7");
    assert_eq!(text_of(&room.m_strCreatorID), b"1");
    assert_eq!((room.m_tStartTime, room.m_tEndTime), (100, 200));
    assert_eq!((room.m_s32MaxUserCnt, room.m_s32CurUserCnt), (16, 2));
}

#[test]
fn chat_goes_to_both_callbacks_state_first() {
    let (mut sink, _) = sink(full_handler());
    let chat = ChatInfo {
        src_id: 5,
        dst_id: 0,
        color: 255,
        content: Bytes::from_static("你好, class".as_bytes()),
    };
    sink.deliver(state(
        StateId::UserChat,
        0,
        Some(user(5, "bob")),
        EventExtra::Chat(chat),
    ));
    let records = take();
    let [
        Record::State {
            state: 17,
            append: Appended::Chat(in_state),
            user: Some(sender),
            ..
        },
        Record::Chat(in_chat),
    ] = records.as_slice()
    else {
        panic!("state then chat expected, got {records:?}")
    };
    assert_eq!(in_state, in_chat);
    assert_eq!(text_of(&sender.m_strID), b"5");
    assert_eq!(
        (in_chat.m_i32SrcID, in_chat.m_i32DstID, in_chat.m_i32Color),
        (5, 0, 255)
    );
    assert_eq!(text_of(&in_chat.m_strContent), "你好, class".as_bytes());
}

#[test]
fn transparent_data_is_followed_by_a_nul_not_counted() {
    let (mut sink, _) = sink(full_handler());
    let info = TransparentInfo {
        src_id: 9,
        data_type: 0,
        data: Bytes::from_static(b"a\0bc"),
    };
    sink.deliver(state(
        StateId::Transparent,
        0,
        Some(user(9, "carol")),
        EventExtra::Transparent(info),
    ));
    let (_, id, _, append) = only_state(take());
    assert_eq!(id, 26);
    assert_eq!(append, Appended::Transparent(9, 0, 4, b"a\0bc\0".to_vec()));

    let empty = TransparentInfo {
        src_id: 9,
        data_type: 1,
        data: Bytes::new(),
    };
    sink.deliver(state(
        StateId::Transparent,
        0,
        None,
        EventExtra::Transparent(empty),
    ));
    assert_eq!(
        only_state(take()).3,
        Appended::Transparent(9, 1, 0, b"\0".to_vec())
    );
}

#[test]
fn small_append_structs_are_filled() {
    let (mut sink, _) = sink(full_handler());
    sink.deliver(state(
        StateId::RecvInvite,
        0,
        Some(user(3, "dave")),
        EventExtra::InviteType(InviteType::Audio),
    ));
    assert_eq!(only_state(take()).3, Appended::Int(1));
    sink.deliver(state(
        StateId::RecvJoin,
        0,
        Some(user(3, "dave")),
        EventExtra::InviteType(InviteType::Video),
    ));
    assert_eq!(only_state(take()).3, Appended::Int(0));
    sink.deliver(state(
        StateId::Looked,
        0,
        Some(user(1, "me")),
        EventExtra::Looked(LookedInfo {
            viewer_id: 4,
            media_type: 2,
            ctrl: 1,
        }),
    ));
    assert_eq!(
        only_state(take()).3,
        Appended::Looked(looked_info_t {
            m_i32ViewerID: 4,
            m_eMediaType: 2,
            m_i32Ctrl: 1
        })
    );
    sink.deliver(state(
        StateId::UserAux,
        0,
        Some(user(4, "erin")),
        EventExtra::Aux(AuxInfo {
            user_id: 4,
            response: 1,
            media_type: 4,
        }),
    ));
    assert_eq!(
        only_state(take()).3,
        Appended::Aux(aux_stream_state_info_t {
            m_i32UserID: 4,
            m_i32ResponseState: 1,
            m_eMediaType: 4
        })
    );
    sink.deliver(state(
        StateId::UserVpos,
        0,
        Some(user(4, "erin")),
        EventExtra::Position(5),
    ));
    assert_eq!(only_state(take()).3, Appended::Int(5));
    sink.deliver(state(StateId::UpdateInteract, 0, None, EventExtra::None));
    assert_eq!(only_state(take()), (0, 16, None, Appended::Null));
}

#[test]
fn media_reaches_the_stream_callback_unchanged() {
    let (mut sink, _) = sink(full_handler());
    let header = MediaHeader {
        sender_id: 8,
        stream_type: 1,
        media_type: 0,
        codec_id: 0,
        frame_seq: 3,
        key_frame: 16,
        framerate: 20,
        stream_id: 2,
        width_or_rate: 48000,
        height_or_channels: 2,
        bitrate: 0,
        timestamp: 123_456,
    };
    sink.deliver(Event::Media(MediaEvent {
        header,
        payload: Bytes::from_static(&[1, 2, 3, 4]),
        user_id: -1,
        media_type: MediaType::Audio,
    }));
    let records = take();
    let [
        Record::Stream {
            info,
            data,
            user_id,
            media_type,
        },
    ] = records.as_slice()
    else {
        panic!("one stream callback expected, got {records:?}")
    };
    assert_eq!(*info, convert::media_info(&header));
    assert_eq!(info.m_u64TimeStamp, 123_456);
    assert_eq!(data, &[1, 2, 3, 4]);
    assert_eq!((*user_id, *media_type), (-1, 1));
}

#[test]
fn null_callbacks_are_skipped() {
    let (mut sink, _) = sink(conference_event_handler_t::default());
    sink.deliver(state(
        StateId::UserChat,
        0,
        None,
        EventExtra::Chat(ChatInfo::default()),
    ));
    sink.deliver(Event::Media(MediaEvent {
        header: MediaHeader::default(),
        payload: Bytes::new(),
        user_id: 2,
        media_type: MediaType::VideoMajor,
    }));
    assert!(take().is_empty());

    let only_chat = conference_event_handler_t {
        on_conference_chat: Some(on_chat),
        ..conference_event_handler_t::default()
    };
    let (mut sink, _) = super::tests::sink(only_chat);
    sink.deliver(state(
        StateId::UserChat,
        0,
        None,
        EventExtra::Chat(ChatInfo::default()),
    ));
    assert!(matches!(take().as_slice(), [Record::Chat(_)]));
}

#[test]
fn nothing_is_called_after_uninit_began() {
    let (mut sink, alive) = sink(full_handler());
    alive.store(false, Ordering::Release);
    sink.deliver(state(StateId::LoginMcu, 0, None, EventExtra::RoomCount(1)));
    sink.deliver(Event::Media(MediaEvent {
        header: MediaHeader::default(),
        payload: Bytes::from_static(b"x"),
        user_id: 2,
        media_type: MediaType::VideoMajor,
    }));
    assert!(take().is_empty());
}

#[test]
fn a_panic_inside_a_conversion_is_caught_and_delivery_goes_on() {
    let (mut sink, _) = sink(full_handler());
    // What `deliver` runs each event in, with a conversion that panics.
    contain_panic(|| panic!("provoked panic inside an event conversion"));
    assert!(take().is_empty());
    sink.deliver(state(StateId::LoginMcu, 0, None, EventExtra::RoomCount(2)));
    assert_eq!(only_state(take()).3, Appended::Int(2));
}

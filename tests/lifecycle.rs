//! Lifecycle and argument rules of SPEC §3, through the Rust view of the exported functions
//! (the rlib): every function before `init` and after `uninit`, every bad argument, and the
//! order of the checks (lifecycle, then arguments, then the core's state answer).

use std::ffi::{c_char, c_int};
use std::ptr;

use conference_sdk::*;
use parking_lot::Mutex;

use ret_code_e::*;

/// The instance is process-wide: tests in this binary take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn handler() -> conference_event_handler_t {
    conference_event_handler_t::default()
}

fn mixer(rate: c_int, channels: c_int, bits: c_int) -> audio_mixer_props_t {
    audio_mixer_props_t {
        m_i32Sample: rate,
        m_i32Channel: channels,
        m_i32SampleBit: bits,
    }
}

fn fresh_init() {
    let _ = uninit();
    assert_eq!(unsafe { init(ptr::null(), &handler()) }, retCode_Success);
}

fn chat(text: &[u8], dst: c_int) -> conference_chat_info_t {
    let mut chat = conference_chat_info_t {
        m_i32SrcID: 0,
        m_i32DstID: dst,
        m_i32Color: 0,
        m_strContent: [0; 128],
    };
    for (d, &s) in chat.m_strContent.iter_mut().zip(text) {
        *d = s as c_char;
    }
    chat
}

/// Calls every function except `init`/`uninit` with valid arguments; returns the results.
fn call_everything() -> Vec<(&'static str, ret_code_e)> {
    let mut count = 0;
    let mut room = unsafe { std::mem::zeroed::<room_info_t>() };
    let mut user = unsafe { std::mem::zeroed::<user_info_t>() };
    let message = chat(b"hi", 0);
    let media = media_info_t::default();
    let data = [1 as c_char; 8];
    let invite_audio = intvite_type_e::INVITE_TYPE_AUDIO as c_int;
    let video = conference_media_type_e::CONFERENCE_MEDIA_TYPE_VIDEO_MAJOR as c_int;
    unsafe {
        vec![
            (
                "connect_MCU",
                connect_MCU(c"127.0.0.1".as_ptr(), 6870, c"u".as_ptr(), c"p".as_ptr()),
            ),
            ("disconnect_MCU", disconnect_MCU()),
            (
                "get_conference_room_count",
                get_conference_room_count(&mut count),
            ),
            (
                "get_conference_room_info",
                get_conference_room_info(0, &mut room),
            ),
            ("login_conference_room", login_conference_room(1)),
            ("logout_conference_room", logout_conference_room()),
            ("kickout_conference_room", kickout_conference_room(2)),
            ("invite", invite(2, invite_audio, 1)),
            ("ctrl_user_invite", ctrl_user_invite(2, 1)),
            ("get_own_user_info", get_own_user_info(&mut user)),
            ("get_user_count", get_user_count(&mut count)),
            ("get_user_info", get_user_info(2, &mut user)),
            ("send_chat", send_chat(&message)),
            ("apply_for_master", apply_for_master(1)),
            ("apply_for_talk", apply_for_talk(1)),
            ("apply_for_aux", apply_for_aux(1)),
            ("ctrl_user_talk_apply", ctrl_user_talk_apply(2, 1)),
            ("auth_audio", auth_audio(2, 3, 1)),
            ("auth_video", auth_video(2, 3, 1)),
            ("check_user_video", check_user_video(2, 1)),
            ("check_user_audio", check_user_audio(2, 1)),
            ("bcast_user_video", bcast_user_video(2, 1)),
            ("bcast_user_audio", bcast_user_audio(2, 1)),
            ("set_interact", set_interact(2)),
            ("send_stream", send_stream(&media, data.as_ptr(), 8, video)),
            ("recv_stream", recv_stream(2, video, 1)),
            (
                "send_transparent_data",
                send_transparent_data(0, data.as_ptr(), 8, 0),
            ),
        ]
    }
}

#[test]
fn every_call_before_init_and_after_uninit_is_init_err() {
    let _serial = SERIAL.lock();
    let _ = uninit();
    assert_eq!(uninit(), retCode_InitErr);
    for (name, code) in call_everything() {
        assert_eq!(code, retCode_InitErr, "{name} before init");
    }
    fresh_init();
    assert_eq!(uninit(), retCode_Success);
    assert_eq!(uninit(), retCode_InitErr, "second uninit");
    for (name, code) in call_everything() {
        assert_eq!(code, retCode_InitErr, "{name} after uninit");
    }
}

#[test]
fn lifecycle_is_checked_before_arguments() {
    let _serial = SERIAL.lock();
    let _ = uninit();
    unsafe {
        assert_eq!(get_user_count(ptr::null_mut()), retCode_InitErr);
        assert_eq!(send_chat(ptr::null()), retCode_InitErr);
        assert_eq!(
            connect_MCU(ptr::null(), 0, ptr::null(), ptr::null()),
            retCode_InitErr
        );
        assert_eq!(invite(-1, 99, 7), retCode_InitErr);
    }
    fresh_init();
    // And `init` checks "already initialised" before its arguments.
    assert_eq!(unsafe { init(ptr::null(), ptr::null()) }, retCode_InitedErr);
    let bad = mixer(1, 1, 1);
    assert_eq!(unsafe { init(&bad, &handler()) }, retCode_InitedErr);
    assert_eq!(uninit(), retCode_Success);
}

#[test]
fn init_twice_and_init_after_uninit() {
    let _serial = SERIAL.lock();
    let _ = uninit();
    let h = handler();
    for _cycle in 0..3 {
        assert_eq!(unsafe { init(ptr::null(), &h) }, retCode_Success);
        assert_eq!(unsafe { init(ptr::null(), &h) }, retCode_InitedErr);
        assert_eq!(uninit(), retCode_Success);
    }
    let good = mixer(48000, 2, 16);
    assert_eq!(unsafe { init(&good, &h) }, retCode_Success);
    assert_eq!(uninit(), retCode_Success);
}

#[test]
fn init_checks_the_mixer_format_and_the_handler() {
    let _serial = SERIAL.lock();
    let _ = uninit();
    let h = handler();
    for (rate, channels, bits) in [
        (44100, 3, 16),
        (22050, 1, 16),
        (48000, 0, 16),
        (48000, 2, 8),
        (48000, 2, 24),
        (-1, -1, -1),
    ] {
        let props = mixer(rate, channels, bits);
        assert_eq!(
            unsafe { init(&props, &h) },
            retCode_ParamErr,
            "{rate} Hz, {channels} ch, {bits} bit"
        );
        // A refused init leaves the library uninitialised.
        assert_eq!(uninit(), retCode_InitErr);
    }
    for rate in [8000, 16000, 32000, 44100, 48000] {
        for channels in [1, 2] {
            for bits in [16, 32] {
                let props = mixer(rate, channels, bits);
                assert_eq!(unsafe { init(&props, &h) }, retCode_Success);
                assert_eq!(uninit(), retCode_Success);
            }
        }
    }
    assert_eq!(unsafe { init(ptr::null(), ptr::null()) }, retCode_ParamErr);
    assert_eq!(uninit(), retCode_InitErr);
}

#[test]
fn calls_that_need_the_mcu_say_not_logged_in() {
    let _serial = SERIAL.lock();
    fresh_init();
    for (name, code) in call_everything() {
        if name == "connect_MCU" {
            continue; // needs a server: covered by tests/vendor_app.rs and the MCU tests
        }
        assert_eq!(code, retCode_NotLoginErr, "{name} before connect_MCU");
    }
    // A room is a listed id or a position (0 is the first room): any value waits for the
    // login, a negative one too.
    for room in [0, 7, -5] {
        assert_eq!(
            login_conference_room(room),
            retCode_NotLoginErr,
            "room {room}"
        );
    }
    // Nothing is written on failure.
    let mut count: c_int = -7;
    assert_eq!(unsafe { get_user_count(&mut count) }, retCode_NotLoginErr);
    assert_eq!(count, -7);
    assert_eq!(uninit(), retCode_Success);
}

#[test]
fn bad_arguments_are_param_err() {
    let _serial = SERIAL.lock();
    fresh_init();
    let media = media_info_t::default();
    let data = [0 as c_char; 4];
    let audio = conference_media_type_e::CONFERENCE_MEDIA_TYPE_AUDIO as c_int;
    let video = intvite_type_e::INVITE_TYPE_VIDEO as c_int;
    let long_host = [b'a' as c_char; 300];
    let mut long_host = long_host.to_vec();
    long_host.push(0);
    let not_utf8 = [0xff_u8 as c_char, 0];
    let unterminated = {
        let mut c = chat(b"", 0);
        c.m_strContent = [b'x' as c_char; 128];
        c
    };
    let bad_utf8 = chat(&[0xc3], 0);
    let negative_dst = chat(b"hi", -1);
    let max_transparent = vec![0 as c_char; 65_537];
    let cases: Vec<(&str, ret_code_e)> = unsafe {
        vec![
            (
                "connect_MCU NULL address",
                connect_MCU(ptr::null(), 1, c"u".as_ptr(), c"p".as_ptr()),
            ),
            (
                "connect_MCU NULL user",
                connect_MCU(c"h".as_ptr(), 1, ptr::null(), c"p".as_ptr()),
            ),
            (
                "connect_MCU NULL password",
                connect_MCU(c"h".as_ptr(), 1, c"u".as_ptr(), ptr::null()),
            ),
            (
                "connect_MCU long address",
                connect_MCU(long_host.as_ptr(), 1, c"u".as_ptr(), c"p".as_ptr()),
            ),
            (
                "connect_MCU bad UTF-8",
                connect_MCU(c"h".as_ptr(), 1, not_utf8.as_ptr(), c"p".as_ptr()),
            ),
            (
                "get_conference_room_count NULL",
                get_conference_room_count(ptr::null_mut()),
            ),
            (
                "get_conference_room_info NULL",
                get_conference_room_info(0, ptr::null_mut()),
            ),
            (
                "get_conference_room_info -1",
                get_conference_room_info(-1, &mut std::mem::zeroed()),
            ),
            ("kickout_conference_room 0", kickout_conference_room(0)),
            ("invite user 0", invite(0, video, 1)),
            ("invite type 2", invite(2, 2, 1)),
            ("invite type -1", invite(2, -1, 1)),
            ("invite ctrl 2", invite(2, video, 2)),
            ("ctrl_user_invite user -1", ctrl_user_invite(-1, 1)),
            ("ctrl_user_invite ctrl 5", ctrl_user_invite(2, 5)),
            ("get_own_user_info NULL", get_own_user_info(ptr::null_mut())),
            ("get_user_count NULL", get_user_count(ptr::null_mut())),
            ("get_user_info NULL", get_user_info(2, ptr::null_mut())),
            (
                // 0 is a position (the first user); a negative value neither id nor position.
                "get_user_info user -1",
                get_user_info(-1, &mut std::mem::zeroed()),
            ),
            ("send_chat NULL", send_chat(ptr::null())),
            ("send_chat no NUL", send_chat(&unterminated)),
            ("send_chat bad UTF-8", send_chat(&bad_utf8)),
            ("send_chat negative dst", send_chat(&negative_dst)),
            ("apply_for_master 2", apply_for_master(2)),
            ("apply_for_talk -1", apply_for_talk(-1)),
            ("apply_for_aux 3", apply_for_aux(3)),
            ("ctrl_user_talk_apply user 0", ctrl_user_talk_apply(0, 1)),
            ("ctrl_user_talk_apply ctrl 2", ctrl_user_talk_apply(2, 2)),
            ("auth_audio src 0", auth_audio(0, 3, 1)),
            ("auth_audio dst -1", auth_audio(2, -1, 1)),
            ("auth_video ctrl 9", auth_video(2, 3, 9)),
            ("check_user_video user 0", check_user_video(0, 1)),
            ("check_user_audio ctrl -1", check_user_audio(2, -1)),
            ("bcast_user_video ctrl 2", bcast_user_video(2, 2)),
            ("bcast_user_audio user -2", bcast_user_audio(-2, 1)),
            ("set_interact -1", set_interact(-1)),
            (
                "send_stream NULL info",
                send_stream(ptr::null(), data.as_ptr(), 4, audio),
            ),
            (
                "send_stream NULL data",
                send_stream(&media, ptr::null(), 4, audio),
            ),
            (
                "send_stream empty",
                send_stream(&media, data.as_ptr(), 0, audio),
            ),
            (
                "send_stream negative",
                send_stream(&media, data.as_ptr(), -4, audio),
            ),
            (
                "send_stream type 0",
                send_stream(&media, data.as_ptr(), 4, 0),
            ),
            (
                "send_stream type 5",
                send_stream(&media, data.as_ptr(), 4, 5),
            ),
            (
                "send_stream too long",
                send_stream(&media, data.as_ptr(), c_int::MAX, audio),
            ),
            ("recv_stream user 0", recv_stream(0, audio, 1)),
            ("recv_stream type 9", recv_stream(2, 9, 1)),
            ("recv_stream ctrl 2", recv_stream(2, audio, 2)),
            (
                "send_transparent_data NULL",
                send_transparent_data(0, ptr::null(), 0, 0),
            ),
            (
                "send_transparent_data negative len",
                send_transparent_data(0, data.as_ptr(), -1, 0),
            ),
            (
                "send_transparent_data 64 KiB + 1",
                send_transparent_data(0, max_transparent.as_ptr(), 65_537, 0),
            ),
            (
                "send_transparent_data type 2",
                send_transparent_data(0, data.as_ptr(), 4, 2),
            ),
            (
                "send_transparent_data user -1",
                send_transparent_data(-1, data.as_ptr(), 4, 1),
            ),
        ]
    };
    for (case, code) in cases {
        assert_eq!(code, retCode_ParamErr, "{case}");
    }
    unsafe {
        for port in [0, -1, 65_536, c_int::MAX] {
            assert_eq!(
                connect_MCU(c"127.0.0.1".as_ptr(), port, c"u".as_ptr(), c"p".as_ptr()),
                retCode_PortErr,
                "port {port}"
            );
        }
        assert_eq!(
            connect_MCU(c"".as_ptr(), 6870, c"u".as_ptr(), c"p".as_ptr()),
            retCode_AddrErr
        );
        // The limits themselves are accepted (the core then answers: not connected).
        assert_eq!(
            send_transparent_data(0, max_transparent.as_ptr(), 65_536, 0),
            retCode_NotLoginErr
        );
        assert_eq!(
            send_transparent_data(0, data.as_ptr(), 0, 1),
            retCode_NotLoginErr
        );
        let full = chat(&[b'y'; 127], 0);
        assert_eq!(send_chat(&full), retCode_NotLoginErr);
    }
    assert_eq!(uninit(), retCode_Success);
}

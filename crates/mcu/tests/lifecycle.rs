//! Hostile clients and shutdown, against the real MCU process.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use conference_proto::frame::FrameKind;
use conference_proto::frame::put_frame_header;
use conference_proto::message::StateId;
use conference_proto::pb::{self, client_message::Body};
use conference_proto::{ErrorCode, MediaType};
use conference_testkit::client::{TestClient, media_header};

#[test]
fn garbage_spewers_are_cut_off_while_the_room_goes_on() {
    let mcu = mcu();
    let mut teacher = enter(&mcu, "teacher");
    teacher.call(bcast_video(1));
    let mut listener = enter(&mcu, "class1");
    assert_eq!(listener.call(subscribe(1, MediaType::VideoMajor, true)), 0);
    let mut spewer = enter(&mcu, "class2");
    listener.drain_events(QUIET);

    // Pseudo-random bytes, starting with an impossible length.
    let mut x: u32 = 0xdead_beef;
    let garbage: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8 | 0x80
        })
        .collect();
    spewer.raw().send_bytes(&garbage);
    assert_eq!(
        spewer.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::MsgErr))
    );
    assert_eq!(
        listener.expect_event(StateId::UserLeave).user.unwrap().id,
        3
    );

    // A spewer that never stops is cut off too (its writes start failing).
    let mut raw = TcpStream::connect(mcu.addr).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut written = 0usize;
    while Instant::now() < deadline && written < 512 * 1024 * 1024 {
        match raw.write(&garbage) {
            Ok(n) => written += n,
            Err(_) => break,
        }
    }
    assert!(
        Instant::now() < deadline,
        "the MCU never closed the spewing connection"
    );

    // A well-framed control message that is not protobuf.
    let mut bad = TestClient::connect(mcu.addr);
    let mut frame = Vec::new();
    put_frame_header(&mut frame, FrameKind::Control, 3);
    frame.extend_from_slice(&[0xff, 0xff, 0xff]);
    bad.raw().send_bytes(&frame);
    assert_eq!(
        bad.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::MsgErr))
    );

    // The room carries on: media and chat still flow.
    teacher.send_media(
        &media_header(MediaType::VideoMajor, 3, true, 9),
        b"still here",
    );
    let media = listener.next_media(Duration::from_secs(5)).unwrap();
    assert_eq!(&media.payload[..], b"still here");
    let chat = Body::Chat(pb::Chat {
        dst_id: 0,
        color: 0,
        content: "ok".into(),
    });
    assert_eq!(teacher.call(chat), 0);
    listener.expect_event(StateId::UserChat);
}

#[test]
fn oversized_frames_close_the_connection() {
    let mcu = mcu();
    let mut client = enter(&mcu, "class1");
    let mut header = Vec::new();
    put_frame_header(&mut header, FrameKind::Control, 256 * 1024);
    client.raw().send_bytes(&header);
    assert_eq!(
        client.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::MsgErr))
    );
    let mut client = enter(&mcu, "class2");
    let mut header = Vec::new();
    put_frame_header(&mut header, FrameKind::Media, 20);
    client.raw().send_bytes(&header);
    client.raw().send_bytes(&[0; 20]);
    assert_eq!(
        client.wait_closed(Duration::from_secs(5)),
        Some(code(ErrorCode::MsgErr)),
        "media body shorter than its header"
    );
}

#[test]
fn sigterm_tells_everyone_and_exits_cleanly() {
    let mut mcu = mcu();
    let mut a = enter(&mcu, "class1");
    let mut b = enter(&mcu, "class2");
    let (mut lobby, _) = TestClient::login(mcu.addr, "class3", "class3");
    a.drain_events(QUIET);
    let status = mcu
        .terminate(Duration::from_secs(10))
        .expect("the MCU exits");
    assert!(status.success(), "exit status {status:?}");
    let stopped = code(ErrorCode::ServerStoped);
    for client in [&mut a, &mut b] {
        let exit = client.expect_event(StateId::RoomExit);
        assert_eq!(exit.result, stopped);
        assert_eq!(client.wait_closed(Duration::from_secs(5)), Some(stopped));
    }
    assert_eq!(lobby.wait_closed(Duration::from_secs(5)), Some(stopped));
}

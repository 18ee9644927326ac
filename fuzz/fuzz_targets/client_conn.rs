//! A malicious or broken MCU against `ClientConn`: whatever the bytes, the state machine must
//! not panic, must not buffer beyond the frame caps, and must end in a consistent state (the
//! SDK survives a hostile MCU as the MCU survives a hostile client).
//!
//! The first byte picks the state the bytes arrive in: during the login, or after a real
//! login played by this target (SCRAM server side included). The rest is split into reads at
//! the offsets of the following bytes, with a timeout check between reads.
#![no_main]

use std::time::{Duration, Instant};

use conference_proto::client::{ClientConn, ClientEvent, Timing};
use conference_proto::frame::{FrameBuffer, encode_control};
use conference_proto::login::LoginParams;
use conference_proto::message::decode_client;
use conference_proto::pb::{self, client_message::Body, server_message};
use conference_proto::scram::{ChannelBinding, ClientHello, ServerFirst, Verifier};
use libfuzzer_sys::fuzz_target;

fn sent(conn: &mut ClientConn) -> Vec<(u32, Body)> {
    let mut out = Vec::new();
    while let Some(frame) = conn.poll_transmit() {
        let mut buf = FrameBuffer::new(1024, 1024);
        buf.extend(&frame);
        let frame = buf.next_frame().unwrap().unwrap();
        out.push(decode_client(&frame).unwrap());
    }
    out
}

fn respond(conn: &mut ClientConn, id: u32, result: pb::response::Result, now: Instant) {
    let message = pb::ServerMessage::of(server_message::Body::Response(pb::Response {
        request_id: id,
        code: 0,
        result: Some(result),
    }));
    conn.handle_input(&encode_control(&message), now);
}

/// A connection after a real login (iteration count 1: the fuzzer's time goes to the bytes),
/// resumable or not: hostile bytes then also drive suspensions, reconnects and resumes.
fn logged_in(t0: Instant, resumable: bool) -> ClientConn {
    let params = LoginParams {
        resumable,
        ..LoginParams::new("fuzz", "teacher", "pencil")
    };
    let mut conn = ClientConn::new(&params, Timing::default(), t0);
    let (id, Body::Hello(hello)) = sent(&mut conn).remove(0) else {
        unreachable!()
    };
    let first = ClientHello::parse(&hello.scram_first).unwrap();
    let (server, scram_first) = ServerFirst::start(first, Verifier::generate("pencil", 1));
    let challenge = pb::Challenge {
        scram_first,
        ..Default::default()
    };
    respond(&mut conn, id, pb::response::Result::Challenge(challenge), t0);
    let (id, Body::Authenticate(auth)) = sent(&mut conn).remove(0) else {
        unreachable!()
    };
    let scram_final = server.finish(&auth.scram_final, ChannelBinding::None).unwrap();
    let login = pb::LoginResult {
        heartbeat_ms: 1000,
        scram_final,
        resume_token: if resumable { vec![1; 16].into() } else { Default::default() },
        resume_window_ms: 60_000,
        ..Default::default()
    };
    respond(&mut conn, id, pb::response::Result::Login(login), t0);
    assert!(conn.is_ready());
    conn
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    let mut conn = if mode & 1 == 0 {
        ClientConn::new(&LoginParams::new("fuzz", "teacher", "pencil"), Timing::default(), t0)
    } else {
        let mut conn = logged_in(t0, mode & 2 != 0);
        let _ = conn.request(Body::LeaveRoom(pb::LeaveRoom {}), t0);
        conn
    };
    let mut now = t0;
    let mut closed = false;
    // Reads of 1..=64 bytes, their sizes taken from the data itself.
    let mut offset = 0;
    while offset < rest.len() {
        let len = 1 + usize::from(rest[offset] % 64);
        let end = (offset + len).min(rest.len());
        conn.handle_input(&rest[offset..end], now);
        offset = end;
        now += Duration::from_millis(u64::from(mode >> 1) * 50);
        conn.handle_timeout(now);
        while conn.poll_transmit().is_some() {}
        while let Some(event) = conn.poll_event() {
            assert!(!closed, "nothing after Closed");
            match event {
                ClientEvent::Closed(_) => closed = true,
                // The next bytes are the new link's.
                ClientEvent::Connect => conn.resume_link(ChannelBinding::None, now),
                _ => {}
            }
        }
        if let Some(deadline) = conn.poll_timeout() {
            assert!(!closed);
            assert!(deadline >= t0);
        }
    }
    assert_eq!(closed, conn.is_closed());
});

//! The room core driven by arbitrary request sequences from eight logged-in connections:
//! no input may panic it, and every request gets exactly one response.
#![no_main]

use std::time::{Duration, Instant};

use bytes::BytesMut;
use conference_mcu::config::{Account, Config, RoomSpec};
use conference_mcu::room::{Core, Input, Limits, Now, Output};
use conference_proto::frame::decode_frame;
use conference_proto::message::decode_client;
use conference_proto::pb;
use libfuzzer_sys::fuzz_target;

fn config() -> Config {
    Config {
        admin: Default::default(),
        tls: Default::default(),
        login: Default::default(),
        server_name: "fuzz".into(),
        heartbeat_ms: 1000,
        max_connections: 100,
        resume_window_ms: 2000,
        cluster: Default::default(),
        accounts: (1..=8)
            .map(|id| Account {
                id,
                username: format!("u{id}"),
                nickname: format!("u{id}"),
                password_hash: String::new(),
                chair: id == 1,
            })
            .collect(),
        rooms: vec![
            RoomSpec {
                id: 1,
                name: "a".into(),
                creator_id: 1,
                start_time: 0,
                end_time: 0,
                max_users: 6,
            },
            RoomSpec {
                id: 2,
                name: "b".into(),
                creator_id: 1,
                start_time: 0,
                end_time: 2,
                max_users: 3,
            },
        ],
    }
}

fuzz_target!(|data: &[u8]| {
    let mut core = Core::new(&config(), Limits::default());
    let start = Instant::now();
    let mut now = Now {
        mono: start,
        unix: 1,
    };
    let mut out = Vec::new();
    for conn in 1..=8u64 {
        core.handle(
            now,
            Input::Login {
                conn,
                request_id: 1,
                user: conn as u32,
                stream_demand: conn % 2 == 0,
                scram_final: String::new(),
                resume: None,
            },
            &mut out,
        );
    }
    // Each step: a selector byte, then (for requests) one control frame.
    let mut buf = BytesMut::from(data);
    while buf.len() >= 2 {
        let selector = buf[0];
        let _ = bytes::Buf::advance(&mut buf, 1);
        let conn = u64::from(selector % 8) + 1;
        now.mono = start + Duration::from_millis(u64::from(selector) * 37);
        now.unix = i64::from(selector / 64);
        out.clear();
        match selector >> 5 {
            0 => {
                // The core answers when its next own work is due, whatever its state.
                let _ = core.poll_timeout(now);
                core.handle(now, Input::Tick, &mut out)
            }
            // Links end, sessions are suspended and come back (the window is 2 s).
            1 => {
                let input = match selector & 3 {
                    0 | 1 => Input::Disconnected { conn },
                    2 => Input::Suspended { conn },
                    _ => Input::Resumed { conn },
                };
                core.handle(now, input, &mut out)
            }
            2 => core.handle(
                now,
                Input::Login {
                    conn,
                    request_id: 9,
                    user: conn as u32,
                    stream_demand: true,
                    scram_final: String::new(),
                    resume: None,
                },
                &mut out,
            ),
            3 => core.handle(
                now,
                Input::Signal {
                    conn,
                    status: selector,
                },
                &mut out,
            ),
            _ => {
                let Ok(Some(frame)) = decode_frame(&mut buf) else {
                    return;
                };
                let Ok((request_id, body)) = decode_client(&frame) else {
                    continue;
                };
                if matches!(
                    body,
                    pb::client_message::Body::Pong(_) | pb::client_message::Body::Goodbye(_)
                ) {
                    continue;
                }
                let held_before = core.held_responses(conn);
                core.handle(
                    now,
                    Input::Request {
                        conn,
                        request_id,
                        body,
                    },
                    &mut out,
                );
                let held_after = core.held_responses(conn);
                let responses = out
                    .iter()
                    .filter(|o| match o {
                        Output::Send { conn: c, frame } => {
                            *c == conn && {
                                let mut b = BytesMut::from(&frame[..]);
                                let raw = decode_frame(&mut b)
                                    .ok()
                                    .flatten()
                                    .expect("own frames decode");
                                matches!(
                                    conference_proto::message::decode_server(&raw),
                                    Ok(pb::server_message::Body::Response(_))
                                )
                            }
                        }
                        _ => false,
                    })
                    .count();
                // A connection logged out by an earlier Disconnected gets no response; an answer
                // may be held until a sender acknowledges its StreamDemand, and held answers
                // may be released by any request: each request is answered at most once.
                assert!(responses + held_after <= 1 + held_before);
            }
        }
    }
    core.handle(now, Input::Shutdown, &mut out);
});

//! `ClientConn` with simulated time: no socket, no process, no sleep. The MCU's side is played
//! by this file (the real SCRAM server functions), `now` is a base instant plus offsets.

use std::time::{Duration, Instant};

use bytes::Bytes;
use conference_proto::client::{ClientConn, ClientEvent, Timing};
use conference_proto::frame::encode_control;
use conference_proto::login::LoginParams;
use conference_proto::message::decode_client;
use conference_proto::pb::{self, client_message::Body, server_message};
use conference_proto::scram::{ChannelBinding, ClientHello, ServerFirst, Verifier};
use conference_proto::{ErrorCode, FrameBuffer};

const TIMEOUT: Duration = Duration::from_secs(5);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The MCU's end of one connection, driven by hand.
struct Mcu {
    t0: Instant,
    conn: ClientConn,
    /// What the client transmitted, decoded.
    sent: Vec<(u32, Body)>,
    events: Vec<ClientEvent>,
}

impl Mcu {
    fn new() -> Mcu {
        let t0 = Instant::now();
        let params = LoginParams {
            stream_demand: true,
            ..LoginParams::new("test", "teacher", "pencil")
        };
        let conn = ClientConn::new(
            &params,
            Timing {
                request_timeout: TIMEOUT,
            },
            t0,
        );
        let mut mcu = Mcu {
            t0,
            conn,
            sent: Vec::new(),
            events: Vec::new(),
        };
        mcu.pump();
        mcu
    }

    fn at(&self, offset: Duration) -> Instant {
        self.t0 + offset
    }

    /// Collects what the client transmits and emits.
    fn pump(&mut self) {
        while let Some(frame) = self.conn.poll_transmit() {
            let mut buf = FrameBuffer::new(1024, 1024);
            buf.extend(&frame);
            let frame = buf.next_frame().unwrap().unwrap();
            self.sent.push(decode_client(&frame).unwrap());
        }
        while let Some(event) = self.conn.poll_event() {
            if let ClientEvent::StreamDemand { seq, .. } = event {
                self.conn.demand_applied(seq);
            }
            self.events.push(event);
        }
        while let Some(frame) = self.conn.poll_transmit() {
            let mut buf = FrameBuffer::new(1024, 1024);
            buf.extend(&frame);
            let frame = buf.next_frame().unwrap().unwrap();
            self.sent.push(decode_client(&frame).unwrap());
        }
    }

    fn send(&mut self, body: server_message::Body, offset: Duration) {
        let frame = encode_control(&pb::ServerMessage::of(body));
        self.conn.handle_input(&frame, self.at(offset));
        self.pump();
    }

    fn respond(&mut self, id: u32, code: ErrorCode, offset: Duration) {
        let response = pb::ServerMessage::response(id, code.code(), None);
        self.conn
            .handle_input(&encode_control(&response), self.at(offset));
        self.pump();
    }

    fn timeout(&mut self, offset: Duration) {
        self.conn.handle_timeout(self.at(offset));
        self.pump();
    }

    fn last_sent(&self) -> &(u32, Body) {
        self.sent.last().expect("something sent")
    }

    /// Plays the MCU's side of a good login (heartbeat 1 s) at `offset`.
    fn log_in(&mut self, offset: Duration) {
        let (hello_id, Body::Hello(hello)) = self.sent[0].clone() else {
            panic!("Hello first: {:?}", self.sent);
        };
        assert!(hello.stream_demand);
        let client_first = ClientHello::parse(&hello.scram_first).unwrap();
        let verifier = Verifier::generate("pencil", 4096);
        let (server, scram_first) = ServerFirst::start(client_first, verifier);
        self.send(challenge_body(hello_id, scram_first), offset);
        let (auth_id, Body::Authenticate(auth)) = self.last_sent().clone() else {
            panic!("Authenticate second");
        };
        let scram_final = server
            .finish(&auth.scram_final, ChannelBinding::None)
            .unwrap();
        let login = pb::LoginResult {
            user_id: 7,
            heartbeat_ms: 1000,
            stream_demand: true,
            scram_final,
            ..Default::default()
        };
        self.send(
            server_message::Body::Response(pb::Response {
                request_id: auth_id,
                code: 0,
                result: Some(pb::response::Result::Login(login)),
            }),
            offset,
        );
        assert!(
            matches!(self.events.last(), Some(ClientEvent::LoggedIn(l)) if l.user_id == 7),
            "{:?}",
            self.events
        );
        assert!(self.conn.is_ready());
        self.events.clear();
    }

    fn closed_with(&self) -> Option<ErrorCode> {
        self.events.iter().find_map(|e| match e {
            ClientEvent::Closed(code) => Some(*code),
            _ => None,
        })
    }
}

fn challenge_body(id: u32, scram_first: String) -> server_message::Body {
    server_message::Body::Response(pb::Response {
        request_id: id,
        code: 0,
        result: Some(pb::response::Result::Challenge(pb::Challenge {
            scram_first,
            ..Default::default()
        })),
    })
}

fn bye(code: ErrorCode) -> server_message::Body {
    server_message::Body::Bye(pb::Bye { code: code.code() })
}

#[test]
fn a_login_completes_in_two_round_trips() {
    let mut mcu = Mcu::new();
    assert_eq!(mcu.sent.len(), 1, "only the Hello before any answer");
    mcu.log_in(ms(10));
    assert!(matches!(mcu.sent[1].1, Body::Authenticate(_)));
    assert_eq!(mcu.conn.heartbeat(), Duration::from_secs(1));
}

#[test]
fn handshake_refusals_end_with_their_code() {
    // A refused version or a refused proof: the code, then nothing.
    for (step, code) in [
        (0, ErrorCode::ServerMismatch),
        (1, ErrorCode::UserPasswordErr),
    ] {
        let mut mcu = Mcu::new();
        if step == 1 {
            let (id, Body::Hello(hello)) = mcu.sent[0].clone() else {
                unreachable!()
            };
            let first = ClientHello::parse(&hello.scram_first).unwrap();
            let (_, scram_first) = ServerFirst::start(first, Verifier::generate("x", 4096));
            mcu.send(challenge_body(id, scram_first), ms(1));
        }
        let id = mcu.last_sent().0;
        mcu.respond(id, code, ms(2));
        assert_eq!(mcu.closed_with(), Some(code));
        assert!(mcu.conn.is_closed());
        assert_eq!(mcu.conn.poll_timeout(), None);
    }
    // An MCU that does not hold the account's verifier (wrong signature).
    let mut mcu = Mcu::new();
    let (id, Body::Hello(hello)) = mcu.sent[0].clone() else {
        unreachable!()
    };
    let first = ClientHello::parse(&hello.scram_first).unwrap();
    let (_, scram_first) = ServerFirst::start(first, Verifier::generate("pencil", 4096));
    mcu.send(challenge_body(id, scram_first), ms(1));
    let auth_id = mcu.last_sent().0;
    mcu.send(
        server_message::Body::Response(pb::Response {
            request_id: auth_id,
            code: 0,
            result: Some(pb::response::Result::Login(pb::LoginResult {
                scram_final: "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
                ..Default::default()
            })),
        }),
        ms(2),
    );
    assert_eq!(mcu.closed_with(), Some(ErrorCode::ErrorAuthFailed));
    // A response to something else, an event before the login: a broken MCU.
    let mut mcu = Mcu::new();
    mcu.respond(99, ErrorCode::False, ms(1));
    assert_eq!(mcu.closed_with(), Some(ErrorCode::MsgErr));
    let mut mcu = Mcu::new();
    mcu.send(server_message::Body::Event(pb::Event::default()), ms(1));
    assert_eq!(mcu.closed_with(), Some(ErrorCode::MsgErr));
}

#[test]
fn a_silent_login_times_out_exactly_at_its_deadline() {
    let mut mcu = Mcu::new();
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(TIMEOUT)));
    mcu.timeout(TIMEOUT - ms(1));
    assert_eq!(mcu.closed_with(), None);
    mcu.timeout(TIMEOUT);
    assert_eq!(mcu.closed_with(), Some(ErrorCode::Timeout));
}

#[test]
fn requests_time_out_at_their_deadline_and_late_answers_are_dropped() {
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    let join = mcu
        .conn
        .request(Body::JoinRoom(pb::JoinRoom { room_id: 1 }), mcu.at(ms(100)))
        .unwrap();
    let leave = mcu
        .conn
        .request(Body::LeaveRoom(pb::LeaveRoom {}), mcu.at(ms(200)))
        .unwrap();
    mcu.pump();
    assert_ne!(join, leave);
    assert_eq!(mcu.sent.last().unwrap().0, leave);
    // Keep the link alive with pings; the requests stay unanswered.
    for t in (1000u32..=5000).step_by(1000) {
        mcu.send(
            server_message::Body::Ping(pb::Ping {
                nonce: t,
                heartbeat_ms: 1000,
                ..Default::default()
            }),
            ms(u64::from(t)),
        );
    }
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(ms(5100))));
    mcu.timeout(ms(5099));
    assert!(
        !mcu.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Response { .. }))
    );
    mcu.timeout(ms(5100));
    assert!(matches!(
        mcu.events.as_slice(),
        [.., ClientEvent::Response { id, answer: Err(ErrorCode::Timeout) }] if *id == join
    ));
    mcu.respond(join, ErrorCode::False, ms(5150));
    mcu.respond(leave, ErrorCode::StateErr, ms(5150));
    let answers: Vec<_> = mcu
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Response { id, answer } => {
                Some((*id, answer.as_ref().map(|r| r.code).map_err(|e| *e)))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        vec![
            (join, Err(ErrorCode::Timeout)),
            (leave, Ok(ErrorCode::StateErr.code()))
        ],
        "the late answer to the timed-out request is dropped"
    );
    // Every ping was answered with its nonce.
    let pongs: Vec<u32> = mcu
        .sent
        .iter()
        .filter_map(|(_, b)| match b {
            Body::Pong(p) => Some(p.nonce),
            _ => None,
        })
        .collect();
    assert_eq!(pongs, vec![1000, 2000, 3000, 4000, 5000]);
}

#[test]
fn a_silent_mcu_is_declared_dead_at_exactly_three_heartbeats() {
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    mcu.send(
        server_message::Body::Ping(pb::Ping {
            nonce: 1,
            heartbeat_ms: 1000,
            ..Default::default()
        }),
        ms(700),
    );
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(ms(3700))));
    mcu.timeout(ms(3699));
    assert_eq!(mcu.closed_with(), None);
    mcu.timeout(ms(3700));
    assert_eq!(mcu.closed_with(), Some(ErrorCode::NetworkException));
    // A hostile interval is bounded: 1 ms is read as 50 ms.
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    mcu.send(
        server_message::Body::Ping(pb::Ping {
            nonce: 1,
            heartbeat_ms: 1,
            ..Default::default()
        }),
        ms(10),
    );
    assert_eq!(mcu.conn.heartbeat(), ms(50));
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(ms(160))));
}

#[test]
fn a_bye_in_every_state_ends_the_connection_with_its_code() {
    // Before the challenge, after it, and logged in with requests in flight.
    for stage in 0..3 {
        let mut mcu = Mcu::new();
        if stage >= 1 {
            let (id, Body::Hello(hello)) = mcu.sent[0].clone() else {
                unreachable!()
            };
            let first = ClientHello::parse(&hello.scram_first).unwrap();
            let (_, scram_first) = ServerFirst::start(first, Verifier::generate("x", 4096));
            mcu.send(challenge_body(id, scram_first), ms(1));
        }
        let mut in_flight = None;
        if stage == 2 {
            mcu = Mcu::new();
            mcu.log_in(ms(0));
            in_flight = Some(
                mcu.conn
                    .request(Body::ApplyTalk(pb::ApplyTalk { on: true }), mcu.at(ms(1)))
                    .unwrap(),
            );
        }
        mcu.send(bye(ErrorCode::ServerStoped), ms(2));
        assert_eq!(
            mcu.closed_with(),
            Some(ErrorCode::ServerStoped),
            "stage {stage}"
        );
        if let Some(id) = in_flight {
            assert!(matches!(
                mcu.events[0],
                ClientEvent::Response { id: i, answer: Err(ErrorCode::NetworkException) } if i == id
            ));
        }
        // Nothing after the close: input is ignored, requests refused.
        let before = mcu.events.len();
        mcu.send(bye(ErrorCode::KickOut), ms(3));
        assert_eq!(mcu.events.len(), before);
        assert_eq!(
            mcu.conn
                .request(Body::LeaveRoom(pb::LeaveRoom {}), mcu.at(ms(4))),
            Err(ErrorCode::NotLoginErr)
        );
    }
    // A Bye with code 0 still closes (as a network exception).
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    mcu.send(server_message::Body::Bye(pb::Bye { code: 0 }), ms(1));
    assert_eq!(mcu.closed_with(), Some(ErrorCode::NetworkException));
}

#[test]
fn closing_locally_says_goodbye_and_fails_requests_with_not_login() {
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    let id = mcu
        .conn
        .request(Body::LeaveRoom(pb::LeaveRoom {}), mcu.at(ms(1)))
        .unwrap();
    mcu.conn.close();
    mcu.pump();
    assert!(matches!(mcu.last_sent(), (0, Body::Goodbye(_))));
    assert!(matches!(
        mcu.events.as_slice(),
        [ClientEvent::Response { id: i, answer: Err(ErrorCode::NotLoginErr) }, ClientEvent::Closed(ErrorCode::NotLoginErr)] if *i == id
    ));
}

#[test]
fn stream_demand_is_reported_then_acknowledged_in_order() {
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    for (seq, watched) in [(1, 0b10), (2, 0b110), (3, 0)] {
        mcu.send(
            server_message::Body::StreamDemand(pb::StreamDemand { seq, watched }),
            ms(u64::from(seq)),
        );
    }
    let demands: Vec<u32> = mcu
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::StreamDemand { watched, .. } => Some(*watched),
            _ => None,
        })
        .collect();
    assert_eq!(demands, vec![0b10, 0b110, 0]);
    let acks: Vec<u32> = mcu
        .sent
        .iter()
        .filter_map(|(id, b)| match b {
            Body::DemandAck(a) => {
                assert_eq!(*id, 0, "no response expected");
                Some(a.seq)
            }
            _ => None,
        })
        .collect();
    assert_eq!(acks, vec![1, 2, 3]);
}

#[test]
fn garbage_from_the_mcu_closes_the_link_without_buffering_it() {
    for garbage in [
        &[0, 0, 0, 0, 1][..],             // zero length
        &[0, 0, 0, 5, 9, 1, 2, 3, 4][..], // unknown kind
        &[0x7f, 0xff, 0xff, 0xff, 1][..], // 2 GiB control frame
        &[0, 0, 0, 3, 1, 0xff, 0xff][..], // not a protobuf message
    ] {
        let mut mcu = Mcu::new();
        mcu.log_in(ms(0));
        mcu.conn.handle_input(garbage, mcu.at(ms(1)));
        mcu.pump();
        assert_eq!(
            mcu.closed_with(),
            Some(ErrorCode::NetworkException),
            "{garbage:?}"
        );
    }
    // A media frame that is not media is skipped; the link stays up.
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    mcu.conn.handle_input(&[0, 0, 0, 3, 2, 1, 2], mcu.at(ms(1)));
    mcu.pump();
    assert_eq!(mcu.closed_with(), None);
    let _ = Bytes::new();
}

#[test]
fn an_empty_read_does_not_count_as_life() {
    let mut mcu = Mcu::new();
    mcu.log_in(ms(0));
    mcu.conn.handle_input(&[], mcu.at(ms(2500)));
    let buf = mcu.conn.take_read_buffer();
    let spare = buf.capacity() - buf.len();
    mcu.conn.handle_read_buffer(buf, 0, spare, mcu.at(ms(2900)));
    mcu.timeout(ms(3000));
    assert_eq!(mcu.closed_with(), Some(ErrorCode::NetworkException));
}

//! A resumable `ClientConn` across link cuts, with simulated time (docs/PROTOCOL.md §8): the
//! MCU's side is played here with the real SCRAM and resume functions; `now` is a base instant
//! plus offsets. No socket, no process, no sleep.

use std::time::{Duration, Instant};

use conference_proto::ErrorCode;
use conference_proto::client::{BACKOFF_CAP, ClientConn, ClientEvent, Timing};
use conference_proto::frame::{FrameBuffer, decode_control, encode_control};
use conference_proto::login::LoginParams;
use conference_proto::pb::{self, client_message::Body, server_message};
use conference_proto::resume::{self, stamp_seq};
use conference_proto::scram::{ChannelBinding, ClientHello, ServerFirst, Verifier};

const WINDOW_MS: u32 = 10_000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The MCU's end of a resumable session, driven by hand.
struct Mcu {
    t0: Instant,
    conn: ClientConn,
    sent: Vec<pb::ClientMessage>,
    events: Vec<ClientEvent>,
    token: Vec<u8>,
    key: [u8; 32],
    /// The next sequence number of the MCU's messages.
    next_seq: u64,
}

impl Mcu {
    fn logged_in() -> Mcu {
        let t0 = Instant::now();
        let params = LoginParams {
            resumable: true,
            ..LoginParams::new("test", "teacher", "pencil")
        };
        let conn = ClientConn::new(
            &params,
            Timing {
                request_timeout: Duration::from_secs(5),
            },
            t0,
        );
        let mut mcu = Mcu {
            t0,
            conn,
            sent: Vec::new(),
            events: Vec::new(),
            token: vec![7; resume::TOKEN_LEN],
            key: [0; 32],
            next_seq: 1,
        };
        mcu.pump();
        let hello = mcu.sent[0].clone();
        let Some(Body::Hello(h)) = hello.body else {
            panic!("Hello first")
        };
        assert!(h.resumable, "the client asks to be resumable");
        let (server, first) = ServerFirst::start(
            ClientHello::parse(&h.scram_first).unwrap(),
            Verifier::generate("pencil", 4096),
        );
        mcu.answer(
            hello.request_id,
            pb::response::Result::Challenge(pb::Challenge {
                scram_first: first,
                ..Default::default()
            }),
            ms(0),
        );
        let auth = mcu.sent.last().unwrap().clone();
        let Some(Body::Authenticate(a)) = auth.body else {
            panic!("Authenticate second")
        };
        let (server_final, key) = server
            .finish_with_key(&a.scram_final, ChannelBinding::None)
            .unwrap();
        mcu.key = key;
        let login = pb::LoginResult {
            user_id: 7,
            heartbeat_ms: 1000,
            scram_final: server_final,
            resume_token: mcu.token.clone().into(),
            resume_window_ms: WINDOW_MS,
            ..Default::default()
        };
        mcu.answer(auth.request_id, pb::response::Result::Login(login), ms(0));
        assert!(mcu.conn.is_resumable());
        assert_eq!(mcu.conn.resume_window(), ms(u64::from(WINDOW_MS)));
        mcu.sent.clear();
        mcu.events.clear();
        mcu
    }

    fn at(&self, offset: Duration) -> Instant {
        self.t0 + offset
    }

    fn pump(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(frame) = self.conn.poll_transmit() {
                let mut buf = FrameBuffer::new(1024, 1024);
                buf.extend(&frame);
                let raw = buf.next_frame().unwrap().unwrap();
                self.sent.push(decode_control(&raw).unwrap());
                progressed = true;
            }
            while let Some(event) = self.conn.poll_event() {
                self.events.push(event);
                progressed = true;
            }
            if !progressed {
                return;
            }
        }
    }

    fn input(&mut self, frame: &[u8], offset: Duration) {
        self.conn.handle_input(frame, self.at(offset));
        self.pump();
    }

    fn answer(&mut self, id: u32, result: pb::response::Result, offset: Duration) {
        let message = pb::ServerMessage::response(id, 0, Some(result));
        self.input(&encode_control(&message), offset);
    }

    /// A sequenced message (an event with this chat text), as the MCU's hub stamps it.
    fn event_frame(&mut self, text: &str) -> bytes::Bytes {
        let event = pb::Event {
            state: 17,
            extra: Some(pb::event::Extra::Chat(pb::ChatInfo {
                content: text.as_bytes().to_vec().into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let frame = encode_control(&pb::ServerMessage::event(event));
        let stamped = stamp_seq(&frame, self.next_seq);
        self.next_seq += 1;
        stamped
    }

    fn timeout(&mut self, offset: Duration) {
        self.conn.handle_timeout(self.at(offset));
        self.pump();
    }

    fn chats(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Event(event) => match &event.extra {
                    Some(pb::event::Extra::Chat(chat)) => {
                        Some(String::from_utf8_lossy(&chat.content).into_owned())
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    fn connects(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Connect))
            .count()
    }

    /// Plays a resume on a new link at `offset`: the client's Hello, the challenge, its
    /// proof; answers `Resumed{received}` and returns the client's `received`.
    fn resume(&mut self, received: u64, offset: Duration) -> u64 {
        self.sent.clear();
        self.conn.resume_link(ChannelBinding::None, self.at(offset));
        self.pump();
        let hello = self.sent[0].clone();
        let Some(Body::Hello(h)) = hello.body else {
            panic!("a resume Hello first: {:?}", self.sent)
        };
        let r = h.resume.expect("the resume token");
        assert_eq!(&r.token[..], &self.token[..]);
        assert!(h.scram_first.is_empty(), "no new login");
        self.answer(
            hello.request_id,
            pb::response::Result::Challenge(pb::Challenge {
                resume_nonce: "server-nonce".into(),
                ..Default::default()
            }),
            offset,
        );
        let auth = self.sent.last().unwrap().clone();
        let Some(Body::Authenticate(a)) = auth.body else {
            panic!("the proof second")
        };
        let expected = resume::proof(
            &self.key,
            &self.token,
            &r.client_nonce,
            "server-nonce",
            ChannelBinding::None,
        );
        assert!(resume::verify(&expected, &a.resume_proof), "a valid proof");
        self.sent.clear();
        self.answer(
            auth.request_id,
            pb::response::Result::Resumed(pb::Resumed {
                received,
                heartbeat_ms: 1000,
                resume_window_ms: WINDOW_MS,
            }),
            offset,
        );
        a.received
    }
}

#[test]
fn a_cut_suspends_the_session_and_attempts_follow_the_backoff() {
    let mut mcu = Mcu::logged_in();
    mcu.conn.handle_eof(mcu.at(ms(1000)));
    mcu.pump();
    assert!(matches!(
        mcu.events[0],
        ClientEvent::Suspended(ErrorCode::NetworkException)
    ));
    assert!(mcu.conn.is_suspended() && !mcu.conn.is_closed());
    // The first attempt at once, then 100 ms doubling to the cap, each jittered to [½, 1].
    mcu.timeout(ms(1000));
    assert_eq!(mcu.connects(), 1);
    let mut now = ms(1000);
    let mut gaps = Vec::new();
    for _ in 0..8 {
        mcu.conn.link_failed(mcu.at(now));
        let next = mcu.conn.poll_timeout().unwrap() - mcu.t0;
        gaps.push(next - now);
        now = next;
        mcu.timeout(now);
    }
    assert_eq!(mcu.connects(), 9);
    let bounds = [100, 200, 400, 800, 1000, 1000, 1000, 1000];
    for (gap, bound) in gaps.iter().zip(bounds) {
        assert!(
            *gap >= ms(bound / 2) && *gap <= ms(bound),
            "{gaps:?} against {bounds:?}"
        );
    }
    assert!(gaps.iter().all(|g| *g <= BACKOFF_CAP));
}

#[test]
fn what_either_side_missed_is_replayed_once_in_order() {
    let mut mcu = Mcu::logged_in();
    let first = mcu.event_frame("one");
    mcu.input(&first, ms(100));
    let request = mcu
        .conn
        .request(Body::Chat(pb::Chat::default()), mcu.at(ms(200)))
        .unwrap();
    mcu.pump();
    let sent = mcu.sent.last().unwrap().clone();
    assert_eq!(sent.seq, 1, "requests are numbered");
    assert_eq!(sent.ack, 1, "and acknowledge what arrived");
    // The link dies; the MCU had sent "two" (lost) and never got the request.
    let _lost = mcu.event_frame("two");
    mcu.conn.handle_eof(mcu.at(ms(300)));
    mcu.pump();
    // A call during the gap waits in the replay buffer, nothing goes out.
    mcu.sent.clear();
    let during = mcu
        .conn
        .request(Body::ApplyTalk(pb::ApplyTalk { on: true }), mcu.at(ms(400)))
        .unwrap();
    mcu.pump();
    assert!(mcu.sent.is_empty(), "no link, nothing transmitted");
    mcu.timeout(ms(400));
    let received = mcu.resume(0, ms(500));
    assert_eq!(received, 1, "the client had the MCU's message 1");
    // The client replays both requests, in order, with their numbers.
    let replayed: Vec<(u64, u32)> = mcu.sent.iter().map(|m| (m.seq, m.request_id)).collect();
    assert_eq!(replayed, vec![(1, request), (2, during)]);
    assert!(mcu.events.iter().any(|e| matches!(e, ClientEvent::Resumed)));
    // The MCU replays "two"; a duplicate of "one" is dropped; answers are delivered.
    mcu.input(
        &stamp_seq(
            &encode_control(&pb::ServerMessage::event(pb::Event::default())),
            1,
        ),
        ms(510),
    );
    let two = stamp_seq(
        &encode_control(&pb::ServerMessage::event(pb::Event {
            state: 17,
            extra: Some(pb::event::Extra::Chat(pb::ChatInfo {
                content: b"two".to_vec().into(),
                ..Default::default()
            })),
            ..Default::default()
        })),
        2,
    );
    mcu.input(&two, ms(520));
    assert_eq!(mcu.chats(), vec!["one", "two"]);
    let answer = stamp_seq(
        &encode_control(&pb::ServerMessage::response(during, 0, None)),
        3,
    );
    mcu.input(&answer, ms(530));
    assert!(
        mcu.events
            .iter()
            .any(|e| matches!(e, ClientEvent::Response { id, answer: Ok(_) } if *id == during))
    );
    // A Ping's acknowledgement lets the client forget what the MCU applied.
    assert_eq!(mcu.conn.unacked().0, 2);
    let mut ping = pb::ServerMessage::of(server_message::Body::Ping(pb::Ping {
        nonce: 1,
        heartbeat_ms: 1000,
        ..Default::default()
    }));
    ping.ack = 2;
    mcu.input(&encode_control(&ping), ms(600));
    assert_eq!(mcu.conn.unacked().0, 0);
}

#[test]
fn an_mcu_that_had_everything_gets_nothing_twice() {
    let mut mcu = Mcu::logged_in();
    let id = mcu
        .conn
        .request(Body::Chat(pb::Chat::default()), mcu.at(ms(100)))
        .unwrap();
    mcu.conn.handle_eof(mcu.at(ms(200)));
    mcu.pump();
    mcu.timeout(ms(200));
    mcu.resume(1, ms(300));
    assert!(
        mcu.sent.is_empty(),
        "request {id} was applied before the cut: {:?}",
        mcu.sent
    );
}

#[test]
fn the_window_closes_with_the_reason_of_the_cut_and_a_refusal_with_invalid_session() {
    let mut mcu = Mcu::logged_in();
    let bye = pb::ServerMessage::of(server_message::Body::Bye(pb::Bye {
        code: ErrorCode::ServerStoped.code(),
    }));
    mcu.input(&encode_control(&bye), ms(1000));
    assert!(
        matches!(
            mcu.events[0],
            ClientEvent::Suspended(ErrorCode::ServerStoped)
        ),
        "a stopping MCU is a cut, not the end: {:?}",
        mcu.events
    );
    let pending = mcu
        .conn
        .request(Body::Chat(pb::Chat::default()), mcu.at(ms(1100)))
        .unwrap();
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(ms(1000))));
    mcu.timeout(ms(1000));
    mcu.conn.link_failed(mcu.at(ms(1000)));
    mcu.timeout(ms(6100));
    assert!(mcu.events.iter().any(|e| matches!(
        e,
        ClientEvent::Response { id, answer: Err(ErrorCode::Timeout) } if *id == pending
    )));
    mcu.timeout(ms(1000 + u64::from(WINDOW_MS) - 1));
    assert!(!mcu.conn.is_closed());
    mcu.timeout(ms(1000 + u64::from(WINDOW_MS)));
    assert!(matches!(
        mcu.events.last(),
        Some(ClientEvent::Closed(ErrorCode::ServerStoped))
    ));

    // A restarted MCU does not know the token.
    let mut mcu = Mcu::logged_in();
    mcu.conn.handle_eof(mcu.at(ms(100)));
    mcu.pump();
    mcu.timeout(ms(100));
    mcu.sent.clear();
    mcu.conn.resume_link(ChannelBinding::None, mcu.at(ms(150)));
    mcu.pump();
    let hello = mcu.sent[0].request_id;
    let refusal = pb::ServerMessage::response(hello, ErrorCode::NvalidSessionErr.code(), None);
    mcu.input(&encode_control(&refusal), ms(160));
    assert!(matches!(
        mcu.events.last(),
        Some(ClientEvent::Closed(ErrorCode::NvalidSessionErr))
    ));
}

#[test]
fn a_silent_new_link_is_given_up_for_the_next_attempt() {
    let mut mcu = Mcu::logged_in();
    mcu.conn.handle_eof(mcu.at(ms(100)));
    mcu.pump();
    mcu.timeout(ms(100));
    mcu.conn.resume_link(ChannelBinding::None, mcu.at(ms(110)));
    mcu.pump();
    let bound = mcu.conn.attempt_timeout();
    assert_eq!(mcu.conn.poll_timeout(), Some(mcu.at(ms(110) + bound)));
    let suspensions = |mcu: &Mcu| {
        mcu.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Suspended(_)))
            .count()
    };
    assert_eq!(suspensions(&mcu), 1);
    mcu.timeout(ms(110) + bound);
    assert_eq!(suspensions(&mcu), 2, "back to waiting for the next attempt");
    assert!(!mcu.conn.is_closed());
}

#[test]
fn a_session_that_is_not_resumable_ends_at_the_cut() {
    let t0 = Instant::now();
    let mut conn = ClientConn::new(
        &LoginParams::new("test", "teacher", "pencil"),
        Timing::default(),
        t0,
    );
    let hello = conn.poll_transmit().unwrap();
    let mut buf = FrameBuffer::new(1024, 1024);
    buf.extend(&hello);
    let message: pb::ClientMessage = decode_control(&buf.next_frame().unwrap().unwrap()).unwrap();
    let Some(Body::Hello(h)) = message.body else {
        panic!()
    };
    assert!(!h.resumable);
    conn.handle_eof(t0);
    let mut events = Vec::new();
    while let Some(e) = conn.poll_event() {
        events.push(e);
    }
    assert!(matches!(events.last(), Some(ClientEvent::Closed(_))));
}

//! Criterion microbenchmarks of the hot paths (issue 6), all through public APIs:
//! - `proto`: media frame encode and decode, control frame encode and decode;
//! - `mcu`: the forwarding decision of one sender's frame to N subscribers, and the room
//!   core's routing update when a listener subscribes;
//! - `session`: one media frame from the socket to the application's event sink (read,
//!   decode, dispatcher hand-off), against a scripted peer on loopback.
//!
//! `cargo bench -p conference-loadgen` (or `--bench hot_paths -- mcu` for one group).

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use conference_loadgen::accounts;
use conference_mcu::config::Config;
use conference_mcu::room::{Core, Input, Limits, Now, Output};
use conference_mcu::transport::forward::{Forwarder, MediaStats, RouteTable, Sub};
use conference_mcu::transport::queue::{OutQueue, Take};
use conference_proto::frame::{decode_frame, encode_control};
use conference_proto::media::{MediaFrame, encode_media};
use conference_proto::message::{StateId, decode_server};
use conference_proto::pb::client_message::Body;
use conference_proto::{MediaHeader, MediaType, pb, scram};
use conference_session::{Event, EventSink, Sdk, SdkConfig};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const SIZES: [(&str, usize); 3] = [
    ("audio_160B", 160),
    ("delta_15KB", 15_000),
    ("key_120KB", 120_000),
];

fn header(stream: MediaType) -> MediaHeader {
    MediaHeader {
        sender_id: 7,
        stream_type: stream as u8,
        media_type: 1,
        codec_id: 3,
        frame_seq: 3,
        key_frame: 0,
        framerate: 30,
        width_or_rate: 1920,
        height_or_channels: 1080,
        bitrate: 4000,
        timestamp: 123_456,
        ..MediaHeader::default()
    }
}

fn user(id: u32) -> pb::UserInfo {
    pb::UserInfo {
        id,
        username: format!("l0_{id}"),
        nickname: format!("l0_{id}"),
        signal_status: 5,
        auth_video: 2,
        auth_audio: 2,
        ..pb::UserInfo::default()
    }
}

fn proto(c: &mut Criterion) {
    let mut group = c.benchmark_group("proto");
    for (name, size) in SIZES {
        let payload = vec![0x5a; size];
        let h = header(MediaType::VideoMajor);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(format!("encode_media/{name}"), |b| {
            b.iter(|| encode_media(black_box(&h), black_box(&payload)))
        });
        // 64 frames back to back in one read buffer, as a socket read delivers them.
        let one = encode_media(&h, &payload);
        let mut stream = BytesMut::new();
        for _ in 0..64 {
            stream.extend_from_slice(&one);
        }
        let stream = stream.freeze();
        group.throughput(Throughput::Elements(64));
        group.bench_function(format!("decode_media_x64/{name}"), |b| {
            b.iter_batched(
                || BytesMut::from(&stream[..]),
                |mut buf| {
                    let mut frames = Vec::with_capacity(64);
                    while let Ok(Some(frame)) = decode_frame(&mut buf) {
                        frames.push(MediaFrame::from_frame_bytes(frame.bytes.freeze()).ok());
                    }
                    // Returned, so freeing the buffer is not timed.
                    (buf, frames)
                },
                BatchSize::SmallInput,
            )
        });
    }
    let event = pb::ServerMessage::event(pb::Event::new(StateId::UserEnter, 0, Some(user(42))));
    group.throughput(Throughput::Elements(1));
    group.bench_function("encode_control/user_enter", |b| {
        b.iter(|| encode_control(black_box(&event)))
    });
    let encoded = encode_control(&event);
    group.bench_function("decode_control/user_enter", |b| {
        b.iter_batched(
            || BytesMut::from(&encoded[..]),
            |mut buf| {
                let frame = decode_frame(&mut buf).ok().flatten();
                frame.map(|f| black_box(decode_server(&f).ok()))
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn drain(queues: &[Arc<OutQueue>], batch: &mut Vec<Bytes>) {
    for queue in queues {
        while queue.take(batch, 1024, usize::MAX) == Take::Frames {
            batch.clear();
        }
    }
}

fn mcu_forward(c: &mut Criterion) {
    let mut group = c.benchmark_group("mcu");
    for subscribers in [1usize, 100, 600] {
        let queues: Vec<Arc<OutQueue>> = (0..subscribers)
            .map(|_| Arc::new(OutQueue::new()))
            .collect();
        let subs: Vec<Sub> = queues
            .iter()
            .enumerate()
            .map(|(i, out)| Sub {
                conn: i as u64 + 10,
                out: Arc::clone(out),
            })
            .collect();
        let mut forwarder = Forwarder::new(Arc::new(MediaStats::default()));
        forwarder.apply(&RouteTable {
            user_id: 7,
            streams: [Some(Arc::from(subs)), None, None, None],
        });
        let h = MediaHeader {
            stream_type: MediaType::Audio as u8,
            ..header(MediaType::Audio)
        };
        let frame = BytesMut::from(&encode_media(&h, &[0x11; 160])[..]);
        let mut batch = Vec::new();
        group.throughput(Throughput::Elements(subscribers as u64));
        group.bench_function(
            format!("forward_audio_frame/{subscribers}_subscribers"),
            |b| {
                b.iter_batched(
                    || frame.clone(),
                    |f| {
                        forwarder.forward(f, &h);
                        drain(&queues, &mut batch);
                    },
                    BatchSize::SmallInput,
                )
            },
        );
    }
    group.finish();
}

/// A room core with one master and `listeners` listeners in room 1001, the master
/// broadcasting its video and every listener but the first watching it.
fn core_with_room(listeners: u32) -> Core {
    let text = accounts::mcu_config(1, listeners, 0, accounts::DEFAULT_PASSWORD)
        .expect("generated configuration");
    let config = Config::parse(&text).expect("valid configuration");
    let mut core = Core::new(&config, Limits::default());
    let mut out = Vec::new();
    let now = Now::system();
    for user in 1..=listeners + 1 {
        let conn = u64::from(user);
        core.handle(
            now,
            Input::Login {
                conn,
                request_id: 1,
                user,
                stream_demand: true,
                scram_final: String::new(),
                resume: None,
            },
            &mut out,
        );
        let join = Body::JoinRoom(pb::JoinRoom {
            room_id: accounts::classroom_room(0),
        });
        core.handle(
            now,
            Input::Request {
                conn,
                request_id: 2,
                body: join,
            },
            &mut out,
        );
    }
    for body in [
        Body::ApplyMaster(pb::ApplyMaster { on: true }),
        Body::Bcast(pb::Bcast {
            kind: pb::MediaKind::Video as i32,
            user_id: 1,
            on: true,
        }),
    ] {
        core.handle(
            now,
            Input::Request {
                conn: 1,
                request_id: 3,
                body,
            },
            &mut out,
        );
    }
    // Every other listener already watches the master's main video.
    for user in 3..=listeners + 1 {
        let body = Body::Subscribe(pb::Subscribe {
            user_id: 1,
            media_type: MediaType::VideoMajor as u32,
            on: true,
        });
        let request = Input::Request {
            conn: u64::from(user),
            request_id: 5,
            body,
        };
        core.handle(now, request, &mut out);
    }
    core
}

fn mcu_core(c: &mut Criterion) {
    let mut group = c.benchmark_group("mcu");
    for listeners in [100u32, 600] {
        let mut core = core_with_room(listeners);
        let mut out: Vec<Output> = Vec::new();
        let now = Now::system();
        // Listener 2 pulls (or stops pulling) the master's main video: a permission check,
        // the viewer set, the master's new forwarding table (all the viewers' connections).
        let toggle = |core: &mut Core, out: &mut Vec<Output>, on: bool| {
            let body = Body::Subscribe(pb::Subscribe {
                user_id: 1,
                media_type: MediaType::VideoMajor as u32,
                on,
            });
            let request = Input::Request {
                conn: 2,
                request_id: 4,
                body,
            };
            core.handle(now, request, out);
            let viewers: usize = out
                .iter()
                .filter_map(|o| match o {
                    Output::Routes { streams, .. } => streams[1].as_ref().map(|s| s.len()),
                    _ => None,
                })
                .sum();
            out.clear();
            viewers
        };
        assert_eq!(
            toggle(&mut core, &mut out, true),
            listeners as usize,
            "every listener watches the master"
        );
        let mut on = false;
        group.throughput(Throughput::Elements(1));
        group.bench_function(
            format!("core_subscribe_toggle/{listeners}_listeners"),
            |b| {
                b.iter(|| {
                    let viewers = toggle(&mut core, &mut out, on);
                    on = !on;
                    viewers
                })
            },
        );
    }
    group.finish();
}

/// Counts media events and nothing else.
struct Counter(Arc<AtomicU64>);

impl EventSink for Counter {
    fn deliver(&mut self, event: Event) {
        if let Event::Media(media) = event {
            black_box(&media.payload);
            self.0.fetch_add(1, Ordering::Release);
        }
    }
}

fn session_receive(c: &mut Criterion) {
    let mut group = c.benchmark_group("session");
    for (name, size) in [("audio_160B", 160usize), ("delta_15KB", 15_000)] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let received = Arc::new(AtomicU64::new(0));
        let sdk = Sdk::start(
            SdkConfig::default(),
            Box::new(Counter(Arc::clone(&received))),
        )
        .expect("start the SDK");
        // The peer speaks plain TCP only.
        conference_session::set_tls(Some(conference_session::TlsSettings {
            mode: conference_session::TlsMode::Off,
            ..Default::default()
        }))
        .expect("plain link");
        let accept = std::thread::spawn(move || accept_login(&listener));
        sdk.connect("127.0.0.1", port, "bench", "bench")
            .expect("connect to the scripted peer");
        let (mut writer, drainer) = accept.join().expect("peer thread");
        let frame = encode_media(&header(MediaType::Audio), &vec![0x22; size]);
        // Frames in flight stay far below the dispatcher's media budget (2,048 events,
        // 8 MiB), so nothing is dropped and every frame is counted.
        let in_flight = (4 * 1024 * 1024 / frame.len()).clamp(16, 1024) as u64;
        let chunk = (in_flight / 2) as usize;
        let burst: Vec<u8> = frame
            .iter()
            .copied()
            .cycle()
            .take(frame.len() * chunk)
            .collect();
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("socket_to_sink/{name}"), |b| {
            b.iter_custom(|iters| {
                let base = received.load(Ordering::Acquire);
                let start = Instant::now();
                let mut sent = 0;
                while sent < iters {
                    let n = (iters - sent).min(chunk as u64);
                    writer
                        .write_all(&burst[..frame.len() * n as usize])
                        .expect("write frames");
                    sent += n;
                    wait_until(&sdk, &received, base + sent.saturating_sub(in_flight));
                }
                wait_until(&sdk, &received, base + iters);
                start.elapsed()
            })
        });
        assert_eq!(sdk.media_drop_stats().frames, 0, "the sink kept up");
        sdk.shutdown();
        drop(writer);
        let _ = drainer.join();
    }
    group.finish();
}

/// Yields (the SDK's threads need the cores) until the sink counted `target` frames.
fn wait_until(sdk: &Sdk, received: &AtomicU64, target: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Acquire) < target {
        if Instant::now() >= deadline {
            panic!(
                "frames did not reach the sink (dropped: {:?})",
                sdk.media_drop_stats()
            );
        }
        std::thread::yield_now();
    }
}

/// Accepts the SDK's connection and logs it in as the MCU would (SCRAM with the password
/// "bench"); returns the writing side and the thread that drains what the SDK sends.
fn accept_login(listener: &TcpListener) -> (TcpStream, std::thread::JoinHandle<()>) {
    let (mut stream, _) = listener.accept().expect("accept");
    let mut buf = BytesMut::new();
    let mut next = |stream: &mut TcpStream| loop {
        if let Ok(Some(frame)) = decode_frame(&mut buf)
            && let Ok(message) = conference_proto::message::decode_client(&frame)
        {
            return message;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).expect("read the login");
        assert!(n > 0, "client closed");
        buf.extend_from_slice(&chunk[..n]);
    };
    let (hello_id, Body::Hello(hello)) = next(&mut stream) else {
        panic!("Hello first");
    };
    let client_first = scram::ClientHello::parse(&hello.scram_first).expect("SCRAM Hello");
    let verifier = scram::Verifier::generate("bench", scram::MIN_ITERATIONS);
    let (server, scram_first) = scram::ServerFirst::start(client_first, verifier);
    let challenge = pb::response::Result::Challenge(pb::Challenge {
        scram_first,
        ..Default::default()
    });
    let response = pb::ServerMessage::response(hello_id, 0, Some(challenge));
    stream
        .write_all(&encode_control(&response))
        .expect("challenge");
    let (auth_id, Body::Authenticate(auth)) = next(&mut stream) else {
        panic!("Authenticate second");
    };
    let scram_final = server
        .finish(&auth.scram_final, scram::ChannelBinding::None)
        .expect("the bench password");
    let login = pb::response::Result::Login(pb::LoginResult {
        protocol_version: conference_proto::PROTOCOL_VERSION,
        user_id: 2,
        heartbeat_ms: 60_000,
        rooms: Vec::new(),
        server_name: "bench peer".into(),
        stream_demand: false,
        scram_final,
        ..Default::default()
    });
    let response = pb::ServerMessage::response(auth_id, 0, Some(login));
    stream
        .write_all(&encode_control(&response))
        .expect("answer");
    let mut reader = stream.try_clone().expect("clone the socket");
    let drainer = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while matches!(reader.read(&mut chunk), Ok(n) if n > 0) {}
    });
    (stream, drainer)
}

criterion_group!(benches, proto, mcu_forward, mcu_core, session_receive);
criterion_main!(benches);

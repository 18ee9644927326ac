//! The peer: the identical workload through `nats-server`, one subject per stream
//! (`room.<r>.user.<u>.<audio|main|aux>`), clients via `async-nats` on one tokio runtime.
//!
//! A NATS message carries exactly what our MCU forwards: the 40-byte media header (written by
//! the sender, as the SDK does) and the payload, so both targets move the same bytes.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use async_nats::{Client, ConnectOptions, Subject};
use bytes::{Bytes, BytesMut};
use conference_proto::media::MEDIA_HEADER_LEN;
use conference_proto::{MediaHeader, MediaType};
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

use crate::classroom::Clients;
use crate::schedule::Publisher;
use crate::streams::{StreamInfo, StreamTable};
use crate::tracker::{self, RxCounters, Tracker};
use crate::workload::StreamKind;

/// The runtime all NATS clients of a run share: as many workers as cores.
pub fn runtime() -> anyhow::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
        .enable_all()
        .build()
        .context("start the tokio runtime")
}

struct Counters {
    /// Messages the client dropped (async-nats slow-consumer events).
    slow: AtomicU64,
    disconnects: AtomicU64,
}

async fn connect(addr: SocketAddr, name: &str, counters: Arc<Counters>) -> anyhow::Result<Client> {
    ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(30))
        .event_callback(move |event| {
            let counters = Arc::clone(&counters);
            async move {
                match event {
                    async_nats::Event::SlowConsumer(_) => {
                        counters.slow.fetch_add(1, Ordering::Relaxed);
                    }
                    async_nats::Event::Disconnected => {
                        counters.disconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        })
        .connect(format!("nats://{addr}"))
        .await
        .with_context(|| format!("connect to nats-server at {addr} as {name}"))
}

fn subject(room: u32, user: u32, media_type: MediaType) -> Subject {
    let stream = match media_type {
        MediaType::Audio => "audio",
        MediaType::VideoMajor => "main",
        MediaType::VideoMinor => "aux",
        MediaType::VideoMinor2 => "aux2",
    };
    Subject::from(format!("room.{room}.user.{user}.{stream}"))
}

/// One NATS connection playing one recorder.
pub struct NatsClient {
    client: Client,
    user_id: u32,
    room: u32,
    handle: Handle,
    tracker: Arc<Mutex<Tracker>>,
}

impl Publisher for NatsClient {
    fn publish(&self, media_type: MediaType, header: MediaHeader, payload: &[u8]) -> bool {
        let header = MediaHeader {
            sender_id: self.user_id,
            stream_type: media_type as u8,
            ..header
        };
        let mut message = BytesMut::with_capacity(MEDIA_HEADER_LEN + payload.len());
        header.write(&mut message);
        message.extend_from_slice(payload);
        let subject = subject(self.room, self.user_id, media_type);
        // The client queues the message for its connection task; this waits only when its
        // command channel is full (the client's own back-pressure).
        self.handle
            .block_on(self.client.publish(subject, message.freeze()))
            .is_ok()
    }
}

/// The clients of a classroom run: per room the master, then its listeners.
pub struct Classroom {
    runtime: Runtime,
    pub clients: Vec<NatsClient>,
    pub table: Arc<StreamTable>,
    counters: Arc<Counters>,
    readers: Vec<JoinHandle<()>>,
}

/// Receives one subscription's messages into a client's tracker.
fn spawn_reader(
    handle: &Handle,
    mut subscriber: async_nats::Subscriber,
    sender: u32,
    tracker: Arc<Mutex<Tracker>>,
    table: Arc<OnceLock<Arc<StreamTable>>>,
) -> JoinHandle<()> {
    handle.spawn(async move {
        while let Some(message) = subscriber.next().await {
            let Some(table) = table.get() else { continue };
            let payload: &Bytes = &message.payload;
            let mut tracker = tracker.lock();
            match MediaHeader::parse(payload) {
                Ok(header) => {
                    tracker.on_fragment(table, sender, &header, &payload[MEDIA_HEADER_LEN..])
                }
                Err(_) => {
                    tracker.counters.corrupt += 1;
                }
            }
        }
    })
}

/// Connects every client and subscribes as the MCU classroom does: listeners to the master's
/// three streams, the master to listener 1's video and audio. User ids are the client index
/// + 1.
pub fn setup_classroom(
    addr: SocketAddr,
    rooms: u32,
    listeners: u32,
    frag_size: usize,
    epoch: Instant,
) -> anyhow::Result<Classroom> {
    if listeners == 0 {
        bail!("a classroom needs at least one listener");
    }
    let runtime = runtime()?;
    let handle = runtime.handle().clone();
    let counters = Arc::new(Counters {
        slow: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
    });
    let per_room = listeners as usize + 1;
    let total = rooms as usize * per_room;
    let table_slot: Arc<OnceLock<Arc<StreamTable>>> = Arc::new(OnceLock::new());
    let (clients, readers) = runtime.block_on(async {
        let connects = (0..total).map(|index| {
            let counters = Arc::clone(&counters);
            async move { connect(addr, &format!("client{index}"), counters).await }
        });
        let connected: Vec<Client> = futures_util::future::try_join_all(connects).await?;
        let mut clients = Vec::with_capacity(total);
        let mut readers = Vec::new();
        for (index, client) in connected.into_iter().enumerate() {
            let room = (index / per_room) as u32;
            let tracker = Arc::new(Mutex::new(Tracker::new(epoch)));
            let master = (room as usize * per_room) as u32 + 1;
            let interactive = master + 1;
            let pulls: Vec<(u32, StreamKind)> = if index % per_room == 0 {
                StreamKind::LISTENER
                    .iter()
                    .map(|&k| (interactive, k))
                    .collect()
            } else {
                StreamKind::MASTER.iter().map(|&k| (master, k)).collect()
            };
            for (sender, kind) in pulls {
                let subscriber = client
                    .subscribe(subject(room, sender, kind.media_type()))
                    .await
                    .context("subscribe")?;
                readers.push(spawn_reader(
                    &handle,
                    subscriber,
                    sender,
                    Arc::clone(&tracker),
                    Arc::clone(&table_slot),
                ));
            }
            clients.push(NatsClient {
                client,
                user_id: index as u32 + 1,
                room,
                handle: handle.clone(),
                tracker,
            });
        }
        // A flush is a round trip: the server has every subscription once it returns.
        let flushes = clients.iter().map(|c| c.client.flush());
        futures_util::future::try_join_all(flushes)
            .await
            .context("flush")?;
        anyhow::Ok((clients, readers))
    })?;
    let mut table = StreamTable::new(frag_size);
    for (index, client) in clients.iter().enumerate() {
        let position = index % per_room;
        let (kinds, subscribers): (&[StreamKind], u32) = match position {
            0 => (&StreamKind::MASTER, listeners),
            1 => (&StreamKind::LISTENER, 1),
            _ => (&StreamKind::LISTENER, 0),
        };
        for &kind in kinds {
            table.insert(StreamInfo::new(index, kind, client.user_id, subscribers));
        }
    }
    let table = Arc::new(table);
    let _ = table_slot.set(Arc::clone(&table));
    Ok(Classroom {
        runtime,
        clients,
        table,
        counters,
        readers,
    })
}

impl Classroom {
    pub fn close(self) {
        for reader in &self.readers {
            reader.abort();
        }
        drop(self.clients);
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

impl Clients for Classroom {
    fn publishers(&self) -> Vec<&dyn Publisher> {
        self.clients.iter().map(|c| c as &dyn Publisher).collect()
    }

    fn delivered_frames(&self) -> u64 {
        tracker::delivered(self.clients.iter().map(|c| &*c.tracker))
    }

    fn finish(&self) -> RxCounters {
        tracker::finish_all(self.clients.iter().map(|c| &*c.tracker))
    }

    fn client_drops(&self) -> u64 {
        self.counters.slow.load(Ordering::Relaxed)
    }

    fn disconnects(&self) -> u64 {
        self.counters.disconnects.load(Ordering::Relaxed)
    }
}

/// What the join storm measured.
pub struct JoinOutcome {
    pub connect: Duration,
    /// Server VmRSS once every client is connected, before any joined, KiB.
    pub rss_connected_kb: u64,
    pub join: Duration,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Keeps the clients connected until the caller measured the server's memory.
    pub runtime: Runtime,
    pub clients: Vec<Client>,
    tasks: Vec<JoinHandle<()>>,
}

impl JoinOutcome {
    pub fn close(self) {
        for task in &self.tasks {
            task.abort();
        }
        drop(self.clients);
        self.runtime.shutdown_timeout(Duration::from_secs(2));
    }
}

/// The nearest NATS equivalent of joining a room: each client subscribes to the room's
/// presence subject and its own inbox, then announces itself; every member that learns of a
/// newcomer from its announcement answers on the newcomer's inbox. Done when every client
/// knows all the others.
pub fn join_storm(
    addr: SocketAddr,
    server_pid: u32,
    users: u32,
    timeout: Duration,
) -> anyhow::Result<JoinOutcome> {
    let runtime = runtime()?;
    let counters = Arc::new(Counters {
        slow: AtomicU64::new(0),
        disconnects: AtomicU64::new(0),
    });
    let started = Instant::now();
    let clients: Vec<Client> = runtime.block_on(async {
        let connects = (0..users).map(|i| {
            let counters = Arc::clone(&counters);
            async move { connect(addr, &format!("u{}", i + 1), counters).await }
        });
        futures_util::future::try_join_all(connects).await
    })?;
    let connect = started.elapsed();
    let rss_connected_kb = crate::sdk_clients::connected_rss(server_pid);
    let others = users as usize - 1;
    let done: Arc<Vec<Mutex<Option<Instant>>>> =
        Arc::new((0..users).map(|_| Mutex::new(None)).collect());
    let errors = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let tasks: Vec<JoinHandle<()>> = clients
        .iter()
        .enumerate()
        .map(|(index, client)| {
            let client = client.clone();
            let done = Arc::clone(&done);
            let errors = Arc::clone(&errors);
            runtime.spawn(async move {
                if presence(client, index as u32 + 1, others, &done[index])
                    .await
                    .is_err()
                {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline && done.iter().any(|d| d.lock().is_none()) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let incomplete = done.iter().filter(|d| d.lock().is_none()).count() as u64;
    let finished = done.iter().filter_map(|d| *d.lock()).max().unwrap_or(t0);
    let errors = errors.load(Ordering::Relaxed) + incomplete;
    Ok(JoinOutcome {
        connect,
        rss_connected_kb,
        join: finished.saturating_duration_since(t0),
        errors,
        first_error: (incomplete > 0).then(|| {
            format!("{incomplete} clients did not learn of all {users} users within {timeout:?}")
        }),
        runtime,
        clients,
        tasks,
    })
}

async fn presence(
    client: Client,
    me: u32,
    others: usize,
    done: &Mutex<Option<Instant>>,
) -> anyhow::Result<()> {
    let mut room = client.subscribe("join.presence").await?;
    let mut inbox = client.subscribe(format!("join.user.{me}")).await?;
    client
        .publish("join.presence", Bytes::copy_from_slice(&me.to_le_bytes()))
        .await?;
    let mut known: HashSet<u32> = HashSet::new();
    if others == 0 {
        *done.lock() = Some(Instant::now());
    }
    loop {
        let (peer, announced) = tokio::select! {
            Some(m) = room.next() => (m.payload, true),
            Some(m) = inbox.next() => (m.payload, false),
            else => return Ok(()),
        };
        let Some(bytes) = peer.first_chunk::<4>() else {
            continue;
        };
        let peer = u32::from_le_bytes(*bytes);
        if peer == me || !known.insert(peer) {
            continue;
        }
        if announced {
            client
                .publish(
                    format!("join.user.{peer}"),
                    Bytes::copy_from_slice(&me.to_le_bytes()),
                )
                .await?;
        }
        if known.len() == others {
            *done.lock() = Some(Instant::now());
        }
    }
}

/// `slow_consumers` of nats-server's monitoring endpoint (`-m PORT`), if it answers.
pub fn server_slow_consumers(monitor: SocketAddr) -> Option<u64> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&monitor, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /varz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let body = &text[text.find("\r\n\r\n")? + 4..];
    let varz: serde_json::Value = serde_json::from_str(body).ok()?;
    varz.get("slow_consumers")?.as_u64()
}

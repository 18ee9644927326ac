//! A diagnostic client of the MCU (`--client raw`): the wire protocol spoken directly by
//! tokio tasks on one shared runtime, the way the NATS clients run. It does what the
//! classroom needs (login, room requests, pongs, media) and nothing else.
//!
//! The official figures use the SDK's session core (`--client sdk`, every instance on one
//! shared core of network and dispatcher threads). This client leaves out the SDK's own
//! work (the hand-off to a dispatcher thread), showing what the MCU alone costs when hundreds
//! of receivers in one process are cheap to wake (see `docs/PERFORMANCE.md`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::{Bytes, BytesMut};
use conference_proto::frame::{FrameKind, decode_frame, encode_control};
use conference_proto::login::{ClientLogin, LoginParams, Next};
use conference_proto::media::{MediaFrame, encode_media};
use conference_proto::message::decode_server;
use conference_proto::pb::client_message::Body;
use conference_proto::pb::server_message;
use conference_proto::{MediaHeader, MediaType, pb};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::accounts;
use crate::classroom::Clients;
use crate::schedule::Publisher;
use crate::streams::{StreamInfo, StreamTable};
use crate::tracker::{RxCounters, Tracker};
use crate::workload::StreamKind;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

type Pending = Mutex<HashMap<u32, oneshot::Sender<pb::Response>>>;

/// One protocol-level connection to the MCU.
pub struct RawClient {
    pub user_id: u32,
    out: mpsc::UnboundedSender<Bytes>,
    pending: Arc<Pending>,
    next_id: AtomicU32,
    tracker: Arc<Mutex<Tracker>>,
    table: Arc<std::sync::OnceLock<Arc<StreamTable>>>,
    lost: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl RawClient {
    async fn connect(
        addr: SocketAddr,
        username: &str,
        password: &str,
        epoch: Instant,
    ) -> anyhow::Result<RawClient> {
        let stream = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (mut reader, writer) = stream.into_split();
        let (out, mut queue) = mpsc::unbounded_channel::<Bytes>();
        let writer_task = tokio::spawn(async move {
            let mut writer = BufWriter::with_capacity(64 * 1024, writer);
            while let Some(frame) = queue.recv().await {
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
                while let Ok(frame) = queue.try_recv() {
                    if writer.write_all(&frame).await.is_err() {
                        return;
                    }
                }
                if writer.flush().await.is_err() {
                    return;
                }
            }
        });
        let pending: Arc<Pending> = Arc::default();
        let tracker = Arc::new(Mutex::new(Tracker::new(epoch)));
        let table: Arc<std::sync::OnceLock<Arc<StreamTable>>> = Arc::default();
        let lost = Arc::new(AtomicU64::new(0));
        let reader_task = {
            let (out, pending, tracker, table, lost) = (
                out.clone(),
                Arc::clone(&pending),
                Arc::clone(&tracker),
                Arc::clone(&table),
                Arc::clone(&lost),
            );
            tokio::spawn(async move {
                let mut buf = BytesMut::with_capacity(64 * 1024);
                loop {
                    while let Ok(Some(frame)) = decode_frame(&mut buf) {
                        if frame.kind == FrameKind::Media {
                            let Ok(media) = MediaFrame::from_frame_bytes(frame.bytes.freeze())
                            else {
                                continue;
                            };
                            if let Some(table) = table.get() {
                                let sender = media.header.sender_id;
                                tracker.lock().on_fragment(
                                    table,
                                    sender,
                                    &media.header,
                                    &media.payload,
                                );
                            }
                            continue;
                        }
                        match decode_server(&frame) {
                            Ok(server_message::Body::Response(response)) => {
                                if let Some(tx) = pending.lock().remove(&response.request_id) {
                                    let _ = tx.send(response);
                                }
                            }
                            Ok(server_message::Body::Ping(ping)) => {
                                let pong = pb::ClientMessage::request(
                                    0,
                                    Body::Pong(pb::Pong { nonce: ping.nonce }),
                                );
                                let _ = out.send(encode_control(&pong));
                            }
                            Ok(server_message::Body::Bye(_)) => {
                                lost.fetch_add(1, Ordering::Relaxed);
                                return;
                            }
                            _ => {}
                        }
                    }
                    if buf.capacity() - buf.len() < 16 * 1024 {
                        buf.reserve(64 * 1024);
                    }
                    match reader.read_buf(&mut buf).await {
                        Ok(n) if n > 0 => {}
                        _ => return,
                    }
                }
            })
        };
        let mut client = RawClient {
            user_id: 0,
            out,
            pending,
            next_id: AtomicU32::new(1),
            tracker,
            table,
            lost,
            tasks: vec![writer_task, reader_task],
        };
        // The diagnostic client sends what its schedule says (see `--quiet-listeners`): no
        // stream demand.
        let params = LoginParams::new("conference-loadgen raw", username, password);
        let (mut login, hello) = ClientLogin::start(&params);
        let mut response = client.request(hello).await?;
        loop {
            match login.on_response(response) {
                Ok(Next::Send(body)) => response = client.request(body).await?,
                Ok(Next::Done(login)) => {
                    client.user_id = login.user_id;
                    return Ok(client);
                }
                Err(code) => bail!("login of {username} refused: {code}"),
            }
        }
    }

    async fn request(&self, body: Body) -> anyhow::Result<pb::Response> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        self.out
            .send(encode_control(&pb::ClientMessage::request(id, body)))
            .map_err(|_| anyhow::anyhow!("connection closed"))?;
        let response = tokio::time::timeout(REQUEST_TIMEOUT, rx)
            .await
            .context("request timed out")?
            .context("connection closed")?;
        Ok(response)
    }

    /// A request that must be accepted.
    async fn call(&self, what: &str, body: Body) -> anyhow::Result<pb::Response> {
        let response = self.request(body).await?;
        if response.code != 0 {
            bail!("{what} refused: code {}", response.code);
        }
        Ok(response)
    }

    async fn join(&self, room: u32) -> anyhow::Result<()> {
        self.call("join", Body::JoinRoom(pb::JoinRoom { room_id: room }))
            .await
            .map(drop)
    }

    async fn subscribe(&self, user_id: u32, media_type: MediaType) -> anyhow::Result<()> {
        let body = Body::Subscribe(pb::Subscribe {
            user_id,
            media_type: media_type as u32,
            on: true,
        });
        self.call("subscribe", body).await.map(drop)
    }
}

impl Publisher for RawClient {
    fn publish(&self, media_type: MediaType, header: MediaHeader, payload: &[u8]) -> bool {
        let header = MediaHeader {
            sender_id: 0,
            stream_type: media_type as u8,
            ..header
        };
        self.out.send(encode_media(&header, payload)).is_ok()
    }
}

/// The classroom of [`crate::mcu::setup_classroom`], with raw clients on one runtime.
pub struct Classroom {
    runtime: Runtime,
    pub clients: Vec<RawClient>,
    pub table: Arc<StreamTable>,
}

pub fn setup_classroom(
    addr: SocketAddr,
    rooms: u32,
    listeners: u32,
    password: &str,
    frag_size: usize,
    epoch: Instant,
) -> anyhow::Result<Classroom> {
    if listeners == 0 {
        bail!("a classroom needs at least one listener");
    }
    let runtime = crate::nats::runtime()?;
    let handle: Handle = runtime.handle().clone();
    let clients = handle.block_on(async {
        let mut all = Vec::new();
        let mut table = StreamTable::new(frag_size);
        for r in 0..rooms {
            let room = accounts::classroom_room(r);
            let master =
                RawClient::connect(addr, &accounts::master_name(r), password, epoch).await?;
            master.join(room).await?;
            master
                .call(
                    "apply_master",
                    Body::ApplyMaster(pb::ApplyMaster { on: true }),
                )
                .await?;
            master
                .call("apply_aux", Body::ApplyAux(pb::ApplyAux { on: true }))
                .await?;
            for kind in [pb::MediaKind::Video, pb::MediaKind::Audio] {
                let body = Body::Bcast(pb::Bcast {
                    kind: kind as i32,
                    user_id: master.user_id,
                    on: true,
                });
                master.call("bcast", body).await?;
            }
            let master_id = master.user_id;
            let joins = (1..=listeners).map(|i| async move {
                let name = accounts::listener_name(r, i);
                let client = RawClient::connect(addr, &name, password, epoch).await?;
                client.join(room).await?;
                for media_type in [
                    MediaType::VideoMajor,
                    MediaType::VideoMinor,
                    MediaType::Audio,
                ] {
                    client.subscribe(master_id, media_type).await?;
                }
                anyhow::Ok(client)
            });
            let room_listeners = futures_util::future::try_join_all(joins).await?;
            let interactive = room_listeners[0].user_id;
            master
                .call(
                    "set_interact",
                    Body::SetInteract(pb::SetInteract {
                        user_id: interactive,
                    }),
                )
                .await?;
            for media_type in [MediaType::VideoMajor, MediaType::Audio] {
                master.subscribe(interactive, media_type).await?;
            }
            let base = all.len();
            for kind in StreamKind::MASTER {
                table.insert(StreamInfo::new(base, kind, master_id, listeners));
            }
            all.push(master);
            for (i, listener) in room_listeners.into_iter().enumerate() {
                for kind in StreamKind::LISTENER {
                    let subscribers = u32::from(i == 0);
                    table.insert(StreamInfo::new(
                        base + 1 + i,
                        kind,
                        listener.user_id,
                        subscribers,
                    ));
                }
                all.push(listener);
            }
        }
        anyhow::Ok((all, table))
    })?;
    let (clients, table) = clients;
    let table = Arc::new(table);
    for client in &clients {
        let _ = client.table.set(Arc::clone(&table));
    }
    Ok(Classroom {
        runtime,
        clients,
        table,
    })
}

impl Classroom {
    pub fn close(self) {
        let goodbye = encode_control(&pb::ClientMessage::request(
            0,
            Body::Goodbye(pb::Goodbye {}),
        ));
        for client in &self.clients {
            let _ = client.out.send(goodbye.clone());
        }
        std::thread::sleep(Duration::from_millis(200));
        for client in &self.clients {
            for task in &client.tasks {
                task.abort();
            }
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
        self.clients
            .iter()
            .map(|c| c.tracker.lock().counters.frames)
            .sum()
    }

    fn finish(&self) -> RxCounters {
        let mut total = RxCounters::default();
        for client in &self.clients {
            let mut tracker = client.tracker.lock();
            tracker.finish();
            total.merge(&tracker.counters);
        }
        total
    }

    fn client_drops(&self) -> u64 {
        0
    }

    fn disconnects(&self) -> u64 {
        self.clients
            .iter()
            .map(|c| c.lost.load(Ordering::Relaxed))
            .sum()
    }
}

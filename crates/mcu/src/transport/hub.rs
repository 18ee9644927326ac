//! The hub task: owns the room core and the table of connections; feeds the core its inputs
//! and applies its outputs (queue frames, close connections, publish forwarding tables).
//! Media never passes through here.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use conference_proto::{ErrorCode, pb};
use tokio::sync::{mpsc, oneshot, watch};

use super::forward::{MediaStats, RouteTable, Sub};
use super::queue::OutQueue;
use crate::room::{ConnId, Core, Input, Now, Output, StreamRoutes, UserId};

/// Messages to the hub.
pub enum HubMsg {
    /// A new connection (before login).
    Register {
        conn: ConnId,
        out: Arc<OutQueue>,
        routes: watch::Sender<Arc<RouteTable>>,
    },
    Core(Input),
    /// Tell every client the server stops, close them all, then answer.
    Shutdown(oneshot::Sender<()>),
    /// The admin API asks for the live state.
    Snapshot(oneshot::Sender<Snapshot>),
}

/// The live state handed to the admin API.
pub struct Snapshot {
    pub connections: usize,
    pub sessions: usize,
    pub rooms: Vec<crate::room::RoomSnapshot>,
    pub key_frame_requests: u64,
}

struct Entry {
    out: Arc<OutQueue>,
    routes: watch::Sender<Arc<RouteTable>>,
}

pub fn bye(code: ErrorCode) -> bytes::Bytes {
    bye_code(code.code())
}

fn bye_code(code: u32) -> bytes::Bytes {
    let message = pb::ServerMessage {
        body: Some(pb::server_message::Body::Bye(pb::Bye { code })),
    };
    conference_proto::frame::encode_control(&message)
}

pub struct Hub {
    core: Core,
    conns: HashMap<ConnId, Entry>,
    outputs: Vec<Output>,
    stats: Arc<MediaStats>,
    stopped: bool,
}

impl Hub {
    pub fn new(core: Core, stats: Arc<MediaStats>) -> Self {
        Hub {
            core,
            conns: HashMap::new(),
            outputs: Vec::new(),
            stats,
            stopped: false,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::Receiver<HubMsg>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stats_tick = tokio::time::interval(Duration::from_secs(10));
        let mut last_dropped = (0, 0);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => self.handle(message),
                    None => return,
                },
                _ = tick.tick() => self.input(Input::Tick),
                _ = stats_tick.tick() => {
                    let dropped = (
                        self.stats.dropped_slow.load(Ordering::Relaxed),
                        self.stats.dropped_unrouted.load(Ordering::Relaxed),
                    );
                    if dropped != last_dropped {
                        self.log_counters("media fragments dropped");
                        last_dropped = dropped;
                    }
                }
            }
        }
    }

    /// One line with every media counter (`key=value`; the load generator parses it).
    fn log_counters(&self, what: &str) {
        tracing::info!(
            connections = self.conns.len(),
            sessions = self.core.sessions(),
            frames_in = self.stats.frames_in.load(Ordering::Relaxed),
            fragments_out = self.stats.fragments_out.load(Ordering::Relaxed),
            dropped_slow_subscriber = self.stats.dropped_slow.load(Ordering::Relaxed),
            dropped_unrouted = self.stats.dropped_unrouted.load(Ordering::Relaxed),
            "{what}"
        );
    }

    fn handle(&mut self, message: HubMsg) {
        match message {
            HubMsg::Register { conn, out, routes } => {
                if self.stopped {
                    out.close(Some(bye(ErrorCode::ServerStoped)));
                    return;
                }
                self.conns.insert(conn, Entry { out, routes });
            }
            HubMsg::Core(input) => {
                if let Input::Disconnected { conn } = input
                    && let Some(entry) = self.conns.remove(&conn)
                {
                    entry.out.close(None);
                }
                self.input(input);
            }
            HubMsg::Snapshot(reply) => {
                let _ = reply.send(Snapshot {
                    connections: self.conns.len(),
                    sessions: self.core.sessions(),
                    rooms: self.core.snapshot(),
                    key_frame_requests: self.core.key_frame_requests(),
                });
            }
            HubMsg::Shutdown(done) => {
                self.log_counters("media counters at shutdown");
                self.stopped = true;
                self.input(Input::Shutdown);
                for (_, entry) in self.conns.drain() {
                    entry.out.close(Some(bye(ErrorCode::ServerStoped)));
                }
                let _ = done.send(());
            }
        }
    }

    fn input(&mut self, input: Input) {
        let mut pending = vec![input];
        while let Some(input) = pending.pop() {
            self.core.handle(Now::system(), input, &mut self.outputs);
            let outputs = std::mem::take(&mut self.outputs);
            for output in outputs {
                if let Some(conn) = self.apply(output) {
                    // The client does not read its control messages: cut it off.
                    tracing::warn!(conn, "control backlog over its cap, closing");
                    if let Some(entry) = self.conns.remove(&conn) {
                        entry.out.abort();
                    }
                    pending.push(Input::Disconnected { conn });
                }
            }
        }
    }

    /// Applies one output; returns a connection whose control queue overflowed.
    fn apply(&mut self, output: Output) -> Option<ConnId> {
        match output {
            Output::Send { conn, frame } => {
                let entry = self.conns.get(&conn)?;
                entry.out.push_control(frame).err().map(|_| conn)
            }
            Output::Close { conn, code } => {
                if let Some(entry) = self.conns.remove(&conn) {
                    entry.out.close(Some(bye_code(code)));
                }
                None
            }
            Output::Routes {
                conn,
                user_id,
                streams,
            } => {
                let table = self.route_table(conn, user_id, streams);
                if let Some(entry) = self.conns.get(&conn) {
                    entry.routes.send_replace(Arc::new(table));
                }
                None
            }
        }
    }

    /// Resolves connection ids to queues, reusing unchanged subscriber lists so the sender's
    /// task can skip them.
    fn route_table(&self, conn: ConnId, user_id: UserId, streams: StreamRoutes) -> RouteTable {
        let previous = self.conns.get(&conn).map(|e| e.routes.borrow().clone());
        let mut table = RouteTable {
            user_id,
            streams: Default::default(),
        };
        for (index, ids) in streams.into_iter().enumerate() {
            let Some(ids) = ids else {
                continue;
            };
            let old = previous.as_ref().and_then(|t| t.streams[index].clone());
            if let Some(old) = old
                && old.len() == ids.len()
                && old.iter().zip(ids.iter()).all(|(sub, id)| sub.conn == *id)
            {
                table.streams[index] = Some(old);
                continue;
            }
            let subs: Vec<Sub> = ids
                .iter()
                .filter_map(|id| {
                    self.conns.get(id).map(|entry| Sub {
                        conn: *id,
                        out: entry.out.clone(),
                    })
                })
                .collect();
            table.streams[index] = Some(Arc::from(subs));
        }
        table
    }
}

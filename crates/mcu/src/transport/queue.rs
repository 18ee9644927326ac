//! The bounded outgoing queue of one connection, and its direct-write fast path.
//!
//! Many producers (the hub for control frames, every sender's connection task for media),
//! one consumer (the connection's writer). Control frames are never dropped and go out
//! first; a control backlog beyond [`CONTROL_CAP`] means the client does not read, and the
//! connection is closed instead of growing memory. Media frames are accepted or refused
//! whole by the caller's frame-level policy ([`crate::transport::forward`]); this queue only
//! says whether there is room.
//!
//! Fast path: a media frame offered while nothing is queued and nobody writes to the socket is
//! written at once by the offering task with a non-blocking `try_write`; only what the kernel
//! did not take is queued (ahead of everything: those bytes are already half on the wire) and
//! the writer task is woken for it. This saves a task wake-up, a scheduler pass and a queue
//! round trip per delivered frame: about 10 % of the MCU's CPU (`docs/PERFORMANCE.md`).
//! Control frames always go through the writer: the hub fans them out, and one task must not
//! do a thousand system calls for a broadcast while every login waits behind it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::socket::WriteHalf;
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

/// Control backlog (bytes) after which the connection is closed.
pub const CONTROL_CAP: usize = 8 * 1024 * 1024;
/// Media backlog (bytes) beyond which a new media frame is refused.
pub const MEDIA_SOFT_CAP: usize = 2 * 1024 * 1024;
/// Media backlog (bytes) beyond which even the rest of an accepted frame is refused.
pub const MEDIA_HARD_CAP: usize = 6 * 1024 * 1024;
/// Media frames queued beyond which a new media frame is refused (bounds pinned buffers).
pub const MEDIA_MAX_ITEMS: usize = 2048;
/// Largest frame written directly. A larger one (a key frame) goes through the writer tasks,
/// so its fan-out to hundreds of subscribers is spread over every worker instead of being
/// serialised in the sender's task (the tail latency of key frames is the p99).
pub const DIRECT_MAX: usize = 32 * 1024;

/// The control backlog is over its cap: close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

/// Who may write to the socket right now (one at a time, or frames would interleave).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Owner {
    /// Nobody: the next media frame may be written directly when nothing is queued.
    #[default]
    Nobody,
    /// The writer task holds a batch.
    Writer,
    /// A producer is in a direct `try_write`.
    Direct,
}

#[derive(Default)]
struct Inner {
    /// The unwritten rest of a directly written frame: goes out before anything else.
    partial: Option<Bytes>,
    control: VecDeque<Bytes>,
    media: VecDeque<Bytes>,
    control_bytes: usize,
    /// Queued media, `partial` included.
    media_bytes: usize,
    /// No more frames are accepted; the writer ends once the queue is empty.
    closing: bool,
    /// The socket refused a write: the peer is gone (not a close by the server).
    failed: bool,
    writer_waiting: bool,
    owner: Owner,
    /// For direct writes; `None` without a socket (tests) and once finished or aborted, so
    /// the descriptor's write side closes with the writer.
    socket: Option<Arc<WriteHalf>>,
}

impl Inner {
    fn is_empty(&self) -> bool {
        self.partial.is_none() && self.control.is_empty() && self.media.is_empty()
    }

    /// Whether a producer must wake the writer (it waits, and nobody else will).
    fn wake(&mut self) -> bool {
        // A direct writer wakes it when done; waking it now would only make it wait again.
        self.owner != Owner::Direct && std::mem::take(&mut self.writer_waiting)
    }
}

/// What the writer got from [`OutQueue::take`].
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Frames were moved into the batch.
    Frames,
    /// Nothing to write; wait for [`OutQueue::writer_wakeup`].
    Idle,
    /// Closing and drained: shut the socket down.
    Finished,
}

pub struct OutQueue {
    inner: Mutex<Inner>,
    writer_wakeup: Notify,
    closed: Notify,
    /// Media frames refused because this subscriber was too slow.
    pub dropped_media: AtomicU64,
}

impl Default for OutQueue {
    fn default() -> Self {
        OutQueue::new()
    }
}

impl OutQueue {
    /// A queue without a socket: everything goes through [`take`](Self::take).
    pub fn new() -> Self {
        OutQueue {
            inner: Mutex::new(Inner::default()),
            writer_wakeup: Notify::new(),
            closed: Notify::new(),
            dropped_media: AtomicU64::new(0),
        }
    }

    /// A queue whose media frames may be written straight to `socket` (shared with the
    /// connection's writer task).
    pub fn with_socket(socket: Arc<WriteHalf>) -> Self {
        let queue = OutQueue::new();
        queue.inner.lock().socket = Some(socket);
        queue
    }

    /// Queues a control frame. Frames offered after closing are silently discarded.
    pub fn push_control(&self, frame: Bytes) -> Result<(), Overflow> {
        let wake = {
            let mut inner = self.inner.lock();
            if inner.closing {
                return Ok(());
            }
            if inner.control_bytes + frame.len() > CONTROL_CAP {
                return Err(Overflow);
            }
            inner.control_bytes += frame.len();
            inner.control.push_back(frame);
            inner.wake()
        };
        if wake {
            self.writer_wakeup.notify_one();
        }
        Ok(())
    }

    /// Accepts a media frame if there is room: written at once when the socket is free and
    /// nothing is queued, else queued. `continuation`: the rest of a frame whose start was
    /// accepted, allowed up to the hard cap so frames are not cut. Never waits for the socket.
    pub fn push_media(&self, frame: Bytes, continuation: bool) -> bool {
        let mut inner = self.inner.lock();
        if inner.closing {
            return false;
        }
        let fits = if continuation {
            inner.media_bytes + frame.len() <= MEDIA_HARD_CAP
        } else {
            inner.media_bytes + frame.len() <= MEDIA_SOFT_CAP && inner.media.len() < MEDIA_MAX_ITEMS
        };
        if !fits {
            drop(inner);
            self.dropped_media.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if frame.len() <= DIRECT_MAX
            && inner.owner == Owner::Nobody
            && inner.is_empty()
            && let Some(socket) = inner.socket.clone()
        {
            inner.owner = Owner::Direct;
            drop(inner);
            self.write_direct(&socket, frame);
            return true;
        }
        inner.media_bytes += frame.len();
        inner.media.push_back(frame);
        let wake = inner.wake();
        drop(inner);
        if wake {
            self.writer_wakeup.notify_one();
        }
        true
    }

    /// The fast path, holding [`Owner::Direct`]: one non-blocking write, the rest queued.
    fn write_direct(&self, socket: &WriteHalf, frame: Bytes) {
        // `WouldBlock` (socket buffer full): the writer waits for room. Any other error: the
        // writer meets it again on its own write and closes the connection.
        let written = socket.try_write(&frame).unwrap_or(0);
        let wake = {
            let mut inner = self.inner.lock();
            inner.owner = Owner::Nobody;
            if written < frame.len() && inner.socket.is_some() {
                let rest = frame.slice(written..);
                inner.media_bytes += rest.len();
                if written == 0 {
                    // Nothing on the wire yet: an ordinary queued frame (behind control
                    // frames that arrived meanwhile).
                    inner.media.push_back(rest);
                } else {
                    inner.partial = Some(rest);
                }
            }
            // Aborted meanwhile (no socket): the rest is dropped with the connection.
            let pending = !inner.is_empty() || inner.closing;
            pending && std::mem::take(&mut inner.writer_waiting)
        };
        if wake {
            self.writer_wakeup.notify_one();
        }
    }

    /// Stops accepting frames; `last` (a `Bye`) goes out after what is queued, then the
    /// writer shuts the socket down.
    pub fn close(&self, last: Option<Bytes>) {
        {
            let mut inner = self.inner.lock();
            if inner.closing {
                return;
            }
            if let Some(frame) = last {
                inner.control_bytes += frame.len();
                inner.control.push_back(frame);
            }
            inner.closing = true;
            inner.writer_waiting = false;
        }
        self.writer_wakeup.notify_one();
        self.closed.notify_waiters();
    }

    /// Closes at once, discarding what is queued (the peer is gone or hostile).
    pub fn abort(&self) {
        {
            let mut inner = self.inner.lock();
            inner.partial = None;
            inner.control.clear();
            inner.media.clear();
            inner.control_bytes = 0;
            inner.media_bytes = 0;
            inner.closing = true;
            inner.writer_waiting = false;
            inner.socket = None;
        }
        self.writer_wakeup.notify_one();
        self.closed.notify_waiters();
    }

    pub fn is_closing(&self) -> bool {
        self.inner.lock().closing
    }

    /// The writer met a socket error: closes at once, as [`abort`](Self::abort), but the
    /// connection counts as broken by the network (a resumable session is kept).
    pub fn fail(&self) {
        self.inner.lock().failed = true;
        self.abort();
    }

    /// Whether the queue closed because the socket failed.
    pub fn failed(&self) -> bool {
        self.inner.lock().failed
    }

    /// Resolves once [`close`](Self::close) or [`abort`](Self::abort) was called.
    pub async fn closed(&self) {
        loop {
            let notified = self.closed.notified();
            if self.is_closing() {
                return;
            }
            notified.await;
        }
    }

    pub async fn writer_wakeup(&self) {
        self.writer_wakeup.notified().await;
    }

    /// Moves up to `max_bytes` (at least one frame) of queued frames into `batch`: the rest of
    /// a directly written frame first, then control, then media. While frames are handed out
    /// the writer owns the socket; `Idle` gives it back.
    pub fn take(&self, batch: &mut Vec<Bytes>, max_frames: usize, max_bytes: usize) -> Take {
        let mut inner = self.inner.lock();
        if inner.owner == Owner::Direct {
            // The direct writer wakes us when it is done and something is left.
            inner.writer_waiting = true;
            return Take::Idle;
        }
        let mut bytes = 0;
        let before = batch.len();
        if let Some(rest) = inner.partial.take() {
            inner.media_bytes -= rest.len();
            bytes += rest.len();
            batch.push(rest);
        }
        while batch.len() - before < max_frames && bytes < max_bytes {
            if let Some(frame) = inner.control.pop_front() {
                inner.control_bytes -= frame.len();
                bytes += frame.len();
                batch.push(frame);
            } else if let Some(frame) = inner.media.pop_front() {
                inner.media_bytes -= frame.len();
                bytes += frame.len();
                batch.push(frame);
            } else {
                break;
            }
        }
        if batch.len() > before {
            inner.owner = Owner::Writer;
            return Take::Frames;
        }
        inner.owner = Owner::Nobody;
        if inner.closing {
            inner.socket = None;
            return Take::Finished;
        }
        // Give memory back after a burst, so idle connections stay small.
        if inner.media.capacity() > 256 {
            inner.media = VecDeque::new();
        }
        if inner.control.capacity() > 256 {
            inner.control = VecDeque::new();
        }
        inner.writer_waiting = true;
        Take::Idle
    }

    /// (control bytes, media bytes) queued.
    pub fn backlog(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.control_bytes, inner.media_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_goes_first_and_media_is_bounded() {
        let queue = OutQueue::new();
        assert!(queue.push_media(Bytes::from_static(b"m1"), false));
        queue.push_control(Bytes::from_static(b"c1")).unwrap();
        let mut batch = Vec::new();
        assert_eq!(queue.take(&mut batch, 16, 1 << 20), Take::Frames);
        assert_eq!(
            batch,
            vec![Bytes::from_static(b"c1"), Bytes::from_static(b"m1")]
        );
        batch.clear();
        assert_eq!(queue.take(&mut batch, 16, 1 << 20), Take::Idle);

        let big = Bytes::from(vec![0u8; MEDIA_SOFT_CAP]);
        assert!(queue.push_media(big.clone(), false));
        assert!(!queue.push_media(Bytes::from_static(b"x"), false));
        assert!(
            queue.push_media(Bytes::from_static(b"x"), true),
            "rest of a frame"
        );
        assert_eq!(queue.dropped_media.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn control_overflow_is_reported_and_close_drains() {
        let queue = OutQueue::new();
        let chunk = Bytes::from(vec![0u8; 1024 * 1024]);
        for _ in 0..8 {
            queue.push_control(chunk.clone()).unwrap();
        }
        assert_eq!(queue.push_control(chunk.clone()), Err(Overflow));
        queue.close(Some(Bytes::from_static(b"bye")));
        assert!(!queue.push_media(Bytes::from_static(b"m"), false));
        let mut batch = Vec::new();
        while queue.take(&mut batch, 4, 1 << 30) == Take::Frames {}
        assert_eq!(batch.len(), 9);
        assert_eq!(batch.last().unwrap(), &Bytes::from_static(b"bye"));
        batch.clear();
        assert_eq!(queue.take(&mut batch, 4, 1 << 30), Take::Finished);
    }

    /// A connected loopback pair: the server side's write half (shared, as a connection has
    /// it) and the client side, whose receive buffer is small so large writes stay partial.
    async fn socket_pair() -> (
        Arc<WriteHalf>,
        tokio::net::tcp::OwnedReadHalf,
        tokio::net::TcpStream,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = tokio::net::TcpSocket::new_v4().unwrap();
        client.set_recv_buffer_size(4096).unwrap();
        let client = client
            .connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let (read, write) = server.into_split();
        (Arc::new(WriteHalf::Tcp(write)), read, client)
    }

    async fn read_to_end(mut client: tokio::net::TcpStream) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut got = Vec::new();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            client.read_to_end(&mut got),
        )
        .await
        .expect("the writer finished and shut the socket down")
        .unwrap();
        got
    }

    #[tokio::test]
    async fn an_idle_queue_writes_media_directly() {
        let (socket, _read, client) = socket_pair().await;
        let queue = OutQueue::with_socket(socket);
        assert!(queue.push_media(Bytes::from_static(b"frame-1"), false));
        let mut batch = Vec::new();
        assert_eq!(
            queue.take(&mut batch, 16, 1 << 20),
            Take::Idle,
            "nothing was queued: the frame went straight to the socket"
        );
        // The writer gave the socket back: the next frame goes direct too.
        assert!(queue.push_media(Bytes::from_static(b"frame-2"), false));
        assert_eq!(queue.backlog(), (0, 0));
        queue.close(None);
        assert_eq!(queue.take(&mut batch, 16, 1 << 20), Take::Finished);
        drop(queue);
        assert_eq!(read_to_end(client).await, b"frame-1frame-2");
    }

    #[tokio::test]
    async fn a_large_frame_goes_through_the_writer() {
        let (socket, _read, _client) = socket_pair().await;
        let queue = OutQueue::with_socket(socket);
        let big = Bytes::from(vec![7u8; DIRECT_MAX + 1]);
        assert!(queue.push_media(big.clone(), false));
        assert_eq!(queue.backlog(), (0, big.len()));
        // Queued behind it, not written around it.
        assert!(queue.push_media(Bytes::from_static(b"small"), false));
        let mut batch = Vec::new();
        assert_eq!(queue.take(&mut batch, 16, 1 << 20), Take::Frames);
        assert_eq!(batch, vec![big, Bytes::from_static(b"small")]);
    }

    #[tokio::test]
    async fn the_rest_of_a_partial_direct_write_goes_out_before_anything_else() {
        let (socket, _read, client) = socket_pair().await;
        let queue = Arc::new(OutQueue::with_socket(socket.clone()));
        // Nobody reads: frames go straight to the socket until the kernel takes only a part.
        let mut expected = Vec::new();
        for seq in 0..1000u32 {
            let frame: Bytes = (0..30_001u32).map(|i| (i + seq) as u8).collect();
            assert!(queue.push_media(frame.clone(), false));
            expected.extend_from_slice(&frame);
            if queue.backlog().1 > 0 {
                break;
            }
        }
        let (_, queued) = queue.backlog();
        assert!(queued > 0, "the socket never filled up");
        assert!(
            queue.inner.lock().partial.is_some(),
            "the kernel took part of a frame ({queued} bytes left)"
        );
        // Arrive after the frame started on the wire: control must not cut into it.
        queue.push_control(Bytes::from_static(b"control")).unwrap();
        assert!(queue.push_media(Bytes::from_static(b"media"), false));
        queue.close(Some(Bytes::from_static(b"bye")));
        let writer = tokio::spawn(super::super::writer::run(socket, queue.clone()));
        let got = read_to_end(client).await;
        writer.await.unwrap();
        // The rest of the frame, then control (the Bye too) ahead of media, as ever.
        expected.extend_from_slice(b"controlbyemedia");
        assert_eq!(got.len(), expected.len());
        let first_diff = got.iter().zip(&expected).position(|(a, b)| a != b);
        assert_eq!(first_diff, None, "byte stream differs (of {})", got.len());
        assert_eq!(queue.backlog(), (0, 0));
    }
}

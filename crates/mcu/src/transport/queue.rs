//! The bounded outgoing queue of one connection.
//!
//! Many producers (the hub for control frames, every sender's connection task for media),
//! one consumer (the connection's writer). Control frames are never dropped and go out
//! first; a control backlog beyond [`CONTROL_CAP`] means the client does not read, and the
//! connection is closed instead of growing memory. Media frames are accepted or refused
//! whole by the caller's frame-level policy ([`crate::transport::forward`]); this queue only
//! says whether there is room.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// The control backlog is over its cap: close the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow;

#[derive(Default)]
struct Inner {
    control: VecDeque<Bytes>,
    media: VecDeque<Bytes>,
    control_bytes: usize,
    media_bytes: usize,
    /// No more frames are accepted; the writer ends once the queue is empty.
    closing: bool,
    writer_waiting: bool,
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
    pub fn new() -> Self {
        OutQueue {
            inner: Mutex::new(Inner::default()),
            writer_wakeup: Notify::new(),
            closed: Notify::new(),
            dropped_media: AtomicU64::new(0),
        }
    }

    fn wake(&self, inner: &mut Inner) -> bool {
        std::mem::take(&mut inner.writer_waiting)
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
            self.wake(&mut inner)
        };
        if wake {
            self.writer_wakeup.notify_one();
        }
        Ok(())
    }

    /// Queues a media frame if there is room. `continuation`: the rest of a frame whose start
    /// was accepted, allowed up to the hard cap so frames are not cut.
    pub fn push_media(&self, frame: Bytes, continuation: bool) -> bool {
        let wake = {
            let mut inner = self.inner.lock();
            if inner.closing {
                return false;
            }
            let fits = if continuation {
                inner.media_bytes + frame.len() <= MEDIA_HARD_CAP
            } else {
                inner.media_bytes + frame.len() <= MEDIA_SOFT_CAP
                    && inner.media.len() < MEDIA_MAX_ITEMS
            };
            if !fits {
                drop(inner);
                self.dropped_media.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            inner.media_bytes += frame.len();
            inner.media.push_back(frame);
            self.wake(&mut inner)
        };
        if wake {
            self.writer_wakeup.notify_one();
        }
        true
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
            inner.control.clear();
            inner.media.clear();
            inner.control_bytes = 0;
            inner.media_bytes = 0;
            inner.closing = true;
            inner.writer_waiting = false;
        }
        self.writer_wakeup.notify_one();
        self.closed.notify_waiters();
    }

    pub fn is_closing(&self) -> bool {
        self.inner.lock().closing
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

    /// Moves up to `max_bytes` (at least one frame) of queued frames into `batch`, control
    /// first.
    pub fn take(&self, batch: &mut Vec<Bytes>, max_frames: usize, max_bytes: usize) -> Take {
        let mut inner = self.inner.lock();
        let mut bytes = 0;
        let before = batch.len();
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
            return Take::Frames;
        }
        if inner.closing {
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
}

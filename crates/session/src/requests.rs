//! Request/response matching: the map of requests waiting for the MCU (their ids come from
//! the connection's `ClientConn`), and the blocking wait of the calling (C) thread.
//!
//! The caller blocks on a std channel, never inside the runtime; the connection's reader task
//! completes the entry without blocking (the channel has room for the one answer).

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use conference_proto::ErrorCode;
use conference_proto::pb;
use parking_lot::Mutex;

/// What the reader must do besides waking the caller when the answer arrives.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum RequestKind {
    Plain,
    /// `login_conference_room`: a refusal fires LOGIN_ROOM_FAILED.
    Join,
    /// `logout_conference_room`: an acceptance leaves the room in the cache.
    Leave,
    /// The room joined again after a refused resume: the answer is reported as differences.
    Rejoin,
}

/// The answer a waiting caller gets: the MCU's response, or why there will be none.
pub(crate) type Answer = Result<pb::Response, ErrorCode>;

/// A request waiting for its response.
pub(crate) struct Waiter {
    pub kind: RequestKind,
    reply: SyncSender<Answer>,
}

impl Waiter {
    /// Wakes the caller. Never blocks: the channel holds exactly this one answer.
    pub fn answer(self, answer: Answer) {
        // The caller may have given up (timeout); nobody to tell then.
        let _ = self.reply.try_send(answer);
    }
}

/// The requests in flight on one connection.
pub(crate) struct Pending {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Set once the connection is gone: new requests fail at once with this code.
    closed: Option<ErrorCode>,
    waiting: HashMap<u32, Waiter>,
}

impl Pending {
    pub fn new() -> Self {
        Pending {
            inner: Mutex::new(Inner {
                closed: None,
                waiting: HashMap::new(),
            }),
        }
    }

    /// Registers the waiter of request `id` (allocated by the connection's `ClientConn`).
    pub fn register(&self, id: u32, kind: RequestKind) -> Result<Receiver<Answer>, ErrorCode> {
        let mut inner = self.inner.lock();
        if let Some(code) = inner.closed {
            return Err(code);
        }
        let (reply, rx) = sync_channel(1);
        inner.waiting.insert(id, Waiter { kind, reply });
        Ok(rx)
    }

    /// The code new requests fail with, once closed.
    pub fn closed(&self) -> Option<ErrorCode> {
        self.inner.lock().closed
    }

    /// Takes the waiter of a response; `None` for an unknown or abandoned id.
    pub fn take(&self, id: u32) -> Option<Waiter> {
        self.inner.lock().waiting.remove(&id)
    }

    /// Fails every waiting request with `code`; later ones are still accepted.
    pub fn fail_waiting(&self, code: ErrorCode) {
        let waiting: Vec<Waiter> = self
            .inner
            .lock()
            .waiting
            .drain()
            .map(|(_, waiter)| waiter)
            .collect();
        for waiter in waiting {
            waiter.answer(Err(code));
        }
    }

    /// Fails every waiting request with `code`, and every later one.
    pub fn close(&self, code: ErrorCode) {
        let waiting: Vec<Waiter> = {
            let mut inner = self.inner.lock();
            inner.closed.get_or_insert(code);
            inner.waiting.drain().map(|(_, waiter)| waiter).collect()
        };
        for waiter in waiting {
            waiter.answer(Err(code));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().waiting.len()
    }
}

/// Blocks the calling thread until the answer of request `id` or the timeout. On timeout the
/// request is forgotten, so a late response is ignored.
pub(crate) fn wait(pending: &Pending, id: u32, rx: &Receiver<Answer>, timeout: Duration) -> Answer {
    match rx.recv_timeout(timeout) {
        Ok(answer) => answer,
        Err(RecvTimeoutError::Timeout) => {
            if pending.take(id).is_none() {
                // Answered between the timeout and the removal: take that answer.
                if let Ok(answer) = rx.try_recv() {
                    return answer;
                }
            }
            Err(ErrorCode::Timeout)
        }
        // The waiter was dropped without an answer: the runtime is gone.
        Err(RecvTimeoutError::Disconnected) => Err(ErrorCode::NetworkException),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(id: u32, code: u32) -> pb::Response {
        pb::Response {
            request_id: id,
            code,
            result: None,
        }
    }

    #[test]
    fn responses_reach_the_request_with_their_id_in_any_order() {
        let pending = Pending::new();
        let (a, b) = (1, 2);
        let rx_a = pending.register(a, RequestKind::Plain).unwrap();
        let rx_b = pending.register(b, RequestKind::Join).unwrap();
        let waiter_b = pending.take(b).unwrap();
        assert_eq!(waiter_b.kind, RequestKind::Join);
        waiter_b.answer(Ok(response(b, 0x10014)));
        pending.take(a).unwrap().answer(Ok(response(a, 0)));
        let got_b = wait(&pending, b, &rx_b, Duration::from_secs(1)).unwrap();
        let got_a = wait(&pending, a, &rx_a, Duration::from_secs(1)).unwrap();
        assert_eq!((got_a.request_id, got_a.code), (a, 0));
        assert_eq!((got_b.request_id, got_b.code), (b, 0x10014));
        assert!(pending.take(a).is_none(), "an id completes once");
    }

    #[test]
    fn a_timed_out_request_is_forgotten_and_its_late_response_ignored() {
        let pending = Pending::new();
        let id = 7;
        let rx = pending.register(id, RequestKind::Plain).unwrap();
        assert_eq!(
            wait(&pending, id, &rx, Duration::from_millis(1)),
            Err(ErrorCode::Timeout)
        );
        assert_eq!(pending.len(), 0);
        assert!(pending.take(id).is_none());
    }

    #[test]
    fn closing_fails_waiting_and_later_requests() {
        let pending = Pending::new();
        let id = 3;
        let rx = pending.register(id, RequestKind::Leave).unwrap();
        pending.close(ErrorCode::NetworkException);
        assert_eq!(
            wait(&pending, id, &rx, Duration::from_secs(1)),
            Err(ErrorCode::NetworkException)
        );
        assert_eq!(
            pending.register(4, RequestKind::Plain).err(),
            Some(ErrorCode::NetworkException)
        );
    }
}

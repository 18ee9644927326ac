//! The resume state of one session (docs/PROTOCOL.md §8), shared by the hub, which stamps and
//! keeps every sequenced message it sends, and the connection task of the session's current
//! link, which applies the client's acknowledgements and tells the client the MCU's own.

use bytes::Bytes;
use conference_proto::resume::{ReplayBuffer, ReplayOverflow, TOKEN_LEN, stamp_seq};
use parking_lot::Mutex;

pub type Token = [u8; TOKEN_LEN];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    New,
    Seen,
    Gap,
}

pub struct ResumeState {
    pub token: Token,
    /// What a resume must prove knowledge of (derived from the login, never sent after a
    /// SCRAM login).
    pub key: [u8; 32],
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Sequenced messages to the client not yet acknowledged.
    sent: ReplayBuffer,
    /// The last sequenced client message applied.
    received: u64,
}

impl ResumeState {
    pub fn new(token: Token, key: [u8; 32]) -> Self {
        ResumeState {
            token,
            key,
            inner: Mutex::default(),
        }
    }

    /// `frame` numbered and kept until acknowledged, then handed to `send` (the link's
    /// queue, if any) under the same lock: a `Ping` built by [`with_last_sent`] can never
    /// overtake a message it counts.
    pub fn keep_and_send<E>(
        &self,
        frame: &Bytes,
        send: impl FnOnce(Bytes) -> Result<(), E>,
    ) -> Result<Result<(), E>, ReplayOverflow> {
        let mut inner = self.inner.lock();
        let stamped = stamp_seq(frame, inner.sent.next_seq());
        inner.sent.push(stamped.clone())?;
        Ok(send(stamped))
    }

    /// Runs `send` with the last sequence number sent, under the lock of
    /// [`keep_and_send`](Self::keep_and_send).
    pub fn with_last_sent<R>(&self, send: impl FnOnce(u64) -> R) -> R {
        let inner = self.inner.lock();
        send(inner.sent.last_seq())
    }

    /// The client has every message up to `seq`.
    pub fn ack(&self, seq: u64) {
        self.inner.lock().sent.ack(seq);
    }

    /// What to do with the client message `seq`: apply it (it is now counted as applied),
    /// skip it (seen before a cut: never applied twice), or give the link up (one before it
    /// never came: the link lost it, a resume replays it).
    pub fn accept(&self, seq: u64) -> Accept {
        let mut inner = self.inner.lock();
        if seq <= inner.received {
            Accept::Seen
        } else if seq == inner.received + 1 {
            inner.received = seq;
            Accept::New
        } else {
            Accept::Gap
        }
    }

    /// The last client message applied (what a `Ping` acknowledges).
    pub fn received(&self) -> u64 {
        self.inner.lock().received
    }

    /// What the client has not seen after `received`, in order.
    pub fn replay_after(&self, received: u64) -> Vec<Bytes> {
        self.inner
            .lock()
            .sent
            .replay_after(received)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conference_proto::frame::encode_control;
    use conference_proto::pb;

    #[test]
    fn client_messages_are_applied_once_and_replays_follow_acks() {
        let state = ResumeState::new([1; TOKEN_LEN], [2; 32]);
        assert_eq!(state.accept(1), Accept::New);
        assert_eq!(
            state.accept(1),
            Accept::Seen,
            "a replayed request is not applied twice"
        );
        assert_eq!(state.accept(3), Accept::Gap, "2 was lost with the link");
        assert_eq!(state.accept(2), Accept::New);
        assert_eq!(state.received(), 2);
        let frame = encode_control(&pb::ServerMessage::response(1, 0, None));
        for _ in 0..3 {
            state
                .keep_and_send(&frame, |_| Ok::<(), ()>(()))
                .unwrap()
                .unwrap();
        }
        assert_eq!(state.with_last_sent(|seq| seq), 3);
        state.ack(1);
        assert_eq!(state.replay_after(1).len(), 2);
        assert_eq!(state.replay_after(2).len(), 1);
    }
}

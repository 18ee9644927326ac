//! The mixer thread: a [`Mixer`] driven by a [`FrameClock`], fed through a bounded channel.
//!
//! While inactive the thread blocks in `recv()` (no CPU). While active it sleeps in
//! `recv_timeout` until the next 20 ms deadline, taking packets as they come, and emits one
//! frame per deadline.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

use crate::clock::FrameClock;
use crate::format::OutputFormat;
use crate::mix::{Mixer, MixerConfig};
use crate::packet::{AudioPacket, MixedFrame, SourceId};

/// Commands queued between 20 ms frames; at 50 packets/s per source this holds a second of
/// twenty talkers.
const QUEUE: usize = 1024;

enum Command {
    Packet(SourceId, AudioPacket),
    Remove(SourceId),
    SetOwn(Option<SourceId>),
    SetActive(bool, Option<SyncSender<()>>),
    Stop,
}

/// A running mixer thread delivering [`MixedFrame`]s to a sink every 20 ms while active.
/// All methods take `&self`; share it (e.g. in an `Arc`) between the network side that pushes
/// packets and the control side. Dropping it stops and joins the thread.
pub struct MixerThread {
    tx: SyncSender<Command>,
    active: Arc<AtomicBool>,
    thread_id: ThreadId,
    handle: Option<JoinHandle<()>>,
}

impl MixerThread {
    /// Starts the thread, inactive. `sink` runs on the mixer thread with each frame; it should
    /// hand the frame on quickly (e.g. to the dispatcher) and must not call back into this
    /// `MixerThread` expecting frames to stop synchronously.
    pub fn spawn<F>(format: OutputFormat, config: MixerConfig, sink: F) -> io::Result<Self>
    where
        F: FnMut(MixedFrame) + Send + 'static,
    {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let mixer = Mixer::with_config(format, config);
        let handle = thread::Builder::new()
            .name("conference-mixer".into())
            .spawn(move || run(mixer, rx, sink))?;
        Ok(Self {
            tx,
            active: Arc::new(AtomicBool::new(false)),
            thread_id: handle.thread().id(),
            handle: Some(handle),
        })
    }

    /// Queues a received packet; never blocks. Returns false when it was not queued: the
    /// mixer is inactive, the queue is full, or the thread is gone.
    pub fn push(&self, source: SourceId, packet: AudioPacket) -> bool {
        if !self.active.load(Ordering::Acquire) {
            return false;
        }
        match self.tx.try_send(Command::Packet(source, packet)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::debug!(source, "mixer queue full, packet dropped");
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Forgets a source (its user left the room).
    pub fn remove_source(&self, source: SourceId) {
        self.send(Command::Remove(source));
    }

    /// The caller's own stream id, never mixed.
    pub fn set_own_source(&self, own: Option<SourceId>) {
        self.send(Command::SetOwn(own));
    }

    /// Starts (entering a room) or stops (leaving) the 20 ms output. Returns once the thread has
    /// applied it: after `set_active(false)` returns, no further frame reaches the sink, and all
    /// sources are dropped. Timestamps continue from the last frame when restarted.
    pub fn set_active(&self, active: bool) {
        if thread::current().id() == self.thread_id {
            // Called from the sink: we cannot wait for ourselves.
            self.active.store(active, Ordering::Release);
            self.send(Command::SetActive(active, None));
            return;
        }
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if active {
            self.send(Command::SetActive(true, Some(ack_tx)));
            let _ = ack_rx.recv();
            self.active.store(true, Ordering::Release);
        } else {
            self.active.store(false, Ordering::Release);
            self.send(Command::SetActive(false, Some(ack_tx)));
            let _ = ack_rx.recv();
        }
    }

    /// Stops and joins the thread (same as dropping it).
    pub fn stop(self) {
        drop(self);
    }

    fn send(&self, cmd: Command) {
        if thread::current().id() == self.thread_id {
            // On the mixer thread a full queue would never drain.
            let _ = self.tx.try_send(cmd);
        } else {
            // A disconnected channel means the thread is gone: nothing left to control.
            let _ = self.tx.send(cmd);
        }
    }
}

impl Drop for MixerThread {
    fn drop(&mut self) {
        self.active.store(false, Ordering::Release);
        self.send(Command::Stop);
        if let Some(handle) = self.handle.take()
            && handle.thread().id() != thread::current().id()
        {
            let _ = handle.join();
        }
    }
}

/// The thread body; returns on `Stop` or when every sender is gone.
fn run<F: FnMut(MixedFrame)>(mut mixer: Mixer, rx: Receiver<Command>, mut sink: F) {
    let mut clock: Option<FrameClock> = None;
    let mut sink_panicked = false;
    loop {
        let cmd = match &clock {
            None => match rx.recv() {
                Ok(cmd) => Some(cmd),
                Err(_) => return,
            },
            Some(c) => {
                let wait = c.deadline().saturating_duration_since(Instant::now());
                if wait.is_zero() {
                    None
                } else {
                    match rx.recv_timeout(wait) {
                        Ok(cmd) => Some(cmd),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
        };
        if let Some(cmd) = cmd {
            if !apply(cmd, &mut mixer, &mut clock) {
                return;
            }
            continue;
        }
        // A frame is due: take what has arrived meanwhile, then mix.
        while let Ok(cmd) = rx.try_recv() {
            if !apply(cmd, &mut mixer, &mut clock) {
                return;
            }
        }
        let Some(c) = clock.as_mut() else { continue };
        let frame = mixer.next_frame();
        if catch_unwind(AssertUnwindSafe(|| sink(frame))).is_err() && !sink_panicked {
            sink_panicked = true;
            tracing::error!("mixer sink panicked; frames keep coming");
        }
        if c.advance(Instant::now()) {
            tracing::warn!("mixer thread fell behind by more than 100 ms; clock restarted");
        }
    }
}

/// Applies one command; false means stop.
fn apply(cmd: Command, mixer: &mut Mixer, clock: &mut Option<FrameClock>) -> bool {
    match cmd {
        Command::Packet(source, packet) => {
            // Packets queued just before deactivation are dropped with the sources.
            if clock.is_some() {
                mixer.push(source, packet);
            }
        }
        Command::Remove(source) => mixer.remove_source(source),
        Command::SetOwn(own) => mixer.set_own_source(own),
        Command::SetActive(active, ack) => {
            if active && clock.is_none() {
                *clock = Some(FrameClock::new(Instant::now()));
            } else if !active && clock.is_some() {
                *clock = None;
                mixer.reset();
            }
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
        }
        Command::Stop => return false,
    }
    true
}

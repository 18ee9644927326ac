//! The dispatcher: hands every event of an instance to its [`EventSink`], in the order the
//! events were queued, one at a time, with no lock of the session held during the call.
//!
//! Each instance has its own [`Queue`] (events, media drop policy, sink) pinned to one
//! dispatcher thread ([`DispatchThread`]); a thread serves the queues pinned to it in turns,
//! as a run queue of the instances that have events. An instance is never in the run queue
//! twice and only its own thread runs its sink, so its events are delivered in order and
//! never concurrently. A per-instance `Sdk` has a thread of its own (one queue).
//!
//! Control events are never dropped. Media events pass a [`ReceivePolicy`]: when the sink falls
//! behind (the queued media exceed the budget) whole frames are dropped, and a video stream
//! that lost a frame waits for its next key frame.

use std::cell::Cell;
use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{JoinHandle, ThreadId};

use parking_lot::{Condvar, Mutex};

use crate::receive_policy::{DropStats, MediaBudget, ReceivePolicy};
use crate::{Event, EventSink};

/// Events one instance may deliver before the next instance of the same thread gets its
/// turn: a busy instance cannot starve the others, and a turn still amortises the locking.
const TURN: usize = 64;

thread_local! {
    /// The queue whose sink this thread is running right now (0: none). `Queue::stop` from
    /// inside that sink must not wait for the sink to return.
    static DELIVERING: Cell<u64> = const { Cell::new(0) };
}

/// Queue ids start at 1; 0 means "no queue" in [`DELIVERING`].
static NEXT_QUEUE_ID: AtomicU64 = AtomicU64::new(1);

struct Inner {
    events: VecDeque<Event>,
    gate: ReceivePolicy,
    stopped: bool,
    /// In its thread's run queue or being run: a push must not schedule it again.
    scheduled: bool,
}

/// One instance's events: the producer side is shared by the network task, the API calls
/// and the mixer; the consumer side runs on the pinned dispatcher thread.
pub(crate) struct Queue {
    id: u64,
    inner: Mutex<Inner>,
    /// Locked by the dispatcher thread for a turn, by `stop` to drop it. Lock order: before
    /// `inner` and before the session state (a callback may call the API).
    sink: Mutex<Option<Box<dyn EventSink>>>,
    worker: Arc<Worker>,
}

impl Queue {
    pub fn new(worker: Arc<Worker>, budget: MediaBudget, sink: Box<dyn EventSink>) -> Arc<Self> {
        Arc::new(Queue {
            id: NEXT_QUEUE_ID.fetch_add(1, Ordering::Relaxed),
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                gate: ReceivePolicy::new(budget),
                stopped: false,
                scheduled: false,
            }),
            sink: Mutex::new(Some(sink)),
            worker,
        })
    }

    /// Queues an event; media may be dropped by the gate. Never blocks for long (two short
    /// locks, never the sink's).
    pub fn push(self: &Arc<Self>, event: Event) {
        let mut inner = self.inner.lock();
        if inner.stopped {
            return;
        }
        if let Event::Media(media) = &event
            && !inner.gate.admit(media)
        {
            return;
        }
        inner.events.push_back(event);
        let schedule = !std::mem::replace(&mut inner.scheduled, true);
        drop(inner);
        if schedule {
            self.worker.schedule(Arc::clone(self));
        }
    }

    /// Whether the caller is inside this queue's sink (a callback of this instance).
    pub fn is_delivering(&self) -> bool {
        DELIVERING.get() == self.id
    }

    pub fn stats(&self) -> DropStats {
        self.inner.lock().gate.stats()
    }

    /// Stops delivery: the events still queued are discarded, nothing more is delivered, and
    /// the sink is dropped. Waits for a callback of this instance running on its dispatcher
    /// thread to return, unless called from inside that callback: then the dispatcher thread
    /// drops the sink once the callback returns.
    pub fn stop(&self) {
        {
            let mut inner = self.inner.lock();
            inner.stopped = true;
            inner.events.clear();
        }
        if DELIVERING.get() == self.id {
            return;
        }
        let sink = self.sink.lock().take();
        drop(sink);
    }

    /// One turn on the dispatcher thread: up to [`TURN`] events, then back to the end of the
    /// run queue if more are waiting.
    fn run_turn(self: Arc<Self>) {
        let mut sink = self.sink.lock();
        for _ in 0..TURN {
            let event = {
                let mut inner = self.inner.lock();
                if inner.stopped {
                    break;
                }
                let Some(event) = inner.events.pop_front() else {
                    inner.scheduled = false;
                    return;
                };
                if let Event::Media(media) = &event {
                    inner.gate.released(media.payload.len());
                }
                event
            };
            let Some(target) = sink.as_mut() else {
                break;
            };
            DELIVERING.set(self.id);
            // A panicking sink loses that one event, not the dispatcher.
            let delivered = catch_unwind(AssertUnwindSafe(|| target.deliver(event)));
            DELIVERING.set(0);
            if delivered.is_err() {
                tracing::error!("event sink panicked; event skipped");
            }
        }
        let mut inner = self.inner.lock();
        if inner.stopped {
            // Stopped from inside the sink (or while it ran): the sink goes now.
            drop(inner);
            sink.take();
            return;
        }
        if inner.events.is_empty() {
            inner.scheduled = false;
            return;
        }
        drop(inner);
        drop(sink);
        let worker = Arc::clone(&self.worker);
        worker.schedule(self);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().events.len()
    }
}

struct RunQueue {
    ready: VecDeque<Arc<Queue>>,
    stopped: bool,
}

/// The run queue of one dispatcher thread: the instances pinned to it that have events.
pub(crate) struct Worker {
    state: Mutex<RunQueue>,
    wake: Condvar,
}

impl Worker {
    pub fn new() -> Arc<Self> {
        Arc::new(Worker {
            state: Mutex::new(RunQueue {
                ready: VecDeque::new(),
                stopped: false,
            }),
            wake: Condvar::new(),
        })
    }

    fn schedule(&self, queue: Arc<Queue>) {
        let mut state = self.state.lock();
        if state.stopped {
            return;
        }
        state.ready.push_back(queue);
        drop(state);
        self.wake.notify_one();
    }

    /// The next instance to run, or `None` once stopped.
    fn next(&self) -> Option<Arc<Queue>> {
        let mut state = self.state.lock();
        loop {
            if state.stopped {
                return None;
            }
            if let Some(queue) = state.ready.pop_front() {
                return Some(queue);
            }
            self.wake.wait(&mut state);
        }
    }

    fn stop(&self) {
        let ready = {
            let mut state = self.state.lock();
            state.stopped = true;
            std::mem::take(&mut state.ready)
        };
        self.wake.notify_all();
        drop(ready);
    }
}

/// One dispatcher thread, `conference-dispatch`.
pub(crate) struct DispatchThread {
    worker: Arc<Worker>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

impl DispatchThread {
    /// Starts a thread running `worker`'s queues.
    pub fn start(worker: Arc<Worker>) -> std::io::Result<Self> {
        let thread_worker = Arc::clone(&worker);
        let thread = std::thread::Builder::new()
            .name("conference-dispatch".into())
            .spawn(move || {
                while let Some(queue) = thread_worker.next() {
                    queue.run_turn();
                }
            })?;
        let thread_id = thread.thread().id();
        Ok(DispatchThread {
            worker,
            thread: Some(thread),
            thread_id,
        })
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }
}

/// Dropping stops the thread and joins it, unless called from it (inside a callback): then
/// it ends by itself once the running callback returns.
impl Drop for DispatchThread {
    fn drop(&mut self) {
        self.worker.stop();
        if let Some(thread) = self.thread.take()
            && std::thread::current().id() != self.thread_id
            && thread.join().is_err()
        {
            tracing::error!("dispatcher thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaEvent;
    use bytes::Bytes;
    use conference_proto::codes::result_code;
    use conference_proto::media::MediaHeader;
    use conference_proto::{ErrorCode, MediaType};
    use std::sync::atomic::AtomicBool;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    fn audio(len: usize) -> Event {
        Event::Media(MediaEvent {
            header: MediaHeader {
                sender_id: 1,
                stream_type: MediaType::Audio as u8,
                frame_seq: 3,
                key_frame: 16,
                ..MediaHeader::default()
            },
            payload: Bytes::from(vec![0u8; len]),
            user_id: 1,
            media_type: MediaType::Audio,
        })
    }

    struct Collect(mpsc::Sender<Event>);

    impl EventSink for Collect {
        fn deliver(&mut self, event: Event) {
            let _ = self.0.send(event);
        }
    }

    /// A control event tagged `tag` (carried as its result number, which nothing here reads).
    fn state(tag: u32) -> Event {
        Event::State(crate::StateEvent {
            state: crate::StateId::UserTalk,
            result: ErrorCode::check(tag),
            user: None,
            extra: crate::EventExtra::None,
        })
    }

    fn tag(state: &crate::StateEvent) -> u32 {
        result_code(state.result)
    }

    fn wait_empty(queue: &Queue) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while queue.len() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(queue.len(), 0);
    }

    #[test]
    fn the_thread_delivers_in_order_and_control_events_are_never_dropped() {
        let worker = Worker::new();
        let (tx, rx) = mpsc::channel();
        let queue = Queue::new(
            Arc::clone(&worker),
            MediaBudget {
                max_events: 1,
                max_bytes: 1,
            },
            Box::new(Collect(tx)),
        );
        // Queue everything before the thread starts, so the sink is "slow".
        for i in 0..1_000 {
            queue.push(state(i));
            queue.push(audio(1));
        }
        assert_eq!(
            queue.len(),
            1_001,
            "1000 control events + the one media event of budget"
        );
        let thread = DispatchThread::start(worker).unwrap();
        let mut results = Vec::new();
        while results.len() < 1_000 {
            if let Event::State(event) = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                results.push(tag(&event));
            }
        }
        assert_eq!(results, (0..1_000).collect::<Vec<_>>());
        assert_eq!(queue.stats().frames, 999);
        queue.stop();
        queue.push(state(5));
        assert_eq!(queue.len(), 0, "nothing is queued after stop");
        drop(thread);
    }

    /// Records its events and fails the test if it is ever entered twice at once.
    struct Exclusive {
        inside: Arc<AtomicBool>,
        overlaps: Arc<AtomicU64>,
        tx: mpsc::Sender<(usize, u32)>,
        index: usize,
    }

    impl EventSink for Exclusive {
        fn deliver(&mut self, event: Event) {
            if self.inside.swap(true, Ordering::AcqRel) {
                self.overlaps.fetch_add(1, Ordering::Relaxed);
            }
            std::thread::yield_now();
            if let Event::State(state) = event {
                let _ = self.tx.send((self.index, tag(&state)));
            }
            self.inside.store(false, Ordering::Release);
        }
    }

    #[test]
    fn queues_sharing_threads_deliver_in_order_and_never_concurrently() {
        const QUEUES: usize = 12;
        const EVENTS: u32 = 2_000;
        let threads: Vec<DispatchThread> = (0..3)
            .map(|_| DispatchThread::start(Worker::new()).unwrap())
            .collect();
        let overlaps = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::channel();
        let queues: Vec<Arc<Queue>> = (0..QUEUES)
            .map(|index| {
                let sink = Exclusive {
                    inside: Arc::new(AtomicBool::new(false)),
                    overlaps: Arc::clone(&overlaps),
                    tx: tx.clone(),
                    index,
                };
                let worker = Arc::clone(threads[index % threads.len()].worker());
                Queue::new(worker, MediaBudget::default(), Box::new(sink))
            })
            .collect();
        drop(tx);
        // Several producers per queue would not say anything about order: one producer
        // thread per queue, all at once.
        std::thread::scope(|scope| {
            for queue in &queues {
                scope.spawn(move || {
                    for i in 0..EVENTS {
                        queue.push(state(i));
                    }
                });
            }
        });
        let mut next = [0u32; QUEUES];
        for _ in 0..QUEUES * EVENTS as usize {
            let (index, result) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            assert_eq!(result, next[index], "queue {index} out of order");
            next[index] += 1;
        }
        assert_eq!(overlaps.load(Ordering::Relaxed), 0);
        for queue in &queues {
            queue.stop();
        }
        drop(threads);
    }

    struct Panicky;

    impl EventSink for Panicky {
        fn deliver(&mut self, event: Event) {
            if let Event::State(state) = event
                && tag(&state) == 1
            {
                panic!("sink panic (expected by the test)");
            }
        }
    }

    #[test]
    fn a_panicking_sink_does_not_kill_the_dispatcher() {
        let thread = DispatchThread::start(Worker::new()).unwrap();
        let queue = Queue::new(
            Arc::clone(thread.worker()),
            MediaBudget::default(),
            Box::new(Panicky),
        );
        queue.push(state(1));
        queue.push(state(2));
        wait_empty(&queue);
        queue.stop();
        drop(thread);
    }

    /// Stops its own queue from inside its callback, then reports that it was dropped.
    struct StopsItself {
        queue: Arc<Mutex<Option<Arc<Queue>>>>,
        delivered: mpsc::Sender<u32>,
        dropped: mpsc::Sender<()>,
    }

    impl EventSink for StopsItself {
        fn deliver(&mut self, event: Event) {
            if let Event::State(state) = event {
                let _ = self.delivered.send(tag(&state));
                if tag(&state) == 1
                    && let Some(queue) = self.queue.lock().take()
                {
                    queue.stop();
                }
            }
        }
    }

    impl Drop for StopsItself {
        fn drop(&mut self) {
            let _ = self.dropped.send(());
        }
    }

    #[test]
    fn a_sink_stopping_its_own_queue_is_dropped_and_its_thread_serves_the_others() {
        let thread = DispatchThread::start(Worker::new()).unwrap();
        let slot = Arc::new(Mutex::new(None));
        let (delivered, delivered_rx) = mpsc::channel();
        let (dropped, dropped_rx) = mpsc::channel();
        let queue = Queue::new(
            Arc::clone(thread.worker()),
            MediaBudget::default(),
            Box::new(StopsItself {
                queue: Arc::clone(&slot),
                delivered,
                dropped,
            }),
        );
        *slot.lock() = Some(Arc::clone(&queue));
        let (tx, rx) = mpsc::channel();
        let other = Queue::new(
            Arc::clone(thread.worker()),
            MediaBudget::default(),
            Box::new(Collect(tx)),
        );
        for i in 0..3 {
            queue.push(state(i));
        }
        dropped_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the sink is dropped after stopping itself");
        assert_eq!(delivered_rx.try_iter().collect::<Vec<_>>(), vec![0, 1]);
        other.push(state(7));
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Event::State(state) => assert_eq!(tag(&state), 7),
            Event::Media(_) => unreachable!(),
        }
        other.stop();
        drop(thread);
    }
}

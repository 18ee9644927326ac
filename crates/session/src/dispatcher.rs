//! The dispatcher: one dedicated thread hands every event to the application's [`EventSink`],
//! in the order the events were queued, with no lock held during the call.
//!
//! Control events are never dropped. Media events pass a [`MediaGate`]: when the sink falls
//! behind (the queued media exceed the budget) whole frames are dropped, and a video stream
//! that lost a frame waits for its next key frame.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::thread::{JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use conference_proto::MediaType;
use conference_proto::media::MediaHeader;
use parking_lot::{Condvar, Mutex};

use crate::{Event, EventSink, MediaEvent};

/// How much media may wait for the sink before frames are dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MediaBudget {
    /// Media events (fragments) queued.
    pub max_events: usize,
    /// Payload bytes queued.
    pub max_bytes: usize,
}

impl Default for MediaBudget {
    fn default() -> Self {
        // A few seconds of several HD streams: a hiccup of the application passes unharmed.
        MediaBudget {
            max_events: 2048,
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Media the dispatcher dropped because the sink could not keep up.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct DropStats {
    /// Whole frames dropped (a fragmented frame counts once).
    pub frames: u64,
    /// Media events (fragments) dropped.
    pub events: u64,
    /// Payload bytes dropped.
    pub bytes: u64,
}

/// Where a stream stands between two frames.
#[derive(Copy, Clone, Debug, Default)]
struct StreamGate {
    /// The current frame is being dropped: its remaining fragments go too.
    dropping: bool,
    /// Video only: a frame was lost, so everything up to the next key frame is dropped.
    need_key: bool,
}

/// The drop policy, apart from the queue so it can be tested alone.
pub(crate) struct MediaGate {
    budget: MediaBudget,
    queued_events: usize,
    queued_bytes: usize,
    streams: HashMap<(i32, MediaType), StreamGate>,
    stats: DropStats,
    last_log: Option<Instant>,
}

/// A frame that has started is finished even over budget (whole frames only), up to this
/// many times the budget; past that its rest is dropped and the stream resynchronises.
const HARD_LIMIT_FACTOR: usize = 4;

impl MediaGate {
    pub fn new(budget: MediaBudget) -> Self {
        MediaGate {
            budget,
            queued_events: 0,
            queued_bytes: 0,
            streams: HashMap::new(),
            stats: DropStats::default(),
            last_log: None,
        }
    }

    /// Decides whether a media event may be queued; counts it when it may.
    pub fn admit(&mut self, event: &MediaEvent) -> bool {
        let len = event.payload.len();
        let header = &event.header;
        let video = event.media_type.is_video();
        let over = self.queued_events >= self.budget.max_events
            || self.queued_bytes + len > self.budget.max_bytes;
        let gate = self
            .streams
            .entry((event.user_id, event.media_type))
            .or_default();
        let admit = if header.starts_frame() {
            if over || (video && gate.need_key && !is_key(header)) {
                gate.dropping = !header.ends_frame();
                gate.need_key |= video;
                self.stats.frames += 1;
                false
            } else {
                gate.dropping = false;
                if video && is_key(header) {
                    gate.need_key = false;
                }
                true
            }
        } else if gate.dropping {
            false
        } else {
            let hard_over = self.queued_events >= self.budget.max_events * HARD_LIMIT_FACTOR
                || self.queued_bytes + len > self.budget.max_bytes * HARD_LIMIT_FACTOR;
            if hard_over {
                gate.dropping = true;
                gate.need_key |= video;
                self.stats.frames += 1;
                false
            } else {
                true
            }
        };
        if header.ends_frame() && !admit {
            gate.dropping = false;
        }
        if admit {
            self.queued_events += 1;
            self.queued_bytes += len;
        } else {
            self.stats.events += 1;
            self.stats.bytes += len as u64;
            self.log_drop(event);
        }
        admit
    }

    /// A media event left the queue (delivered or discarded).
    pub fn released(&mut self, len: usize) {
        self.queued_events = self.queued_events.saturating_sub(1);
        self.queued_bytes = self.queued_bytes.saturating_sub(len);
    }

    pub fn stats(&self) -> DropStats {
        self.stats
    }

    fn log_drop(&mut self, event: &MediaEvent) {
        // At most one line a second, with the running totals.
        let now = Instant::now();
        if self
            .last_log
            .is_none_or(|last| now.duration_since(last) >= Duration::from_secs(1))
        {
            self.last_log = Some(now);
            tracing::warn!(
                user = event.user_id,
                stream = ?event.media_type,
                frames = self.stats.frames,
                bytes = self.stats.bytes,
                "event sink too slow: media frames dropped"
            );
        }
    }
}

fn is_key(header: &MediaHeader) -> bool {
    header.key_frame == 1
}

struct Inner {
    events: VecDeque<Event>,
    gate: MediaGate,
    stopped: bool,
}

/// The producer side, shared by the network task, the API calls and the mixer.
pub(crate) struct Queue {
    inner: Mutex<Inner>,
    ready: Condvar,
}

impl Queue {
    pub fn new(budget: MediaBudget) -> Self {
        Queue {
            inner: Mutex::new(Inner {
                events: VecDeque::new(),
                gate: MediaGate::new(budget),
                stopped: false,
            }),
            ready: Condvar::new(),
        }
    }

    /// Queues an event; media may be dropped by the gate. Never blocks for long (one lock).
    pub fn push(&self, event: Event) {
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
        drop(inner);
        self.ready.notify_one();
    }

    pub fn stats(&self) -> DropStats {
        self.inner.lock().gate.stats()
    }

    /// Stops delivery: the events still queued are discarded, the thread ends as soon as it
    /// is not inside the sink.
    pub fn stop(&self) {
        let mut inner = self.inner.lock();
        inner.stopped = true;
        inner.events.clear();
        drop(inner);
        self.ready.notify_all();
    }

    /// The next event, or `None` once stopped.
    fn next(&self) -> Option<Event> {
        let mut inner = self.inner.lock();
        loop {
            if inner.stopped {
                return None;
            }
            if let Some(event) = inner.events.pop_front() {
                if let Event::Media(media) = &event {
                    inner.gate.released(media.payload.len());
                }
                return Some(event);
            }
            self.ready.wait(&mut inner);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().events.len()
    }
}

/// The dispatcher thread.
pub(crate) struct Dispatcher {
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
    thread_id: ThreadId,
}

impl Dispatcher {
    pub fn start(queue: Arc<Queue>, mut sink: Box<dyn EventSink>) -> std::io::Result<Self> {
        let thread_queue = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("conference-dispatch".into())
            .spawn(move || {
                while let Some(event) = thread_queue.next() {
                    // A panicking sink loses that one event, not the dispatcher.
                    if catch_unwind(AssertUnwindSafe(|| sink.deliver(event))).is_err() {
                        tracing::error!("event sink panicked; event skipped");
                    }
                }
            })?;
        let thread_id = thread.thread().id();
        Ok(Dispatcher {
            queue,
            thread: Some(thread),
            thread_id,
        })
    }

    /// True on the dispatcher thread itself (inside a callback).
    pub fn is_current(&self) -> bool {
        std::thread::current().id() == self.thread_id
    }

    /// Stops the thread and joins it, unless called from it: then it ends by itself once the
    /// running callback returns, delivering nothing more.
    pub fn stop(mut self) {
        self.queue.stop();
        if let Some(thread) = self.thread.take()
            && !self.is_current()
            && thread.join().is_err()
        {
            tracing::error!("dispatcher thread panicked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::mpsc;

    fn media(user: i32, ty: MediaType, seq: u16, key: u16, len: usize) -> MediaEvent {
        MediaEvent {
            header: MediaHeader {
                sender_id: user as u32,
                stream_type: ty as u8,
                frame_seq: seq,
                key_frame: key,
                ..MediaHeader::default()
            },
            payload: Bytes::from(vec![0u8; len]),
            user_id: user,
            media_type: ty,
        }
    }

    const FIRST: u16 = 1;
    const MIDDLE: u16 = 0;
    const LAST: u16 = 2;
    const WHOLE: u16 = 3;

    #[test]
    fn within_budget_everything_passes() {
        let mut gate = MediaGate::new(MediaBudget {
            max_events: 10,
            max_bytes: 1000,
        });
        for seq in [FIRST, MIDDLE, LAST, WHOLE] {
            assert!(gate.admit(&media(1, MediaType::VideoMajor, seq, 0, 10)));
        }
        assert_eq!(gate.stats(), DropStats::default());
    }

    #[test]
    fn over_budget_whole_frames_are_dropped_and_video_waits_for_a_key_frame() {
        let mut gate = MediaGate::new(MediaBudget {
            max_events: 2,
            max_bytes: 1_000_000,
        });
        let video = MediaType::VideoMajor;
        // A started frame is finished even though it goes over budget.
        assert!(gate.admit(&media(1, video, FIRST, 1, 10)));
        assert!(gate.admit(&media(1, video, MIDDLE, 1, 10)));
        assert!(gate.admit(&media(1, video, LAST, 1, 10)));
        // Over budget: the next frame goes whole, fragments included.
        assert!(!gate.admit(&media(1, video, FIRST, 0, 10)));
        assert!(!gate.admit(&media(1, video, MIDDLE, 0, 10)));
        assert!(!gate.admit(&media(1, video, LAST, 0, 10)));
        // The sink catches up...
        for _ in 0..3 {
            gate.released(10);
        }
        // ...but a delta frame cannot be decoded without what was lost.
        assert!(!gate.admit(&media(1, video, WHOLE, 0, 10)));
        // Another stream is independent.
        assert!(gate.admit(&media(2, video, WHOLE, 0, 10)));
        gate.released(10);
        // The next key frame resumes the stream.
        assert!(gate.admit(&media(1, video, FIRST, 1, 10)));
        assert!(gate.admit(&media(1, video, LAST, 1, 10)));
        gate.released(10);
        gate.released(10);
        assert!(gate.admit(&media(1, video, WHOLE, 0, 10)));
        assert_eq!(
            gate.stats(),
            DropStats {
                frames: 2,
                events: 4,
                bytes: 40,
            }
        );
    }

    #[test]
    fn audio_resumes_at_the_next_frame() {
        let mut gate = MediaGate::new(MediaBudget {
            max_events: 1_000,
            max_bytes: 100,
        });
        assert!(gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        assert!(!gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        gate.released(80);
        assert!(gate.admit(&media(1, MediaType::Audio, WHOLE, 16, 80)));
        assert_eq!(gate.stats().frames, 1);
    }

    #[test]
    fn a_runaway_frame_is_cut_at_the_hard_limit() {
        let mut gate = MediaGate::new(MediaBudget {
            max_events: 2,
            max_bytes: 1_000_000,
        });
        let video = MediaType::VideoMajor;
        assert!(gate.admit(&media(1, video, FIRST, 1, 1)));
        for _ in 1..2 * HARD_LIMIT_FACTOR {
            assert!(gate.admit(&media(1, video, MIDDLE, 1, 1)));
        }
        assert!(!gate.admit(&media(1, video, MIDDLE, 1, 1)));
        assert!(!gate.admit(&media(1, video, LAST, 1, 1)));
        assert_eq!(gate.stats().frames, 1);
    }

    struct Collect(mpsc::Sender<Event>);

    impl EventSink for Collect {
        fn deliver(&mut self, event: Event) {
            let _ = self.0.send(event);
        }
    }

    fn state(result: u32) -> Event {
        Event::State(crate::StateEvent {
            state: crate::StateId::UserTalk,
            result,
            user: None,
            extra: crate::EventExtra::None,
        })
    }

    #[test]
    fn the_thread_delivers_in_order_and_control_events_are_never_dropped() {
        let queue = Arc::new(Queue::new(MediaBudget {
            max_events: 1,
            max_bytes: 1,
        }));
        // Queue everything before the thread starts, so the sink is "slow".
        for i in 0..1_000 {
            queue.push(state(i));
            queue.push(Event::Media(media(1, MediaType::Audio, WHOLE, 16, 1)));
        }
        assert_eq!(
            queue.len(),
            1_001,
            "1000 control events + the one media event of budget"
        );
        let (tx, rx) = mpsc::channel();
        let dispatcher = Dispatcher::start(Arc::clone(&queue), Box::new(Collect(tx))).unwrap();
        let mut results = Vec::new();
        while results.len() < 1_000 {
            if let Event::State(event) = rx.recv_timeout(Duration::from_secs(10)).unwrap() {
                results.push(event.result);
            }
        }
        assert_eq!(results, (0..1_000).collect::<Vec<_>>());
        assert_eq!(queue.stats().frames, 999);
        dispatcher.stop();
        queue.push(state(5));
        assert_eq!(queue.len(), 0, "nothing is queued after stop");
    }

    struct Panicky;

    impl EventSink for Panicky {
        fn deliver(&mut self, event: Event) {
            if let Event::State(state) = event
                && state.result == 1
            {
                panic!("sink panic (expected by the test)");
            }
        }
    }

    #[test]
    fn a_panicking_sink_does_not_kill_the_dispatcher() {
        let queue = Arc::new(Queue::new(MediaBudget::default()));
        let dispatcher = Dispatcher::start(Arc::clone(&queue), Box::new(Panicky)).unwrap();
        queue.push(state(1));
        queue.push(state(2));
        let deadline = Instant::now() + Duration::from_secs(10);
        while queue.len() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(queue.len(), 0);
        dispatcher.stop();
    }
}

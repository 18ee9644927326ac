//! The threads instances run on: network threads (each a current-thread tokio runtime) and
//! dispatcher threads. A per-instance `Sdk` owns a core of one of each; a process running
//! many instances shares one core among them ([`SharedCore`]).
//!
//! Each instance is pinned at start to the least loaded network thread (its connection's
//! tasks) and the least loaded dispatcher thread (its sink), and stays there: no task or
//! event of an instance ever changes thread, so its events stay in order without any
//! cross-thread hand-off beyond the one network → dispatcher.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use conference_proto::ErrorCode;
use tokio::runtime::Handle;

use crate::dispatcher::{DispatchThread, Worker};
use crate::runtime::NetRuntime;

/// A thread and how many instances are pinned to it.
struct Lane<T> {
    thread: T,
    instances: AtomicUsize,
}

impl<T> Lane<T> {
    fn new(thread: T) -> Self {
        Lane {
            thread,
            instances: AtomicUsize::new(0),
        }
    }
}

/// Pins one more instance to the least loaded lane; returns its index.
fn pin<T>(lanes: &[Lane<T>]) -> usize {
    let index = lanes
        .iter()
        .enumerate()
        .min_by_key(|(_, lane)| lane.instances.load(Ordering::Relaxed))
        .map_or(0, |(index, _)| index);
    lanes[index].instances.fetch_add(1, Ordering::Relaxed);
    index
}

/// The threads themselves. Dropped with the last reference (the [`SharedCore`] and every
/// attached instance hold one): stops the threads and joins them, except the calling thread
/// if it is one of them (the last instance shut down from inside its callback), which ends
/// by itself when the callback returns.
struct Threads {
    net: Vec<Lane<NetRuntime>>,
    dispatch: Vec<Lane<DispatchThread>>,
}

/// Network and dispatcher threads shared by many [`crate::Sdk`] instances of one process
/// (`Sdk::start_on`); the load generator runs hundreds of clients on one.
///
/// - Each instance's events are delivered in order and never concurrently, on the one
///   dispatcher thread it is pinned to; different instances' callbacks may run at the same
///   time on different dispatcher threads.
/// - A callback that blocks (a control call waits for the MCU, or the application's own
///   work) holds up the delivery of every instance pinned to the same dispatcher thread for
///   that long; their media may then be dropped by their budgets. Control calls from a
///   callback (any instance's, `shutdown` included) never deadlock: the network side never
///   waits for a dispatcher thread. What the core cannot rule out is the application's own
///   wait: a callback that waits for an *event* of another instance (say, on a condition
///   variable set by that instance's sink) never returns if both are pinned to the same
///   dispatcher thread. With one instance per core (`Sdk::start`) this cannot happen.
/// - Shutting an instance down leaves the core running. The threads stop when the core and
///   every instance started on it are gone; dropping the `SharedCore` after the last
///   instance's shutdown joins them.
pub struct SharedCore {
    threads: Arc<Threads>,
}

impl SharedCore {
    /// Starts `net_threads` network threads and `dispatcher_threads` dispatcher threads (at
    /// least one of each). `ThreadErr` when a thread cannot be started.
    pub fn new(net_threads: usize, dispatcher_threads: usize) -> Result<SharedCore, ErrorCode> {
        // Already started threads are stopped and joined when `threads` is dropped on error.
        let mut threads = Threads {
            net: Vec::new(),
            dispatch: Vec::new(),
        };
        for _ in 0..dispatcher_threads.max(1) {
            let thread = DispatchThread::start(Worker::new()).map_err(|err| {
                tracing::error!(%err, "cannot start a dispatcher thread");
                ErrorCode::ThreadErr
            })?;
            threads.dispatch.push(Lane::new(thread));
        }
        for _ in 0..net_threads.max(1) {
            threads.net.push(Lane::new(NetRuntime::start()?));
        }
        Ok(SharedCore {
            threads: Arc::new(threads),
        })
    }

    /// Pins a new instance to a network and a dispatcher thread.
    pub(crate) fn attach(&self) -> Attachment {
        Attachment {
            net: pin(&self.threads.net),
            dispatch: pin(&self.threads.dispatch),
            threads: Arc::clone(&self.threads),
        }
    }
}

/// An instance's place on a core: keeps the threads alive while the instance is started.
pub(crate) struct Attachment {
    threads: Arc<Threads>,
    net: usize,
    dispatch: usize,
}

impl Attachment {
    /// Spawns the instance's tasks on its network thread.
    pub fn runtime(&self) -> Handle {
        self.threads.net[self.net].thread.handle().clone()
    }

    /// Runs the instance's sink on its dispatcher thread.
    pub fn worker(&self) -> Arc<Worker> {
        Arc::clone(self.threads.dispatch[self.dispatch].thread.worker())
    }
}

impl Drop for Attachment {
    fn drop(&mut self) {
        self.threads.net[self.net]
            .instances
            .fetch_sub(1, Ordering::Relaxed);
        self.threads.dispatch[self.dispatch]
            .instances
            .fetch_sub(1, Ordering::Relaxed);
        // The field `threads` goes next: the last reference stops and joins the threads.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_go_to_the_least_loaded_threads() {
        let core = SharedCore::new(2, 3).unwrap();
        let a = core.attach();
        let b = core.attach();
        let c = core.attach();
        assert_eq!((a.net, b.net, c.net), (0, 1, 0));
        assert_eq!((a.dispatch, b.dispatch, c.dispatch), (0, 1, 2));
        drop(b);
        let d = core.attach();
        assert_eq!(
            (d.net, d.dispatch),
            (1, 1),
            "the freed places are taken first"
        );
        drop((a, c, d));
    }

    #[test]
    fn the_threads_live_as_long_as_an_instance_does() {
        let core = SharedCore::new(1, 1).unwrap();
        let attachment = core.attach();
        drop(core);
        let (tx, rx) = std::sync::mpsc::channel();
        attachment.runtime().spawn(async move {
            let _ = tx.send(());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the network thread still runs");
        drop(attachment);
    }
}

//! A network thread: a current-thread tokio runtime on one named thread. A recorder has 2–4
//! cores and one connection, which needs no more than one thread; a process running many
//! instances shares a few of these threads among them (see `core.rs`).

use std::thread::JoinHandle;
use std::time::Duration;

use conference_proto::ErrorCode;
use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

/// Longest wait for blocking work (a stuck name lookup) when the runtime stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct NetRuntime {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Dropped after the thread is joined. Every clone must be dropped too (the instances
    /// drop theirs at shutdown), since a handle keeps the runtime's epoll descriptor open.
    handle: Handle,
}

impl NetRuntime {
    /// Starts the thread; [`NetRuntime::handle`] spawns tasks onto it.
    pub fn start() -> Result<NetRuntime, ErrorCode> {
        let runtime = Builder::new_current_thread()
            .enable_io()
            .enable_time()
            // Host name lookups are the only blocking work.
            .max_blocking_threads(1)
            .thread_name("conference-resolve")
            .thread_keep_alive(Duration::from_millis(200))
            .build()
            .map_err(|err| {
                tracing::error!(%err, "cannot build the network runtime");
                ErrorCode::ThreadErr
            })?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("conference-net".into())
            .spawn(move || {
                runtime.block_on(async {
                    // Either a stop request or the sender dropped: both mean stop.
                    let _ = stopped.await;
                });
                // Drops every task (and so every socket) on this thread.
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })
            .map_err(|err| {
                tracing::error!(%err, "cannot start the network thread");
                ErrorCode::ThreadErr
            })?;
        Ok(NetRuntime {
            stop: Some(stop),
            thread: Some(thread),
            handle,
        })
    }

    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("network thread panicked");
        }
    }
}

/// Dropping stops every task and joins the thread.
impl Drop for NetRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

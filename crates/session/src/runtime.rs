//! The network runtime: a current-thread tokio runtime on one named thread. A recorder has
//! 2–4 cores; one connection needs no more than one thread.

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
}

impl NetRuntime {
    /// Starts the thread; the handle spawns tasks onto it. Every clone of the handle must be
    /// dropped after [`NetRuntime::stop`], since it keeps the runtime's epoll descriptor open.
    pub fn start() -> Result<(NetRuntime, Handle), ErrorCode> {
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
        Ok((
            NetRuntime {
                stop: Some(stop),
                thread: Some(thread),
            },
            handle,
        ))
    }

    /// Stops every task and joins the thread.
    pub fn stop(mut self) {
        self.shutdown();
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

impl Drop for NetRuntime {
    fn drop(&mut self) {
        self.shutdown();
    }
}

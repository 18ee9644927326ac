//! The writer of one connection: drains its queue with vectored writes.
//!
//! The socket's write half is shared with the queue's direct-write fast path; the queue's
//! owner token ([`OutQueue::take`]) makes sure only one of them writes at a time. Writes are
//! non-blocking attempts; only this task ever waits for the socket to take more.

use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::{Buf, Bytes};

use super::queue::{OutQueue, Take};
use super::socket::WriteHalf;

/// Frames per batch (and iovecs per write).
const MAX_BATCH: usize = 64;
/// Bytes per batch.
const MAX_BATCH_BYTES: usize = 512 * 1024;

/// Returns once the queue is finished or the socket failed; the write side is shut down when
/// the last handle of `socket` goes (the queue gives its own up when it finishes or aborts).
pub async fn run(socket: Arc<WriteHalf>, out: Arc<OutQueue>) {
    let mut batch: Vec<Bytes> = Vec::new();
    loop {
        match out.take(&mut batch, MAX_BATCH, MAX_BATCH_BYTES) {
            Take::Frames => {
                if let Err(err) = write_batch(&socket, &mut batch).await {
                    tracing::debug!("write failed: {err}");
                    out.fail();
                    return;
                }
            }
            Take::Idle => {
                if batch.capacity() > MAX_BATCH {
                    batch = Vec::new();
                }
                out.writer_wakeup().await;
            }
            Take::Finished => return,
        }
    }
}

/// Writes every frame of `batch` (partial writes resumed), then empties it.
async fn write_batch(socket: &WriteHalf, batch: &mut Vec<Bytes>) -> io::Result<()> {
    let mut first = 0;
    while first < batch.len() {
        let mut written = {
            let mut slices = [IoSlice::new(&[]); MAX_BATCH];
            let count = (batch.len() - first).min(MAX_BATCH);
            for (slot, frame) in slices.iter_mut().zip(&batch[first..first + count]) {
                *slot = IoSlice::new(frame);
            }
            loop {
                match socket.try_write_vectored(&slices[..count]) {
                    Ok(n) => break n,
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                        socket.writable().await?
                    }
                    Err(err) => return Err(err),
                }
            }
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let len = batch[first].len();
            if written >= len {
                written -= len;
                first += 1;
            } else {
                batch[first].advance(written);
                written = 0;
            }
        }
    }
    batch.clear();
    Ok(())
}

//! The writer of one connection: drains its queue with vectored writes.

use std::io::{self, IoSlice};
use std::sync::Arc;

use bytes::{Buf, Bytes};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use super::queue::{OutQueue, Take};

/// Frames per batch (and iovecs per write).
const MAX_BATCH: usize = 64;
/// Bytes per batch.
const MAX_BATCH_BYTES: usize = 512 * 1024;

pub async fn run(mut socket: OwnedWriteHalf, out: Arc<OutQueue>) {
    let mut batch: Vec<Bytes> = Vec::new();
    loop {
        match out.take(&mut batch, MAX_BATCH, MAX_BATCH_BYTES) {
            Take::Frames => {
                if let Err(err) = write_batch(&mut socket, &mut batch).await {
                    tracing::debug!("write failed: {err}");
                    out.abort();
                    return;
                }
            }
            Take::Idle => {
                if batch.capacity() > MAX_BATCH {
                    batch = Vec::new();
                }
                out.writer_wakeup().await;
            }
            Take::Finished => {
                let _ = socket.shutdown().await;
                return;
            }
        }
    }
}

/// Writes every frame of `batch` (partial writes resumed), then empties it.
async fn write_batch(socket: &mut OwnedWriteHalf, batch: &mut Vec<Bytes>) -> io::Result<()> {
    let mut first = 0;
    while first < batch.len() {
        let mut slices = [IoSlice::new(&[]); MAX_BATCH];
        let count = (batch.len() - first).min(MAX_BATCH);
        for (slot, frame) in slices.iter_mut().zip(&batch[first..first + count]) {
            *slot = IoSlice::new(frame);
        }
        let mut written = socket.write_vectored(&slices[..count]).await?;
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

//! The two halves of a client connection, TCP or (behind the TLS bridge) a socket pair.

use std::io::{self, IoSlice};

use tokio::io::AsyncRead;
use tokio::net::{TcpStream, UnixStream, tcp, unix};

/// The read half: only ever read sequentially by the connection task.
pub type ReadHalf = Box<dyn AsyncRead + Send + Sync + Unpin>;

/// The write half, shared by the writer task and the direct-write fast path: non-blocking
/// writes and a readiness wait.
pub enum WriteHalf {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

impl WriteHalf {
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(half) => half.try_write(buf),
            WriteHalf::Unix(half) => half.try_write(buf),
        }
    }

    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            WriteHalf::Tcp(half) => half.try_write_vectored(bufs),
            WriteHalf::Unix(half) => half.try_write_vectored(bufs),
        }
    }

    pub async fn writable(&self) -> io::Result<()> {
        match self {
            WriteHalf::Tcp(half) => half.writable().await,
            WriteHalf::Unix(half) => half.writable().await,
        }
    }
}

pub fn split_tcp(stream: TcpStream) -> (ReadHalf, WriteHalf) {
    let (read, write) = stream.into_split();
    (Box::new(read), WriteHalf::Tcp(write))
}

pub fn split_unix(stream: UnixStream) -> (ReadHalf, WriteHalf) {
    let (read, write) = stream.into_split();
    (Box::new(read), WriteHalf::Unix(write))
}

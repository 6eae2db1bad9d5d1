//! Reading and writing a client socket through a shared reference, so the
//! request body, the disconnect watch and the response writer can all use
//! it, and so that an idle connection holds no read buffer at all.

use bytes::BytesMut;
use std::cell::RefCell;
use std::io::{self, Read};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Reads of at most this many bytes go through a per-thread scratch buffer
/// and are copied into a buffer of exactly the size that arrived: a typical
/// request then costs a few hundred bytes of heap, not a fixed 8 KiB.
const SMALL_READ: usize = 8 * 1024;

thread_local! {
    /// The scratch buffer for small reads (zeroed once, when the thread
    /// first reads; reads overwrite it).
    static SCRATCH: RefCell<Box<[u8; SMALL_READ]>> = RefCell::new(Box::new([0; SMALL_READ]));
}

/// Reads what the socket has (at most `hint` bytes when that is larger than
/// [`SMALL_READ`]) into `buf` without waiting. `Ok(0)` is the end of the
/// stream; `WouldBlock` means nothing has arrived.
pub fn try_read(socket: &TcpStream, buf: &mut BytesMut, hint: usize) -> io::Result<usize> {
    if hint > SMALL_READ {
        buf.reserve(hint);
        return socket.try_read_buf(buf);
    }
    let want = hint.max(1);
    let mut got = None;
    let result = socket.try_io(Interest::READABLE, || {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let n = (&*socket2::SockRef::from(socket)).read(&mut scratch[..want])?;
            buf.extend_from_slice(&scratch[..n]);
            got = Some(n);
            if n > 0 && n < want {
                // A short read drained the socket: report it as would-block
                // so tokio clears the readiness, sparing the next read a
                // system call that could only say "nothing yet" (tokio's
                // own reads do the same).
                Err(io::ErrorKind::WouldBlock.into())
            } else {
                Ok(n)
            }
        })
    });
    match got {
        Some(n) => Ok(n),
        None => result,
    }
}

/// Polls [`try_read`] until bytes (or the end of the stream) arrive.
pub fn poll_read(
    socket: &TcpStream,
    buf: &mut BytesMut,
    hint: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    loop {
        ready!(socket.poll_read_ready(cx))?;
        match try_read(socket, buf, hint) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            other => return Poll::Ready(other),
        }
    }
}

/// Writes all of `data`; a client that takes none of it for `stall` is
/// given up on (`TimedOut`), so a client that never reads cannot hold a
/// response, and the node's in-flight slot behind it, forever.
pub async fn write_all(socket: &TcpStream, mut data: &[u8], stall: Duration) -> io::Result<()> {
    while !data.is_empty() {
        match socket.try_write(data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                tokio::time::timeout(stall, socket.writable())
                    .await
                    .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Polls writing all of `data`, `*written` bytes of which are already out.
pub fn poll_write_all(
    socket: &TcpStream,
    data: &[u8],
    written: &mut usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while *written < data.len() {
        ready!(socket.poll_write_ready(cx))?;
        match socket.try_write(&data[*written..]) {
            Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Ok(n) => *written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    Poll::Ready(Ok(()))
}

/// Resolves when the client has closed or reset the connection. Returns
/// pending for good once the client sends more bytes instead (a pipelined
/// request): those stay in the socket for the next read.
pub struct ClosedWatch<'a> {
    socket: &'a TcpStream,
    watching: bool,
}

impl<'a> ClosedWatch<'a> {
    /// Watches `socket`.
    pub fn new(socket: &'a TcpStream) -> Self {
        ClosedWatch {
            socket,
            watching: true,
        }
    }

    /// Whether the client is gone; registers for a wake-up otherwise.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.watching {
            return Poll::Pending;
        }
        match self.socket.poll_read_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(_)) => Poll::Ready(()),
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                let mut probe = tokio::io::ReadBuf::new(&mut probe);
                match self.socket.poll_peek(cx, &mut probe) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => Poll::Ready(()),
                    Poll::Ready(Ok(_)) => {
                        self.watching = false;
                        Poll::Pending
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

//! Closing an HTTP/1 connection without destroying its last response: FIN
//! first, then read and discard what the client still sends.

use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

/// How long a closing HTTP/1 connection keeps reading (and discarding) what
/// the client still sends after the last response.
const LINGER: Duration = Duration::from_secs(3);

/// Closes an HTTP/1 connection the way HAProxy and nginx do: send FIN after
/// the last response, then read and discard until the client closes too (or
/// [`LINGER`] passes). Closing a socket with unread request bytes in it makes
/// the kernel send a reset, which can destroy an error response (a 413 sent
/// while the client is still uploading) before the client has read it.
pub async fn close_lingering<I: AsyncRead + AsyncWrite + Unpin>(mut socket: I) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let drain = async {
        if socket.shutdown().await.is_err() {
            return;
        }
        // Allocated only here, so an open connection's task stays small.
        let mut sink = vec![0u8; 4096];
        while let Ok(n) = socket.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

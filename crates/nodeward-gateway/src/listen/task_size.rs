//! Keeps what an idle connection costs in check: the task future every
//! plain HTTP/1.1 connection holds must stay small (the scale benchmark,
//! bench/scale.sh, measures the rest). Sizes are read from the futures'
//! types, so no connection is needed.

use super::guard::ConnPermit;
use crate::state::Shared;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The size of what `f` returns, without calling it.
fn returned_size<A, F, R>(_: F) -> usize
where
    F: FnOnce(A) -> R,
    R: Future,
{
    std::mem::size_of::<R>()
}

/// Same, for six arguments.
fn returned_size6<A, B, C, D, E, G, F, R>(_: F) -> usize
where
    F: FnOnce(A, B, C, D, E, G) -> R,
    R: Future,
{
    std::mem::size_of::<R>()
}

#[test]
fn an_idle_connection_task_stays_small() {
    let h1 = returned_size(super::h1::serve);
    let other = returned_size6(
        |s: Arc<Shared>,
         i: usize,
         t: TcpStream,
         p: SocketAddr,
         w: watch::Receiver<bool>,
         g: ConnPermit| super::serve::connection(s, i, t, p, w, g),
    );
    eprintln!("plain HTTP/1.1 task future: {h1} bytes; TLS/h2c task future: {other} bytes");
    // A tokio task cell is header (32), scheduler and id (16), the future's
    // stage (the future plus 8) and trailer (48), rounded up to a multiple
    // of 128: a future of at most 152 bytes keeps the task in 256 bytes.
    // Figures of a debug build (what `cargo test` builds; release is 8
    // bytes smaller, a TcpStream being 32 bytes there, not 40): 1,216 bytes
    // before the request path was boxed out of the idle future, 576 before
    // the head deadline and the shutdown wait moved to the listener's
    // `IdleSet`, 152 since the socket, the connection's state and the
    // wait share one future without copies.
    assert!(h1 <= 152, "plain HTTP/1.1 task future is {h1} bytes");
    assert!(
        other <= 1280,
        "TLS/h2c connection task future is {other} bytes"
    );
}

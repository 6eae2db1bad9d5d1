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
fn returned_size<A, B, F, R>(_: F) -> usize
where
    F: FnOnce(A, B) -> R,
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
    let h1 = returned_size(|c: super::h1::Conn, t: TcpStream| super::h1::serve(c, t));
    let other = returned_size6(
        |s: Arc<Shared>,
         i: usize,
         t: TcpStream,
         p: SocketAddr,
         w: watch::Receiver<bool>,
         g: ConnPermit| super::serve::connection(s, i, t, p, w, g),
    );
    eprintln!("plain HTTP/1.1 task future: {h1} bytes; TLS/h2c task future: {other} bytes");
    // A tokio task is its future plus 96 bytes (header, scheduler, id,
    // trailer), rounded up to a multiple of 128: at most 288 bytes of
    // future keep the task in 384 bytes. Figures of a debug build (what
    // `cargo test` builds; release is smaller): 1,216 bytes before the
    // request path was boxed out of the idle future, 576 before the head
    // deadline and the shutdown wait moved to the listener's `IdleSet`.
    assert!(h1 <= 288, "plain HTTP/1.1 task future is {h1} bytes");
    assert!(
        other <= 1280,
        "TLS/h2c connection task future is {other} bytes"
    );
}

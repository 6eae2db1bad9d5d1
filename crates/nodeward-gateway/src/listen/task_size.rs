//! Keeps what an idle connection costs in check: the task future every
//! connection holds, and the plain HTTP/1.1 serving future inside it, must
//! stay small (the scale benchmark, bench/scale.sh, measures the rest).
//! Sizes are read from the futures' types, so no connection is needed.

use super::guard::ConnPermit;
use crate::config::Global;
use crate::request::ConnInfo;
use crate::state::Shared;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// The size of what `f` returns, without calling it.
fn returned_size<A, B, C, D, E, F, R>(_: F) -> usize
where
    F: FnOnce(A, B, C, D, E) -> R,
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
    let task = returned_size6(
        |s: Arc<Shared>,
         i: usize,
         t: TcpStream,
         p: SocketAddr,
         w: watch::Receiver<bool>,
         g: ConnPermit| super::serve::connection(s, i, t, p, w, g),
    );
    let h1 = returned_size(
        |s: &'static Arc<Shared>,
         t: TcpStream,
         c: Arc<ConnInfo>,
         g: &'static Global,
         w: watch::Receiver<bool>| super::h1::serve(s, t, c, g, w),
    );
    eprintln!("connection task future: {task} bytes; HTTP/1.1 serving future: {h1} bytes");
    assert!(h1 <= task, "the task holds the HTTP/1.1 future");
    // Figures of a debug build (what `cargo test` builds): 2,840 bytes
    // before the request path was boxed out of the idle future, 1,216 after.
    assert!(h1 <= 640, "HTTP/1.1 serving future is {h1} bytes");
    assert!(task <= 1280, "connection task future is {task} bytes");
}

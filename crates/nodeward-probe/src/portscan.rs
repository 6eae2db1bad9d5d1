//! A concurrent TCP connect scanner with a bounded number of sockets and
//! timeouts that adapt to the round-trip times it measures.
//!
//! Each worker takes the next port from a shared counter, so at most
//! `concurrency` sockets are open at once. A connect that succeeds or is
//! refused tells us the round-trip time; the timeout for the following connects
//! is `srtt + 4 * rttvar` (RFC 6298), kept between `min_timeout` and
//! `max_timeout`. Ports that time out are tried once more at the end with the
//! largest timeout, so a slow start never hides an open port.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Most sockets open at the same time.
    pub concurrency: usize,
    /// Timeout before any round trip has been measured.
    pub initial_timeout: Duration,
    /// The adaptive timeout never goes below this.
    pub min_timeout: Duration,
    /// The adaptive timeout never goes above this (also the retry timeout).
    pub max_timeout: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            concurrency: 512,
            initial_timeout: Duration::from_millis(1000),
            min_timeout: Duration::from_millis(100),
            max_timeout: Duration::from_millis(1500),
        }
    }
}

/// What one port answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortState {
    /// The connection was accepted.
    Open,
    /// The host answered with a reset.
    Closed,
    /// No answer within the timeout, or unreachable.
    Filtered,
}

/// The outcome of a scan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    /// Open ports, ascending.
    pub open: Vec<u16>,
    /// How many ports answered closed.
    pub closed: usize,
    /// Ports that never answered, ascending.
    pub filtered: Vec<u16>,
    /// The adaptive timeout at the end of the scan, in milliseconds.
    pub final_timeout_ms: u64,
}

/// Round-trip estimator (RFC 6298 smoothing) giving the current connect timeout.
#[derive(Debug)]
struct RttEstimator {
    srtt: Option<f64>,
    rttvar: f64,
    opts: ScanOptions,
}

impl RttEstimator {
    fn new(opts: ScanOptions) -> Self {
        RttEstimator {
            srtt: None,
            rttvar: 0.0,
            opts,
        }
    }

    fn observe(&mut self, rtt: Duration) {
        let r = rtt.as_secs_f64();
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2.0;
            }
            Some(s) => {
                self.rttvar = 0.75 * self.rttvar + 0.25 * (s - r).abs();
                self.srtt = Some(0.875 * s + 0.125 * r);
            }
        }
    }

    fn timeout(&self) -> Duration {
        let t = match self.srtt {
            None => self.opts.initial_timeout,
            Some(s) => Duration::from_secs_f64(s + 4.0 * self.rttvar),
        };
        t.clamp(self.opts.min_timeout, self.opts.max_timeout)
    }
}

async fn probe_port(ip: IpAddr, port: u16, timeout: Duration) -> (PortState, Option<Duration>) {
    let start = Instant::now();
    let addr = SocketAddr::new(ip, port);
    let state = match tokio::time::timeout(timeout, connect(addr)).await {
        Ok(state) => state,
        Err(_) => PortState::Filtered,
    };
    let rtt = (state != PortState::Filtered).then(|| start.elapsed());
    (state, rtt)
}

fn classify_error(e: &std::io::Error) -> PortState {
    if e.kind() == std::io::ErrorKind::ConnectionRefused {
        PortState::Closed
    } else {
        PortState::Filtered
    }
}

/// Whether a connected socket is really connected to another socket: on loopback
/// a connect to a free port in the ephemeral range can pick that very port as its
/// source and connect to itself (TCP simultaneous open).
fn open_unless_self(sock: &socket2::Socket) -> PortState {
    match (sock.local_addr(), sock.peer_addr()) {
        (Ok(l), Ok(p)) if l.as_socket() == p.as_socket() => PortState::Closed,
        _ => PortState::Open,
    }
}

/// One non-blocking connect. Near hosts (loopback above all) have usually
/// answered by the time `connect` returns, so the socket's state is read at
/// once and only sockets still in progress are handed to the reactor.
async fn connect(addr: SocketAddr) -> PortState {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = match Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    ) {
        Ok(s) => s,
        Err(_) => return PortState::Filtered,
    };
    match sock.connect(&addr.into()) {
        Ok(()) => return open_unless_self(&sock),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return classify_error(&e),
    }
    match sock.take_error() {
        Ok(Some(e)) => return classify_error(&e),
        Ok(None) => {}
        Err(_) => return PortState::Filtered,
    }
    if sock.peer_addr().is_ok() {
        return open_unless_self(&sock);
    }
    let std_stream: std::net::TcpStream = sock.into();
    let Ok(stream) = TcpStream::from_std(std_stream) else {
        return PortState::Filtered;
    };
    if stream.writable().await.is_err() {
        return PortState::Filtered;
    }
    match stream.take_error() {
        Ok(Some(e)) => classify_error(&e),
        Ok(None) => match (stream.local_addr(), stream.peer_addr()) {
            (Ok(l), Ok(p)) if l == p => PortState::Closed,
            (_, Ok(_)) => PortState::Open,
            (_, Err(e)) => classify_error(&e),
        },
        Err(_) => PortState::Filtered,
    }
}

/// Scans `ports` on `ip`; `progress(done, total)` is called as ports finish.
pub async fn scan(
    ip: IpAddr,
    ports: &[u16],
    opts: &ScanOptions,
    progress: Arc<dyn Fn(usize, usize) + Send + Sync>,
) -> ScanResult {
    let ports: Arc<Vec<u16>> = Arc::new(ports.to_vec());
    let total = ports.len();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let rtt = Arc::new(Mutex::new(RttEstimator::new(opts.clone())));
    let workers = opts.concurrency.clamp(1, total.max(1));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let (ports, next, done, rtt, progress) = (
            ports.clone(),
            next.clone(),
            done.clone(),
            rtt.clone(),
            progress.clone(),
        );
        set.spawn(async move {
            let mut open = Vec::new();
            let mut filtered = Vec::new();
            let mut closed = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&port) = ports.get(i) else { break };
                let timeout = rtt
                    .lock()
                    .map(|r| r.timeout())
                    .unwrap_or(Duration::from_secs(1));
                let (state, measured) = probe_port(ip, port, timeout).await;
                if let (Some(m), Ok(mut r)) = (measured, rtt.lock()) {
                    r.observe(m);
                }
                match state {
                    PortState::Open => open.push(port),
                    PortState::Closed => closed += 1,
                    PortState::Filtered => filtered.push(port),
                }
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % 256 == 0 || d == ports.len() {
                    progress(d, ports.len());
                }
            }
            (open, closed, filtered)
        });
    }
    let mut result = ScanResult::default();
    let mut first_pass_filtered = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((open, closed, filtered)) = joined {
            result.open.extend(open);
            result.closed += closed;
            first_pass_filtered.extend(filtered);
        }
    }
    // Second chance for ports that did not answer, with the largest timeout.
    first_pass_filtered.sort_unstable();
    for chunk in first_pass_filtered.chunks(workers) {
        let mut retry = tokio::task::JoinSet::new();
        for &port in chunk {
            let t = opts.max_timeout;
            retry.spawn(async move { (port, probe_port(ip, port, t).await.0) });
        }
        while let Some(joined) = retry.join_next().await {
            if let Ok((port, state)) = joined {
                match state {
                    PortState::Open => result.open.push(port),
                    PortState::Closed => result.closed += 1,
                    PortState::Filtered => result.filtered.push(port),
                }
            }
        }
    }
    result.open.sort_unstable();
    result.open.dedup();
    result.filtered.sort_unstable();
    result.final_timeout_ms = rtt
        .lock()
        .map(|r| r.timeout().as_millis() as u64)
        .unwrap_or(0);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_adapts_and_stays_in_bounds() {
        let opts = ScanOptions::default();
        let mut r = RttEstimator::new(opts.clone());
        assert_eq!(r.timeout(), opts.initial_timeout);
        for _ in 0..20 {
            r.observe(Duration::from_micros(50));
        }
        assert_eq!(r.timeout(), opts.min_timeout);
        for _ in 0..50 {
            r.observe(Duration::from_secs(5));
        }
        assert_eq!(r.timeout(), opts.max_timeout);
    }

    #[tokio::test]
    async fn finds_a_listener_this_test_opened() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let result = scan(
            "127.0.0.1".parse().unwrap(),
            &[port],
            &ScanOptions::default(),
            Arc::new(|_, _| {}),
        )
        .await;
        assert_eq!(result.open, vec![port]);
    }
}

//! The connection to Redis: connects (loading the script), keeps a health
//! flag the request path reads without waiting, pings while idle, and
//! reconnects in the background. Up/down transitions are logged once each.

use super::settings::is_auth_error;
use redis::aio::MultiplexedConnection;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How often the link pings Redis, and retries when down.
const KEEPALIVE: Duration = Duration::from_millis(500);

/// The link and what `/status` shows about it.
pub(crate) struct Link {
    client: redis::Client,
    conn: Mutex<Option<MultiplexedConnection>>,
    up: AtomicBool,
    timeout: Duration,
    script: redis::Script,
    state: Mutex<LinkState>,
    /// Refills answered.
    pub refills: AtomicU64,
    /// Refills that failed or timed out.
    pub errors: AtomicU64,
}

/// The link's last transition.
#[derive(Debug, Clone, Default)]
pub(crate) struct LinkState {
    /// Last error, while down.
    pub last_error: Option<String>,
    /// Unix seconds of the last up/down change.
    pub since: u64,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Link {
    /// A link, down until [`Link::connect`] succeeds.
    pub fn new(client: redis::Client, timeout: Duration) -> Link {
        Link {
            client,
            conn: Mutex::new(None),
            up: AtomicBool::new(false),
            timeout,
            script: super::script::script(),
            state: Mutex::new(LinkState {
                last_error: Some("not connected yet".into()),
                since: unix_now(),
            }),
            refills: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Whether Redis answered lately (read on the request path).
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// A copy of the last transition.
    pub fn state(&self) -> LinkState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Connects, authenticates and loads the script; marks the link up.
    pub async fn connect(&self) -> Result<(), redis::RedisError> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let attempt = async {
            let mut conn = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            self.script.prepare_invoke().load_async(&mut conn).await?;
            Ok::<_, redis::RedisError>(conn)
        };
        let conn = match tokio::time::timeout(self.timeout * 2, attempt).await {
            Ok(r) => r?,
            Err(_) => {
                return Err(redis::RedisError::from(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connecting to Redis timed out",
                )))
            }
        };
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
        if !self.up.swap(true, Ordering::Relaxed) {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.last_error = None;
            s.since = unix_now();
            tracing::info!("cluster limits: Redis reachable; limits are shared");
        }
        Ok(())
    }

    /// Marks the link down after `e` (logged on the transition only).
    pub fn down(&self, e: &redis::RedisError) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        *self.conn.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let msg = e.to_string();
        let was_up = self.up.swap(false, Ordering::Relaxed);
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if was_up {
            s.since = unix_now();
            tracing::warn!(error = %msg, "cluster limits: Redis unreachable; rules use their fail mode");
        }
        if is_auth_error(e) && s.last_error.as_deref() != Some(&msg) {
            tracing::error!(error = %msg, "cluster limits: Redis refused the credentials");
        }
        s.last_error = Some(msg);
    }

    /// Runs the script for `key`; returns (granted, ms to wait when short).
    pub async fn refill(
        &self,
        key: &str,
        limit: u32,
        period_ms: u64,
        debt: u32,
        want: u32,
    ) -> Result<(u32, u64), redis::RedisError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(mut conn) = conn else {
            return Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "not connected to Redis",
            )));
        };
        let mut call = self.script.key(key);
        call.arg(limit).arg(period_ms).arg(debt).arg(want);
        let answer = tokio::time::timeout(self.timeout, call.invoke_async::<(u32, u64)>(&mut conn));
        let r = match answer.await {
            Ok(r) => r,
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Redis did not answer in time",
            ))),
        };
        match &r {
            Ok(_) => {
                self.refills.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.down(e),
        }
        r
    }

    /// Pings while up, reconnects while down, until the process ends.
    pub async fn keep(self: std::sync::Arc<Self>) {
        loop {
            tokio::time::sleep(KEEPALIVE).await;
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner()).clone();
            match conn {
                Some(mut c) => {
                    let cmd = redis::cmd("PING");
                    let ping = cmd.query_async::<String>(&mut c);
                    match tokio::time::timeout(self.timeout, ping).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => self.down(&e),
                        Err(_) => self.down(&redis::RedisError::from(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "Redis did not answer PING in time",
                        ))),
                    }
                }
                None => {
                    if let Err(e) = self.connect().await {
                        self.down(&e);
                    }
                }
            }
        }
    }
}

//! One HTTP request through the fake node: control and stats paths, then body
//! reading with a bound, the behaviour knobs (delay, workers, hang, close, forced status,
//! garbage, huge), and finally the IRI or JSON-RPC answer.

use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};

use crate::state::{Knob, State, Stats};
use crate::{iri, jsonrpc};

/// Largest request body the node reads; more is answered 413.
pub const MAX_BODY: usize = 1 << 20;
/// Size of the `huge` knob's answer.
const HUGE_BODY: usize = 1 << 20;

/// The response body type.
pub type Body = Full<Bytes>;

/// Returned to hyper to drop the connection without an answer (`close` knob,
/// or a client that vanished mid-body).
#[derive(Debug)]
pub struct CloseConnection;

impl fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection closed on purpose")
    }
}

impl std::error::Error for CloseConnection {}

/// The running node: current state and counters, shared by all connections.
pub struct Node {
    state: Mutex<Arc<State>>,
    /// The `workers` limit in force and its semaphore.
    gate: Mutex<(u64, Arc<tokio::sync::Semaphore>)>,
    /// Request counters reported by `/_stats`.
    pub stats: Arc<Stats>,
}

impl Node {
    /// A node starting in state `st`.
    pub fn new(st: State) -> Node {
        Node {
            state: Mutex::new(Arc::new(st)),
            gate: Mutex::new((0, Arc::new(tokio::sync::Semaphore::new(0)))),
            stats: Arc::new(Stats::default()),
        }
    }

    fn state(&self) -> Arc<State> {
        Arc::clone(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The semaphore for `workers` concurrent answers (re-made when the
    /// limit changes; requests already waiting keep the old one).
    fn gate(&self, workers: u64) -> Arc<tokio::sync::Semaphore> {
        let mut g = self.gate.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 != workers {
            *g = (
                workers,
                Arc::new(tokio::sync::Semaphore::new(workers as usize)),
            );
        }
        Arc::clone(&g.1)
    }

    fn patch(&self, patch: &Value) -> Result<Arc<State>, String> {
        let mut cur = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let next = Arc::new(cur.patched(patch)?);
        *cur = Arc::clone(&next);
        Ok(next)
    }
}

fn respond(name: &str, status: u16, ctype: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        "x-testnode",
        HeaderValue::from_str(name).unwrap_or(HeaderValue::from_static("invalid-name")),
    );
    resp
}

fn json_resp(name: &str, status: u16, v: &Value) -> Response<Body> {
    respond(name, status, "application/json", v.to_string())
}

fn huge_body() -> Bytes {
    static HUGE: OnceLock<Bytes> = OnceLock::new();
    HUGE.get_or_init(|| {
        let mut b = Vec::with_capacity(HUGE_BODY);
        b.push(b'"');
        b.resize(HUGE_BODY - 1, b'a');
        b.push(b'"');
        Bytes::from(b)
    })
    .clone()
}

enum ReadError {
    TooLarge,
    Broken,
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ReadError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(ReadError::TooLarge);
    }
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(ReadError::TooLarge),
        Err(_) => Err(ReadError::Broken),
    }
}

/// What a request asks for once its body is read.
enum Call {
    Get(String),
    Iri(String),
    Rpc(Value),
}

fn classify(body: &[u8]) -> Result<Call, &'static str> {
    let v: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON")?;
    if v.is_array() {
        return Ok(Call::Rpc(v));
    }
    let Value::Object(obj) = &v else {
        return Err("body is neither an IRI command nor a JSON-RPC request");
    };
    if let Some(cmd) = obj.get("command") {
        return match cmd.as_str() {
            Some(c) => Ok(Call::Iri(c.to_string())),
            None => Err("\"command\" must be a string"),
        };
    }
    if obj.contains_key("method") || obj.contains_key("jsonrpc") {
        return Ok(Call::Rpc(v));
    }
    Err("body is neither an IRI command nor a JSON-RPC request")
}

/// Handles one request. `control_only` is the control listener, which serves
/// nothing but `/_control` and `/_stats`.
pub async fn handle(
    node: Arc<Node>,
    req: Request<Incoming>,
    control_only: bool,
) -> Result<Response<Body>, CloseConnection> {
    let path = req.uri().path().to_string();
    if path == "/_control" || path == "/_stats" || path == "/_stats/reset" {
        return Ok(control(&node, req, &path).await);
    }
    let name = node.state().name.clone();
    if control_only {
        let msg =
            json!({"error": "the control port serves only /_control and /_stats", "node": name});
        return Ok(json_resp(&name, 404, &msg));
    }
    let call = if req.method() == Method::GET || req.method() == Method::HEAD {
        Call::Get(path)
    } else {
        let body = match read_body(req).await {
            Ok(b) => b,
            Err(ReadError::Broken) => return Err(CloseConnection),
            Err(ReadError::TooLarge) => {
                node.stats.begin(&["(invalid)"]).done();
                let msg =
                    json!({"error": format!("request body over {MAX_BODY} bytes"), "node": name});
                return Ok(json_resp(&name, 413, &msg));
            }
        };
        match classify(&body) {
            Ok(c) => c,
            Err(why) => {
                node.stats.begin(&["(invalid)"]).done();
                return Ok(json_resp(&name, 400, &json!({"error": why, "node": name})));
            }
        }
    };
    answer(&node, call).await
}

async fn answer(node: &Node, call: Call) -> Result<Response<Body>, CloseConnection> {
    let commands: Vec<&str> = match &call {
        Call::Get(_) => vec!["GET"],
        Call::Iri(c) => vec![c.as_str()],
        Call::Rpc(v) => jsonrpc::methods(v),
    };
    let inflight = node.stats.begin(&commands);
    let st = node.state();
    let delay = st.delay_ms(&commands);
    // A node with `workers` set serves that many requests at once (the
    // delay is their service time); the others queue, as on a real node.
    let _worker = match st.workers {
        0 => None,
        n => node.gate(n).acquire_owned().await.ok(),
    };
    if delay > 0 {
        // Dropped here by hyper if the client goes away: counted as abandoned.
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let st = node.state();
    let name = st.name.as_str();
    let resp = match st.knob(&commands) {
        Knob::Hang => {
            std::future::pending::<Infallible>().await;
            unreachable!("pending never resolves")
        }
        Knob::Close => {
            inflight.done();
            return Err(CloseConnection);
        }
        Knob::Status(code) => json_resp(name, code, &json!({"error": "forced", "node": name})),
        Knob::Garbage => respond(name, 200, "application/json", format!("<<garbage {name}>>")),
        Knob::Huge => respond(name, 200, "application/json", huge_body()),
        Knob::None => match &call {
            Call::Get(p) if p == "/version" => respond(
                name,
                200,
                "text/plain",
                format!("{} {}", st.name, st.version),
            ),
            Call::Get(p) => json_resp(name, 200, &json!({"node": name, "path": p})),
            Call::Iri(c) => {
                let (code, v) = iri::answer(c, &st);
                json_resp(name, code, &v)
            }
            Call::Rpc(v) => json_resp(name, 200, &jsonrpc::answer(v, &st)),
        },
    };
    inflight.done();
    Ok(resp)
}

async fn control(node: &Node, req: Request<Incoming>, path: &str) -> Response<Body> {
    let name = node.state().name.clone();
    let method = req.method().clone();
    match (path, method) {
        ("/_control", Method::GET) => json_resp(&name, 200, &state_json(&node.state())),
        ("/_control", Method::POST) => {
            let body = match read_body(req).await {
                Ok(b) => b,
                Err(_) => {
                    return json_resp(
                        &name,
                        413,
                        &json!({"error": "control body unreadable or over 1 MiB"}),
                    )
                }
            };
            let patch: Value = match serde_json::from_slice(&body) {
                Ok(v) => v,
                Err(e) => {
                    return json_resp(
                        &name,
                        400,
                        &json!({"error": format!("control body is not JSON: {e}")}),
                    )
                }
            };
            match node.patch(&patch) {
                Ok(st) => json_resp(&st.name, 200, &state_json(&st)),
                Err(e) => json_resp(&name, 400, &json!({"error": e})),
            }
        }
        ("/_stats", Method::GET) => json_resp(&name, 200, &node.stats.to_json()),
        ("/_stats/reset", Method::POST) => {
            node.stats.reset();
            json_resp(&name, 200, &node.stats.to_json())
        }
        (_, m) => json_resp(
            &name,
            405,
            &json!({"error": format!("{m} not allowed on {path}; use GET/POST /_control, GET /_stats, POST /_stats/reset")}),
        ),
    }
}

fn state_json(st: &State) -> Value {
    serde_json::to_value(st).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

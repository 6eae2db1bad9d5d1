//! Live registration of node backends, in the spirit of Consul's service
//! registration, on the token-protected admin listener:
//!
//! - `GET /upstreams`, `GET /upstreams/{pool}`: pools and their backends;
//! - `PUT /upstreams/{pool}/backends/{id}` with `{"address": ..., "weight":
//!   ..., "tags": [...], "health": {"max_lag": ..., "min_peers": ...,
//!   "min_version": ...}}`: register or update (201 created, 200 updated);
//! - `DELETE /upstreams/{pool}/backends/{id}`: deregister (no new
//!   requests; requests in flight finish);
//! - `POST /upstreams/{pool}/backends/{id}/drain` and `.../undrain`.
//!
//! Changes apply to the next request, without a reload, and registrations
//! are saved in the state directory. Only addresses, weights, tags and
//! health thresholds come through here: what programs a check runs is set
//! in the config file alone.

use super::reply::{bad, reply};
use crate::body::Body;
use crate::state::Shared;
use crate::upstream::registry::RegistryError;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use nodeward_balance::discovery::store::Registration;
use nodeward_balance::{Address, BackendId, HealthOverrides, PoolError};
use serde::Deserialize;

/// Largest registration body read.
const MAX_BODY: usize = 64 * 1024;

/// The body of `PUT /upstreams/{pool}/backends/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    address: Address,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    health: HealthOverrides,
    #[serde(default)]
    draining: bool,
}

fn one() -> u32 {
    1
}

/// Serves `/upstreams...`.
pub async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    let method = req.method().clone();
    match (&method, parts.as_slice()) {
        (&Method::GET, []) => {
            let pools: Vec<serde_json::Value> = shared
                .registry
                .pools()
                .iter()
                .map(|p| super::pools::pool_status(p))
                .collect();
            json_ok(serde_json::json!({ "upstreams": pools }))
        }
        (&Method::GET, [pool]) => match shared.registry.pool(pool) {
            Some(p) => json_ok(super::pools::pool_status(&p)),
            None => bad(
                StatusCode::NOT_FOUND,
                format!("no upstream pool is named {pool:?}"),
            ),
        },
        (_, [pool, "backends", id]) => {
            let id = match BackendId::parse(id) {
                Ok(id) => id,
                Err(m) => return bad(StatusCode::BAD_REQUEST, m),
            };
            match method {
                Method::PUT => register(shared, pool, id, req).await,
                Method::DELETE => done(
                    shared.registry.deregister(pool, &id),
                    "deregistered",
                    pool,
                    &id,
                ),
                Method::GET => match shared.registry.pool(pool) {
                    None => bad(
                        StatusCode::NOT_FOUND,
                        format!("no upstream pool is named {pool:?}"),
                    ),
                    Some(p) => {
                        let status = super::pools::pool_status(&p);
                        let found = status["backends"]
                            .as_array()
                            .and_then(|l| l.iter().find(|b| b["id"] == id.as_str()).cloned());
                        match found {
                            Some(b) => json_ok(b),
                            None => bad(
                                StatusCode::NOT_FOUND,
                                format!("no backend {id} in pool {pool:?}"),
                            ),
                        }
                    }
                },
                _ => method_not_allowed(),
            }
        }
        (&Method::POST, [pool, "backends", id, action @ ("drain" | "undrain")]) => {
            let id = match BackendId::parse(id) {
                Ok(id) => id,
                Err(m) => return bad(StatusCode::BAD_REQUEST, m),
            };
            let on = *action == "drain";
            done(
                shared.registry.drain(pool, &id, on),
                if on { "draining" } else { "undrained" },
                pool,
                &id,
            )
        }
        (_, [] | [_] | [_, "backends", _, "drain" | "undrain"]) => method_not_allowed(),
        _ => bad(
            StatusCode::NOT_FOUND,
            "not found; try /upstreams, /upstreams/{pool} or /upstreams/{pool}/backends/{id}"
                .into(),
        ),
    }
}

/// Most bytes read (and thrown away) from a body that is too large, so that
/// the client, still sending, can read the 413 instead of a reset.
const MAX_DISCARD: usize = 4 * 1024 * 1024;

/// Reads a registration body of at most [`MAX_BODY`] bytes within 10 s.
async fn read_body(mut body: Incoming) -> Result<bytes::Bytes, Response<Body>> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut kept = bytes::BytesMut::new();
    let mut total = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) if total > MAX_BODY => break,
            Err(_) => {
                return Err(bad(
                    StatusCode::REQUEST_TIMEOUT,
                    "the body did not arrive in time".into(),
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) if total > MAX_BODY => {
                tracing::debug!(error = %e, "registration body too large; client gone");
                break;
            }
            Ok(Some(Err(e))) => {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    format!("could not read the body: {e}"),
                ))
            }
            Ok(Some(Ok(f))) => f,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total <= MAX_BODY {
            kept.extend_from_slice(&data);
        } else if total > MAX_DISCARD {
            break;
        }
    }
    if total > MAX_BODY {
        return Err(bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {MAX_BODY} bytes"),
        ));
    }
    Ok(kept.freeze())
}

fn json_ok(v: serde_json::Value) -> Response<Body> {
    reply(StatusCode::OK, "application/json", v.to_string())
}

fn method_not_allowed() -> Response<Body> {
    bad(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed here".into(),
    )
}

async fn register(
    shared: &Shared,
    pool: &str,
    id: BackendId,
    req: Request<Incoming>,
) -> Response<Body> {
    if shared.registry.pool(pool).is_none() {
        return bad(
            StatusCode::NOT_FOUND,
            format!("no upstream pool is named {pool:?}"),
        );
    }
    let bytes = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let body: RegisterBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return bad(
                StatusCode::BAD_REQUEST,
                format!("invalid registration: {e} (expected {{\"address\": \"http://host:port\", \"weight\": 1, \"tags\": [], \"health\": {{}}}})"),
            )
        }
    };
    let reg = Registration {
        id: id.clone(),
        address: body.address,
        weight: body.weight,
        tags: body.tags,
        health: body.health,
        draining: body.draining,
    };
    let address = reg.address.to_string();
    match shared.registry.register(pool, reg) {
        Ok(created) => {
            tracing::info!(upstream = pool, backend = %id, %address, created, "backend registered");
            reply(
                if created { StatusCode::CREATED } else { StatusCode::OK },
                "application/json",
                serde_json::json!({"ok": true, "pool": pool, "id": id.as_str(), "address": address, "created": created})
                    .to_string(),
            )
        }
        Err(e) => refused(e),
    }
}

fn done(
    result: Result<(), RegistryError>,
    what: &str,
    pool: &str,
    id: &BackendId,
) -> Response<Body> {
    match result {
        Ok(()) => {
            tracing::info!(upstream = pool, backend = %id, "backend {what}");
            json_ok(serde_json::json!({"ok": true, "pool": pool, "id": id.as_str(), "state": what}))
        }
        Err(e) => refused(e),
    }
}

fn refused(e: RegistryError) -> Response<Body> {
    let status = match &e {
        RegistryError::UnknownPool(_) | RegistryError::Pool(PoolError::NotFound(_)) => {
            StatusCode::NOT_FOUND
        }
        RegistryError::Pool(PoolError::Invalid { .. }) => StatusCode::BAD_REQUEST,
        RegistryError::Pool(_) | RegistryError::NotRegistered { .. } => StatusCode::CONFLICT,
        RegistryError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    bad(status, e.to_string())
}

//! The status page on the admin listener (`/ui`): a login form that trades
//! the admin token for a session cookie, the server-rendered page, logout,
//! and lifting a ban (a POST carrying the session's CSRF token).

mod audit;
mod certs;
mod chart;
mod form;
mod html;
mod page;
pub mod session;
pub mod throttle;

use crate::body::Body;
use crate::state::Shared;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use session::{Refused, Session};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

pub use audit::latest_path as audit_report_path;

/// The status page's state: sessions and the login throttle.
#[derive(Default)]
pub struct UiState {
    /// Issued and revoked sessions.
    pub sessions: session::Sessions,
    /// Wrong tokens per source.
    pub throttle: throttle::Throttle,
}

/// Whether `path` belongs to the status page.
pub fn owns(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with("/ui/")
}

fn redirect(to: &'static str) -> Response<Body> {
    let mut r = Response::new(crate::body::full(bytes::Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// The `Set-Cookie` value for `value` (empty: delete). The admin listener
/// speaks plain HTTP (loopback by default), so the cookie cannot be `Secure`.
fn set_cookie(r: &mut Response<Body>, value: Option<&str>) {
    let text = match value {
        Some(v) => format!(
            "{}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            session::COOKIE,
            session::LIFETIME.as_secs()
        ),
        None => format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
            session::COOKIE
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&text) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}

fn session_message(why: Refused) -> Option<&'static str> {
    match why {
        Refused::Missing => None,
        Refused::BadSignature => Some("Your session is no longer valid (the admin token changed, or the cookie was altered). Log in again."),
        Refused::Expired => Some("Your session expired. Log in again."),
        Refused::LoggedOut => Some("You logged out. Log in again."),
    }
}

/// Answers a status-page request from `peer`.
pub async fn handle(shared: &Shared, peer: IpAddr, req: Request<Incoming>) -> Response<Body> {
    let token = shared.admin_token.load_full();
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    if path == "/" {
        return redirect("/ui");
    }
    if (&method, path.as_str()) == (&Method::POST, "/ui/login") {
        return login(shared, &token, peer, req).await;
    }
    let checked = shared
        .ui
        .sessions
        .check(&token, form::cookie(&req, session::COOKIE));
    let session = match checked {
        Ok(s) => s,
        Err(why) => {
            let status = if method == Method::GET && why == Refused::Missing {
                StatusCode::OK
            } else {
                StatusCode::UNAUTHORIZED
            };
            let mut r = html::login(status, session_message(why));
            if why != Refused::Missing {
                set_cookie(&mut r, None);
            }
            return r;
        }
    };
    match (&method, path.as_str()) {
        (&Method::GET, "/ui") => {
            let notice = req
                .uri()
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lifted=")))
                .and_then(|ip| ip.parse::<IpAddr>().ok())
                .map(|ip| format!("The ban on {ip} was lifted."));
            let csrf = session::csrf(&token, &session);
            html::page(
                StatusCode::OK,
                "nodeward gateway — status",
                &page::render(shared, &csrf, notice.as_deref()),
            )
        }
        (&Method::POST, "/ui/logout") => {
            let fields = form::read(req).await.unwrap_or_default();
            if !session::csrf_ok(&token, &session, fields.get("csrf").map(String::as_str)) {
                return forged();
            }
            shared.ui.sessions.revoke(&session);
            let mut r = html::login(StatusCode::OK, Some("You are logged out."));
            set_cookie(&mut r, None);
            r
        }
        (&Method::POST, "/ui/bans/lift") => lift(shared, &token, &session, req).await,
        (_, "/ui" | "/ui/logout" | "/ui/bans/lift") => html::page(
            StatusCode::METHOD_NOT_ALLOWED,
            "nodeward gateway — method not allowed",
            "<p class=\"notice error\">Method not allowed. <a href=\"/ui\">Back to the status page</a>.</p>",
        ),
        _ => html::page(
            StatusCode::NOT_FOUND,
            "nodeward gateway — not found",
            "<p class=\"notice error\">No such page. <a href=\"/ui\">Back to the status page</a>.</p>",
        ),
    }
}

fn forged() -> Response<Body> {
    html::page(
        StatusCode::FORBIDDEN,
        "nodeward gateway — refused",
        "<p id=\"refused\" class=\"notice error\">Refused: the form's CSRF token is missing or wrong, so nothing was changed. Reload the status page and try again.</p>",
    )
}

/// `POST /ui/login`: checks the token (throttled per source, compared as
/// SHA-256 digests in constant time) and sets the session cookie.
async fn login(
    shared: &Shared,
    token: &str,
    peer: IpAddr,
    req: Request<Incoming>,
) -> Response<Body> {
    if let Err(wait) = shared.ui.throttle.check(peer) {
        let mut r = html::login(
            StatusCode::TOO_MANY_REQUESTS,
            Some(&format!(
                "Too many wrong tokens from {peer}. Wait {} s before trying again.",
                wait.as_secs().max(1)
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let fields = match form::read(req).await {
        Ok(f) => f,
        Err(e) => return html::login(StatusCode::BAD_REQUEST, Some(&e)),
    };
    let presented = fields.get("token").map(|t| t.trim()).unwrap_or("");
    // Digests of equal length, compared without early exit: the time taken
    // says nothing about how much of the token was right, nor its length.
    let ok = crate::admin::token::matches(
        &Sha256::digest(presented.as_bytes()),
        &Sha256::digest(token.as_bytes()),
    ) && !token.is_empty();
    if !ok {
        shared.ui.throttle.failed(peer);
        tracing::warn!(source = %peer, "status page: wrong admin token");
        return html::login(StatusCode::UNAUTHORIZED, Some("Wrong token."));
    }
    shared.ui.throttle.succeeded(peer);
    match shared.ui.sessions.issue(token) {
        Ok(cookie) => {
            tracing::info!(source = %peer, "status page: logged in");
            let mut r = redirect("/ui");
            set_cookie(&mut r, Some(&cookie));
            r
        }
        Err(e) => html::login(
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(&format!("No randomness for a session id: {e}")),
        ),
    }
}

/// `POST /ui/bans/lift`: lifts one ban when the form carries the session's CSRF token.
async fn lift(
    shared: &Shared,
    token: &str,
    session: &Session,
    req: Request<Incoming>,
) -> Response<Body> {
    let fields = match form::read(req).await {
        Ok(f) => f,
        Err(_) => return forged(),
    };
    if !session::csrf_ok(token, session, fields.get("csrf").map(String::as_str)) {
        tracing::warn!("status page: ban lift refused, CSRF token missing or wrong");
        return forged();
    }
    let Some(ip) = fields
        .get("source")
        .and_then(|s| s.parse::<IpAddr>().ok())
        .map(crate::addr::canonical)
    else {
        return html::page(
            StatusCode::BAD_REQUEST,
            "nodeward gateway — bad request",
            "<p class=\"notice error\">The form names no IP address. <a href=\"/ui\">Back</a>.</p>",
        );
    };
    let removed = shared.bans.remove(ip);
    shared.bans.save_if_dirty();
    if removed {
        tracing::info!(source = %ip, "ban lifted on the status page");
        let mut r = redirect("/ui");
        if let Ok(v) = HeaderValue::from_str(&format!("/ui?lifted={ip}")) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    } else {
        html::page(
            StatusCode::NOT_FOUND,
            "nodeward gateway — not banned",
            &format!(
                "<p class=\"notice\">{} is not banned (the ban may have ended). <a href=\"/ui\">Back to the status page</a>.</p>",
                html::esc(&ip.to_string())
            ),
        )
    }
}

//! What the gateway adds to a route's responses on the way back: security
//! headers, CORS headers, and the backend's version banner removed. Also the
//! answer to CORS preflights, which never reach the node.
//!
//! Everything here is precomputed at config load ([`SecurityHeaders`],
//! [`Cors`]); a route without these settings has no [`ResponsePolicy`] and
//! pays one branch per request.

use crate::body::Body;
use crate::config::{Cors, SecurityHeaders};
use crate::refusal::{Reason, Reject};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};

/// A route's response settings.
#[derive(Debug, Clone)]
pub struct ResponsePolicy {
    headers: Option<SecurityHeaders>,
    cors: Option<Cors>,
}

impl ResponsePolicy {
    /// `None` when the route configures neither headers nor CORS.
    pub fn new(headers: Option<SecurityHeaders>, cors: Option<Cors>) -> Option<ResponsePolicy> {
        (headers.is_some() || cors.is_some()).then_some(ResponsePolicy { headers, cors })
    }

    /// Whether requests' `Origin` header is needed.
    pub fn reads_origin(&self) -> bool {
        self.cors.is_some()
    }

    /// Adds the route's headers to a response (proxied or refusal).
    /// `origin` is the request's `Origin`, read only when CORS is configured.
    pub fn apply(&self, h: &mut HeaderMap, tls: bool, origin: Option<&HeaderValue>) {
        if let Some(s) = &self.headers {
            if s.hide_server {
                h.remove(header::SERVER);
                h.remove("x-powered-by");
            }
            for (name, value) in &s.always {
                h.insert(name.clone(), value.clone());
            }
            if tls {
                if let Some(v) = &s.hsts {
                    h.insert(header::STRICT_TRANSPORT_SECURITY, v.clone());
                }
            }
        }
        if let Some(cors) = &self.cors {
            // Never pass on the backend's own CORS answer: the route's policy decides.
            for name in [
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
            ] {
                h.remove(name);
            }
            if !cors.any_origin {
                h.append(header::VARY, HeaderValue::from_static("origin"));
            }
            if let Some(allowed) = origin.and_then(|o| allow_origin(cors, o)) {
                h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allowed);
                if cors.credentials {
                    h.insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                }
                if let Some(v) = &cors.expose_value {
                    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v.clone());
                }
            }
        }
    }

    /// When `req` is a CORS preflight on a route with CORS, the gateway's
    /// answer: 204 with the allowed methods and headers, or a refusal when
    /// the origin or method is not allowed. `None` for every other request.
    pub fn preflight<B>(&self, req: &Request<B>) -> Option<Result<Response<Body>, Reject>> {
        let cors = self.cors.as_ref()?;
        if req.method() != Method::OPTIONS {
            return None;
        }
        let h = req.headers();
        let asked = h.get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
        let origin = h.get(header::ORIGIN)?;
        if allow_origin(cors, origin).is_none() {
            return Some(Err(Reject::new(
                Reason::CorsDenied,
                "this origin may not call this API",
            )));
        }
        if !cors
            .methods
            .iter()
            .any(|m| m.as_str().as_bytes().eq_ignore_ascii_case(asked.as_bytes()))
        {
            return Some(Err(Reject::new(
                Reason::CorsDenied,
                "this method is not allowed from browsers",
            )));
        }
        let mut resp = Response::new(crate::body::full(bytes::Bytes::new()));
        *resp.status_mut() = StatusCode::NO_CONTENT;
        let out = resp.headers_mut();
        out.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            cors.methods_value.clone(),
        );
        out.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            cors.headers_value.clone(),
        );
        out.insert(header::ACCESS_CONTROL_MAX_AGE, cors.max_age_value.clone());
        Some(Ok(resp))
    }
}

/// The `Access-Control-Allow-Origin` value for `origin`, when allowed.
fn allow_origin(cors: &Cors, origin: &HeaderValue) -> Option<HeaderValue> {
    if cors.any_origin {
        return Some(HeaderValue::from_static("*"));
    }
    cors.origins
        .iter()
        .find(|o| o.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
        .map(|_| origin.clone())
}

//! Checks `[route.response_headers]` and `[route.cors]` and precomputes their
//! header values once per config load, so a request only copies them.

use super::file::{CorsSection, HeaderPreset, ResponseHeadersSection};
use http::{HeaderName, HeaderValue, Method};

/// The `json-api` preset: grades A+ in the MDN Observatory scoring for an API
/// that serves JSON and is never framed or loaded by pages of other sites.
pub const JSON_API_PRESET: [(&str, &str); 6] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

/// Checked security headers of a route, ready to copy into responses.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    /// Headers set on every response.
    pub always: Vec<(HeaderName, HeaderValue)>,
    /// `Strict-Transport-Security`, set on TLS connections only.
    pub hsts: Option<HeaderValue>,
    /// Remove `Server` and `X-Powered-By` from backend responses.
    pub hide_server: bool,
}

impl SecurityHeaders {
    /// Checks a section; errors are `(key, message)`.
    pub fn check(s: &ResponseHeadersSection) -> Result<SecurityHeaders, (String, String)> {
        let configured = [
            ("strict_transport_security", &s.strict_transport_security),
            ("content_type_options", &s.content_type_options),
            ("content_security_policy", &s.content_security_policy),
            ("referrer_policy", &s.referrer_policy),
            (
                "cross_origin_resource_policy",
                &s.cross_origin_resource_policy,
            ),
            ("frame_options", &s.frame_options),
        ];
        let mut always = Vec::new();
        let mut hsts = None;
        for ((key, value), (name, preset)) in configured.iter().zip(JSON_API_PRESET) {
            let chosen = match value {
                Some(v) => v.as_str(),
                None if s.preset == HeaderPreset::JsonApi => preset,
                None => "",
            };
            if chosen.is_empty() {
                continue;
            }
            let v = header_value(chosen).map_err(|m| (key.to_string(), m))?;
            if name == "strict-transport-security" {
                check_hsts(chosen).map_err(|m| (key.to_string(), m))?;
                hsts = Some(v);
            } else {
                always.push((HeaderName::from_static(name), v));
            }
        }
        Ok(SecurityHeaders {
            always,
            hsts,
            hide_server: s.hide_server,
        })
    }
}

fn check_hsts(v: &str) -> Result<(), String> {
    let has_max_age = v.split(';').any(|d| {
        d.trim()
            .to_ascii_lowercase()
            .strip_prefix("max-age=")
            .is_some_and(|n| n.trim_matches('"').parse::<u64>().is_ok())
    });
    if has_max_age {
        Ok(())
    } else {
        Err(format!(
            "{v:?} has no max-age=SECONDS (e.g. \"max-age=63072000; includeSubDomains\")"
        ))
    }
}

fn header_value(v: &str) -> Result<HeaderValue, String> {
    if v.len() > 4096 || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(format!(
            "{v:?} is not a header value (printable ASCII, at most 4096 bytes)"
        ));
    }
    HeaderValue::from_str(v).map_err(|_| format!("{v:?} is not a header value"))
}

/// Checked CORS settings of a route, with the preflight answer precomputed.
#[derive(Debug, Clone)]
pub struct Cors {
    /// `"*"` was configured (never with credentials).
    pub any_origin: bool,
    /// Allowed origins, lowercase, as sent in `Origin`.
    pub origins: Vec<HeaderValue>,
    /// Whether credentials are allowed.
    pub credentials: bool,
    /// Methods a preflight may ask for.
    pub methods: Vec<Method>,
    /// `Access-Control-Allow-Methods` value.
    pub methods_value: HeaderValue,
    /// `Access-Control-Allow-Headers` value.
    pub headers_value: HeaderValue,
    /// `Access-Control-Expose-Headers` value, when any.
    pub expose_value: Option<HeaderValue>,
    /// `Access-Control-Max-Age` value.
    pub max_age_value: HeaderValue,
}

impl Cors {
    /// Checks a section; `extra_headers` (the route's required headers and its
    /// API-key header) are added to the allowed request headers.
    pub fn check(s: &CorsSection, extra_headers: &[HeaderName]) -> Result<Cors, (String, String)> {
        let err = |k: &str, m: String| (k.to_string(), m);
        if s.allow_origins.is_empty() {
            return Err(err("allow_origins", "list at least one origin".into()));
        }
        let mut any_origin = false;
        let mut origins = Vec::new();
        for (i, o) in s.allow_origins.iter().enumerate() {
            let at = format!("allow_origins[{i}]");
            if o == "*" {
                if s.allow_credentials {
                    return Err(err(
                        &at,
                        "\"*\" cannot be combined with allow_credentials = true: list the origins"
                            .into(),
                    ));
                }
                any_origin = true;
                continue;
            }
            let lower = o.to_ascii_lowercase();
            let rest = lower
                .strip_prefix("https://")
                .or_else(|| lower.strip_prefix("http://"));
            let ok = rest.is_some_and(|h| {
                !h.is_empty()
                    && h.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                    })
            });
            if !ok {
                return Err(err(
                    &at,
                    format!("{o:?} is not an origin (scheme://host[:port], e.g. \"https://wallet.example\")"),
                ));
            }
            origins.push(HeaderValue::from_str(&lower).map_err(|_| err(&at, format!("{o:?}")))?);
        }
        let mut methods = Vec::new();
        for (i, m) in s.allow_methods.iter().enumerate() {
            let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .ok()
                .filter(|_| !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphabetic()))
                .ok_or_else(|| {
                    err(
                        &format!("allow_methods[{i}]"),
                        format!("{m:?} is not an HTTP method"),
                    )
                })?;
            methods.push(method);
        }
        let mut headers: Vec<String> = Vec::new();
        for (i, h) in s.allow_headers.iter().enumerate() {
            HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                err(
                    &format!("allow_headers[{i}]"),
                    format!("{h:?} is not a header name"),
                )
            })?;
            headers.push(h.to_ascii_lowercase());
        }
        for h in extra_headers {
            if !headers.iter().any(|x| x == h.as_str()) {
                headers.push(h.as_str().to_string());
            }
        }
        for (i, h) in s.expose_headers.iter().enumerate() {
            HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                err(
                    &format!("expose_headers[{i}]"),
                    format!("{h:?} is not a header name"),
                )
            })?;
        }
        let join = |v: Vec<String>| HeaderValue::from_str(&v.join(", ")).ok();
        let methods_value = join(methods.iter().map(|m| m.to_string()).collect())
            .ok_or_else(|| err("allow_methods", "not a header value".into()))?;
        let headers_value =
            join(headers).ok_or_else(|| err("allow_headers", "not a header value".into()))?;
        let expose_value = if s.expose_headers.is_empty() {
            None
        } else {
            Some(
                join(s.expose_headers.clone())
                    .ok_or_else(|| err("expose_headers", "not a header value".into()))?,
            )
        };
        Ok(Cors {
            any_origin,
            origins,
            credentials: s.allow_credentials,
            methods,
            methods_value,
            headers_value,
            expose_value,
            max_age_value: HeaderValue::from(s.max_age.get().as_secs()),
        })
    }
}

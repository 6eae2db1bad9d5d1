//! Optional regex rejects: on the decoded path, on header values, and on the
//! decoded string arguments of a JSON body (every string value and key, at any
//! depth). The regex crate matches in linear time, so a pattern cannot be made
//! to backtrack by a request.

use crate::refusal::{Reason, Reject};
use http::{HeaderMap, HeaderName};
use regex::{Regex, RegexSet};
use serde_json::Value;

/// Compiled size limit of one pattern set.
const SIZE_LIMIT: usize = 1 << 20;

/// A route's reject patterns.
#[derive(Debug, Clone)]
pub struct Rejects {
    path: Option<RegexSet>,
    headers: Vec<(HeaderName, Regex)>,
    args: Option<RegexSet>,
}

/// Compiles a list; errors are `(index, message)`.
fn set(list: &[String]) -> Result<Option<RegexSet>, (usize, String)> {
    if list.is_empty() {
        return Ok(None);
    }
    for (i, p) in list.iter().enumerate() {
        regex::RegexBuilder::new(p)
            .size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| (i, e.to_string()))?;
    }
    regex::RegexSetBuilder::new(list)
        .size_limit(SIZE_LIMIT * 4)
        .build()
        .map(Some)
        .map_err(|e| (0, e.to_string()))
}

impl Rejects {
    /// Compiles the patterns; errors are `(key, message)`.
    pub fn new(
        path: &[String],
        headers: &[(String, String)],
        args: &[String],
    ) -> Result<Rejects, (String, String)> {
        let path = set(path).map_err(|(i, m)| (format!("path[{i}]"), m))?;
        let args = set(args).map_err(|(i, m)| (format!("args[{i}]"), m))?;
        let mut hs = Vec::new();
        for (name, pattern) in headers {
            let at = format!("headers.{name}");
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| (at.clone(), format!("{name:?} is not a header name")))?;
            let r = regex::RegexBuilder::new(pattern)
                .size_limit(SIZE_LIMIT)
                .build()
                .map_err(|e| (at, e.to_string()))?;
            hs.push((n, r));
        }
        Ok(Rejects {
            path,
            headers: hs,
            args,
        })
    }

    /// Checks the decoded path and the headers.
    pub fn check_head(&self, path: &str, headers: &HeaderMap) -> Result<(), Reject> {
        if self.path.as_ref().is_some_and(|s| s.is_match(path)) {
            return Err(refuse("the path matches a reject pattern"));
        }
        for (name, re) in &self.headers {
            for v in headers.get_all(name) {
                // Values that are not UTF-8 are matched on their lossy form.
                if re.is_match(&String::from_utf8_lossy(v.as_bytes())) {
                    return Err(refuse(&format!(
                        "the {name} header matches a reject pattern"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether argument patterns are configured (the body is parsed only then).
    pub fn checks_args(&self) -> bool {
        self.args.is_some()
    }

    /// Checks every decoded string (values and keys) of a JSON body.
    pub fn check_args(&self, body: &[u8]) -> Result<(), Reject> {
        let Some(set) = &self.args else {
            return Ok(());
        };
        let Ok(v) = serde_json::from_slice::<Value>(body) else {
            return Ok(());
        };
        if any_string(&v, &|s| set.is_match(s)) {
            return Err(refuse("an argument matches a reject pattern"));
        }
        Ok(())
    }
}

fn any_string(v: &Value, f: &dyn Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|i| any_string(i, f)),
        Value::Object(map) => map.iter().any(|(k, v)| f(k) || any_string(v, f)),
        _ => false,
    }
}

fn refuse(detail: &str) -> Reject {
    Reject::new(Reason::RejectedPattern, detail)
}

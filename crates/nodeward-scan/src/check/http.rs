//! `check http`: status, body regex and response time of a URL.

use crate::nagios::{PerfData, PluginOutput, State};
use nodeward_probe::http::{self, Request, Url};
use nodeward_probe::tls::{self, Roots};
use std::path::PathBuf;
use std::sync::Arc;

/// Arguments of `check http`.
#[derive(Debug, clap::Args)]
pub struct HttpCheck {
    /// The URL to fetch.
    #[arg(long, short = 'u')]
    pub url: String,
    /// Expected status codes (default: any 2xx or 3xx).
    #[arg(long, value_delimiter = ',')]
    pub expect_status: Vec<u16>,
    /// CRITICAL unless the body matches this regular expression.
    #[arg(long, short = 'r')]
    pub body_regex: Option<String>,
    /// WARNING range for the response time in seconds.
    #[arg(short = 'w', long = "warning", allow_hyphen_values = true)]
    pub warning: Option<String>,
    /// CRITICAL range for the response time in seconds.
    #[arg(short = 'c', long = "critical", allow_hyphen_values = true)]
    pub critical: Option<String>,
    /// Trust these CA certificates (PEM) instead of the system roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Body bytes read at most.
    #[arg(long, default_value = "1MiB")]
    pub max_body: String,
    /// Deadline for the whole request.
    #[arg(long, short = 't', default_value = "10s")]
    pub timeout: String,
}

/// Runs the check.
pub async fn run(c: HttpCheck) -> PluginOutput {
    const S: &str = "HTTP";
    let (w, cr) = match super::ranges(c.warning.as_deref(), c.critical.as_deref()) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let timeout = match super::timeout(&c.timeout) {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let max_body = match c.max_body.parse::<nodeward_config::units::ByteSize>() {
        Ok(b) => b.bytes() as usize,
        Err(e) => return PluginOutput::unknown(S, format!("invalid --max-body: {e}")),
    };
    let url = match Url::parse(&c.url) {
        Ok(u) => u,
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let re = match c
        .body_regex
        .as_deref()
        .map(|r| regex::RegexBuilder::new(r).size_limit(1 << 20).build())
        .transpose()
    {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, format!("invalid --body-regex: {e}")),
    };
    let config = match c.ca.clone() {
        Some(p) => match tls::client_config(&Roots::File(p), true, None) {
            Ok(cfg) => Some(Arc::new(cfg)),
            Err(e) => return PluginOutput::unknown(S, e.to_string()),
        },
        None => None,
    };
    let limits = http::Limits {
        deadline: timeout,
        max_body_bytes: max_body,
        ..Default::default()
    };
    let resp = match http::fetch(&Request::get(url.clone()), config, &limits).await {
        Ok(r) => r,
        Err(e) => {
            return PluginOutput {
                service: S,
                state: State::Critical,
                summary: format!("{url}: {e}"),
                perf: vec![],
            }
        }
    };
    let secs = resp.elapsed.as_secs_f64();
    let mut state = State::from_thresholds(secs, w.as_ref(), cr.as_ref());
    let status_ok = if c.expect_status.is_empty() {
        (200..400).contains(&resp.status)
    } else {
        c.expect_status.contains(&resp.status)
    };
    let mut problems = Vec::new();
    if !status_ok {
        state = State::Critical;
        problems.push(format!("unexpected status {}", resp.status));
    }
    if let Some(re) = &re {
        if !re.is_match(&resp.text()) {
            state = State::Critical;
            problems.push(format!("body does not match /{}/", re.as_str()));
        }
    }
    let summary = format!(
        "{url} answered {} in {secs:.3} s, {} bytes{}{}",
        resp.status,
        resp.body.len(),
        if resp.body_truncated {
            " (truncated)"
        } else {
            ""
        },
        if problems.is_empty() {
            String::new()
        } else {
            format!("; {}", problems.join("; "))
        }
    );
    PluginOutput {
        service: S,
        state,
        summary,
        perf: vec![
            PerfData::new("time", secs, "s")
                .thresholds(w.as_ref(), cr.as_ref())
                .bounds(Some(0.0), None),
            PerfData::new("size", resp.body.len() as f64, "B").bounds(Some(0.0), None),
        ],
    }
}

//! The status page's HTML shell: escaping, the strict Content-Security-Policy
//! with a fresh nonce per answer for the one inline style and script, and
//! the login page. Nothing is loaded from anywhere else.

use crate::body::{full, Body};
use http::{header, HeaderValue, Response, StatusCode};

/// Escapes text for HTML element content and quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root{--bg:#f5f7fa;--card:#fff;--ink:#1c2330;--mute:#667085;--line:#e4e7ec;--ok:#12b76a;--bad:#f04438;--warn:#f79009}
@media (prefers-color-scheme:dark){:root{--bg:#0f141c;--card:#171e29;--ink:#e6e9ef;--mute:#98a2b3;--line:#273244}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:16px 12px 48px}
header{display:flex;justify-content:space-between;align-items:center;gap:12px;flex-wrap:wrap}
h1{font-size:20px;margin:0}h2{font-size:16px;margin:0 0 8px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:14px 16px;margin-top:14px;overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--mute);font-weight:600;font-size:12px;text-transform:uppercase}
.mute{color:var(--mute);font-size:13px}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}.warn{color:var(--warn);font-weight:600}
.notice{border-left:4px solid var(--warn);padding:8px 12px;background:var(--card);margin-top:14px}
.error{border-left-color:var(--bad)}
svg#chart{width:100%;height:auto;max-height:260px}
ul.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px}
ul.legend li{cursor:pointer;user-select:none}ul.legend li.off{opacity:.35}
button{font:inherit;padding:4px 12px;border-radius:8px;border:1px solid var(--line);background:var(--card);color:var(--ink);cursor:pointer}
form.login{max-width:360px;margin:12vh auto 0;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:20px}
form.login input{width:100%;font:inherit;padding:8px;margin:8px 0 12px;border:1px solid var(--line);border-radius:8px}
.score{font-size:28px;font-weight:700}
"#;

/// The page's only script: legend clicks toggle chart lines, and times are
/// shown in the reader's zone. It marks the page so tests see it ran.
const SCRIPT: &str = r#"
document.documentElement.dataset.script='ran';
document.querySelectorAll('ul.legend li[data-series]').forEach(function(li){
  li.addEventListener('click',function(){
    var line=document.querySelectorAll('#chart polyline.series')[+li.dataset.series];
    if(line){var off=li.classList.toggle('off');line.setAttribute('visibility',off?'hidden':'visible');}
  });
});
document.querySelectorAll('time[datetime]').forEach(function(t){
  var d=new Date(t.getAttribute('datetime'));
  if(!isNaN(d)){t.title=d.toLocaleString();}
});
"#;

fn nonce() -> String {
    let mut raw = [0u8; 16];
    // Without randomness the page still works: the nonce only has to be
    // unguessable by injected markup, and the page escapes all it shows.
    if getrandom::fill(&mut raw).is_err() {
        raw = [0x5a; 16];
    }
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// A whole HTML answer: `body` inside the shell, with the security headers.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response<Body> {
    let nonce = nonce();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta name=\"referrer\" content=\"no-referrer\">\
<title>{}</title><style nonce=\"{nonce}\">{STYLE}</style></head><body><main>\n{body}\n</main>\
<script nonce=\"{nonce}\">{SCRIPT}</script></body></html>\n",
        esc(title)
    );
    let mut r = Response::new(full(html.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(csp) = HeaderValue::from_str(&format!(
        "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The login form, with an optional message (why the last attempt failed).
pub fn login(status: StatusCode, message: Option<&str>) -> Response<Body> {
    let notice = message
        .map(|m| format!("<p id=\"message\" class=\"notice error\">{}</p>", esc(m)))
        .unwrap_or_default();
    page(
        status,
        "nodeward gateway — log in",
        &format!(
            "{notice}<form class=\"login\" id=\"login\" method=\"post\" action=\"/ui/login\">\
<h1>nodeward gateway</h1><p class=\"mute\">Paste the admin token (the file named by \
<code>[admin] token_file</code>, by default <code>&lt;state_dir&gt;/admin.token</code>).</p>\
<label for=\"token\">Admin token</label>\
<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Log in</button></form>"
        ),
    )
}

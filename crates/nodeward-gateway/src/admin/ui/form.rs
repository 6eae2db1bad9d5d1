//! Reading the status page's small `application/x-www-form-urlencoded`
//! POST bodies and its cookies: bounded size and time, no panic on any input.

use http::{header, Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::HashMap;
use std::time::Duration;

/// The largest form body accepted.
const MAX_BODY: usize = 8 * 1024;

/// Reads a form body into its fields (the last of a repeated name wins).
pub async fn read(req: Request<Incoming>) -> Result<HashMap<String, String>, String> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';').next().is_some_and(|t| {
                t.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !is_form {
        return Err("expected a form (application/x-www-form-urlencoded)".into());
    }
    let body = http_body_util::Limited::new(req.into_body(), MAX_BODY);
    let bytes = match tokio::time::timeout(Duration::from_secs(10), body.collect()).await {
        Err(_) => return Err("the form did not arrive within 10 s".into()),
        Ok(Err(_)) => {
            return Err(format!(
                "the form is larger than {MAX_BODY} bytes or broken"
            ))
        }
        Ok(Ok(c)) => c.to_bytes(),
    };
    Ok(parse(&bytes))
}

/// Decodes `a=1&b=x%20y` into fields; undecodable fields are dropped.
pub fn parse(body: &[u8]) -> HashMap<String, String> {
    body.split(|&b| b == b'&')
        .filter_map(|pair| {
            let mut kv = pair.splitn(2, |&b| b == b'=');
            let k = decode(kv.next()?)?;
            let v = decode(kv.next().unwrap_or(b""))?;
            Some((k, v))
        })
        .collect()
}

fn decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                let text = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(text, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_forms_and_survives_garbage() {
        let f = parse(b"token=a%2Bb+c&csrf=x&bad=%zz&empty");
        assert_eq!(f["token"], "a+b c");
        assert_eq!(f["csrf"], "x");
        assert_eq!(f["empty"], "");
        assert!(!f.contains_key("bad"));
        assert!(parse(b"%").is_empty());
        assert!(parse(&[0xff, b'=', b'1']).is_empty());
    }
}

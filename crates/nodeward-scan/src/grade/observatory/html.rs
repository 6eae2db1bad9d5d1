//! Just enough HTML reading for the Observatory tests: find start tags and
//! read attribute values. Bounded and panic-free on any input.

/// At most this many tags of one kind are read from a page.
const MAX_TAGS: usize = 10_000;

/// The text of every `<name ...>` start tag (without the closing `>`).
pub(super) fn tags<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    let lower = body.to_ascii_lowercase();
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(&open) {
        let start = pos + i;
        let after = start + open.len();
        // `<scripts>` is not `<script`: the name must end there.
        let boundary = lower
            .as_bytes()
            .get(after)
            .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/');
        let Some(end) = lower[start..].find('>') else {
            break;
        };
        if boundary {
            out.push(&body[start..start + end]);
            if out.len() >= MAX_TAGS {
                break;
            }
        }
        pos = start + end;
    }
    out
}

/// The value of attribute `name` in a start tag, quoted or not.
pub(super) fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(&name) {
        let at = from + i;
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[at + name.len()..].trim_start();
        if before_ok && rest.starts_with('=') {
            let raw = tag[tag.len() - rest.len() + 1..].trim_start();
            let value = match raw.chars().next() {
                Some(q @ ('"' | '\'')) => raw[1..].split(q).next().unwrap_or(""),
                _ => raw
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or(""),
            };
            return Some(value.to_string());
        }
        from = at + name.len();
    }
    None
}

/// The `content` of every `<meta http-equiv="NAME">` (case-insensitive).
pub(super) fn http_equiv(body: &str, name: &str) -> Vec<String> {
    tags(body, "meta")
        .into_iter()
        .filter(|t| attr(t, "http-equiv").is_some_and(|v| v.trim().eq_ignore_ascii_case(name)))
        .filter_map(|t| attr(t, "content"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_tags_and_attributes() {
        let body = r#"<html><SCRIPT src="/a.js" integrity='sha384-x'></script><scripts x><script src=b.js>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'"><meta name=x content=y>"#;
        let scripts = tags(body, "script");
        assert_eq!(scripts.len(), 2);
        assert_eq!(attr(scripts[0], "src").as_deref(), Some("/a.js"));
        assert_eq!(attr(scripts[0], "integrity").as_deref(), Some("sha384-x"));
        assert_eq!(attr(scripts[1], "src").as_deref(), Some("b.js"));
        assert_eq!(
            http_equiv(body, "content-security-policy"),
            vec!["default-src 'none'"]
        );
    }

    proptest! {
        #[test]
        fn never_panics(body in "\\PC{0,300}", name in "[a-z-]{1,12}") {
            for t in tags(&body, "script") {
                let _ = attr(t, &name);
            }
            let _ = http_equiv(&body, &name);
        }

        #[test]
        fn never_panics_on_tag_soup(parts in proptest::collection::vec(
            prop_oneof![Just("<script"), Just("<meta"), Just(" src="), Just("\""), Just("'"), Just(">"),
                        Just("http-equiv=Content-Security-Policy"), Just(" content="), Just("é"), Just("=")],
            0..40)) {
            let body: String = parts.concat();
            for t in tags(&body, "meta") {
                let _ = attr(t, "content");
            }
            let _ = http_equiv(&body, "content-security-policy");
        }
    }
}

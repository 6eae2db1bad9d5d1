//! Which value of a keyword sshd uses, for no connection (global) or for a
//! given connection (`sshd -T -C user=...,host=...,addr=...`).
//!
//! sshd reads the file twice. The global pass starts active; a `Match` line
//! makes the following lines active only if it is `Match all` (no connection is
//! known yet). The match pass, for a connection, starts inactive and activates
//! the Match blocks that match it. In each pass the first active value of a
//! keyword wins, and values set in the match pass replace the global ones. An
//! `Include` in an inactive block can never activate its own Match blocks
//! during the global pass, and an included file cannot change the Match state
//! of the file that includes it.

use super::load::{Entry, SshdConfig};
use std::net::IpAddr;

/// What sshd knows about a connection when it evaluates `Match`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// Login name.
    pub user: Option<String>,
    /// The user's groups (for `Match Group`).
    pub groups: Vec<String>,
    /// Client host name.
    pub host: Option<String>,
    /// Client address.
    pub addr: Option<String>,
    /// Local (server) address.
    pub laddr: Option<String>,
    /// Local port.
    pub lport: Option<u16>,
    /// Routing domain.
    pub rdomain: Option<String>,
}

/// One effective value with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The arguments as written.
    pub args: Vec<String>,
    /// File.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The `Match` line (file:line and criteria) the value sits under, if any.
    pub under_match: Option<String>,
}

impl Setting {
    /// `file:line: Keyword args` for evidence.
    pub fn evidence(&self, keyword: &str) -> String {
        let mut s = format!(
            "{}:{}: {} {}",
            self.file,
            self.line,
            keyword,
            self.args.join(" ")
        );
        if let Some(m) = &self.under_match {
            s.push_str(&format!(" (under {m})"));
        }
        s
    }

    /// The first argument, lowercased (most keywords take one value).
    pub fn first_lower(&self) -> String {
        self.args
            .first()
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

/// Keywords sshd accepts inside `Match` blocks among those the audit reads.
const ALLOWED_IN_MATCH: &[&str] = &[
    "passwordauthentication",
    "permitrootlogin",
    "permitemptypasswords",
    "pubkeyauthentication",
    "maxauthtries",
    "x11forwarding",
    "kbdinteractiveauthentication",
    "authenticationmethods",
    "allowtcpforwarding",
    "banner",
];

/// Whether sshd's pattern `pat` (`*`, `?`) matches all of `s`.
pub fn wildmatch(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = s.chars().collect();
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// OpenSSH's `match_pattern_list`: 1 when a positive pattern matches, -1 when
/// a negated one does (negation wins), 0 otherwise.
pub fn match_pattern_list(s: &str, list: &str, lowercase: bool) -> i32 {
    let s = if lowercase {
        s.to_ascii_lowercase()
    } else {
        s.to_string()
    };
    let mut positive = 0;
    for sub in list.split(',') {
        let (negated, pat) = match sub.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, sub),
        };
        let pat = if lowercase {
            pat.to_ascii_lowercase()
        } else {
            pat.to_string()
        };
        if wildmatch(&pat, &s) {
            if negated {
                return -1;
            }
            positive = 1;
        }
    }
    positive
}

fn cidr_contains(net: &str, addr: &IpAddr) -> Option<bool> {
    let (base, bits) = net.split_once('/')?;
    let base: IpAddr = base.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    match (base, addr) {
        (IpAddr::V4(b), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(b) & mask == u32::from(*a) & mask)
        }
        (IpAddr::V6(b), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(b) & mask == u128::from(*a) & mask)
        }
        (IpAddr::V4(_), _) if bits <= 32 => Some(false),
        (IpAddr::V6(_), _) if bits <= 128 => Some(false),
        _ => None,
    }
}

/// OpenSSH's `addr_match_list`: CIDR or wildcard patterns, `!` negation.
/// `None` for a malformed CIDR (sshd rejects the Match line).
pub fn addr_match_list(addr: &str, list: &str) -> Option<i32> {
    let parsed: Option<IpAddr> = addr.parse().ok();
    let mut positive = 0;
    for sub in list.split(',') {
        let (negated, pat) = match sub.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, sub),
        };
        let hit = if pat.contains('/') {
            match &parsed {
                Some(a) => cidr_contains(pat, a)?,
                None => false,
            }
        } else {
            wildmatch(pat, addr)
        };
        if hit {
            if negated {
                return Some(-1);
            }
            positive = 1;
        }
    }
    Some(positive)
}

/// Evaluates a `Match` line for `conn` (`None` = no connection known).
/// `Err` for a condition sshd would reject.
pub fn match_line(args: &[String], conn: Option<&Connection>) -> Result<bool, String> {
    if args.is_empty() {
        return Err("Match without criteria".into());
    }
    let mut result = true;
    let mut i = 0;
    while i < args.len() {
        let attr = args[i].to_ascii_lowercase();
        if attr == "all" {
            if args.len() != 1 {
                return Err("'all' cannot be combined with other Match attributes".into());
            }
            return Ok(true);
        }
        let Some(value) = args.get(i + 1) else {
            return Err(format!("Match {attr}: missing argument"));
        };
        i += 2;
        let hit = match attr.as_str() {
            "user" => conn
                .and_then(|c| c.user.as_deref())
                .is_some_and(|u| match_pattern_list(u, value, false) == 1),
            "group" => conn.is_some_and(|c| {
                c.user.is_some()
                    && c.groups
                        .iter()
                        .any(|g| match_pattern_list(g, value, false) == 1)
            }),
            "host" => conn
                .and_then(|c| c.host.as_deref())
                .is_some_and(|h| match_pattern_list(h, value, true) == 1),
            "address" | "localaddress" => {
                let a = conn.and_then(|c| {
                    if attr == "address" {
                        c.addr.as_deref()
                    } else {
                        c.laddr.as_deref()
                    }
                });
                match a {
                    Some(a) => {
                        addr_match_list(a, value)
                            .ok_or_else(|| format!("Match {attr}: bad address list {value:?}"))?
                            == 1
                    }
                    None => {
                        // sshd still validates the list.
                        if value.split(',').any(|p| {
                            let p = p.trim_start_matches('!');
                            p.contains('/')
                                && cidr_contains(p, &IpAddr::from([0, 0, 0, 0])).is_none()
                        }) {
                            return Err(format!("Match {attr}: bad address list {value:?}"));
                        }
                        false
                    }
                }
            }
            "localport" => {
                let port: u16 = value
                    .parse()
                    .map_err(|_| format!("Match localport: invalid port {value:?}"))?;
                conn.and_then(|c| c.lport).is_some_and(|p| p == port)
            }
            "rdomain" => conn
                .and_then(|c| c.rdomain.as_deref())
                .is_some_and(|r| match_pattern_list(r, value, false) == 1),
            other => return Err(format!("unsupported Match attribute {other:?}")),
        };
        if !hit {
            result = false;
        }
    }
    Ok(result)
}

/// sshd's parse state: whether lines apply, and the per-file include flags
/// (`SSHCFG_MATCH_ONLY` until a file's first Match, `SSHCFG_NEVERMATCH` for
/// files included from an inactive block).
#[derive(Clone)]
struct State {
    active: bool,
    match_only: bool,
    never_match: bool,
    under: Option<String>,
}

impl SshdConfig {
    /// Walks the entries as one sshd pass, calling `visit` for every active
    /// directive until it returns true. `match_pass` is `None` for the global pass.
    fn walk<'a>(
        &'a self,
        match_pass: Option<&Connection>,
        mut visit: impl FnMut(&'a Entry, &Option<String>) -> bool,
    ) {
        let mut st = State {
            active: match_pass.is_none(),
            match_only: match_pass.is_some(),
            never_match: false,
            under: None,
        };
        let mut stack: Vec<State> = Vec::new();
        for entry in &self.entries {
            match entry {
                Entry::IncludeStart => {
                    stack.push(st.clone());
                    if st.match_only {
                        st.never_match = false;
                    } else {
                        st.never_match = !st.active;
                    }
                }
                Entry::IncludeEnd => {
                    if let Some(outer) = stack.pop() {
                        st = outer;
                    }
                }
                Entry::Match { args, file, line } => {
                    st.active = !st.never_match
                        && match_line(args, if st.never_match { None } else { match_pass })
                            .unwrap_or(false);
                    // MATCH_ONLY applies only until a file's first Match block.
                    st.match_only = false;
                    st.under = Some(format!("{file}:{line} Match {}", args.join(" ")));
                }
                Entry::Directive { .. } => {
                    if st.active && visit(entry, &st.under) {
                        return;
                    }
                }
            }
        }
    }

    fn first_in_pass(&self, keyword: &str, match_pass: Option<&Connection>) -> Option<Setting> {
        let mut found = None;
        self.walk(match_pass, |e, under| {
            if let Entry::Directive {
                keyword: k,
                args,
                file,
                line,
            } = e
            {
                if k == keyword {
                    found = Some(Setting {
                        args: args.clone(),
                        file: file.clone(),
                        line: *line,
                        under_match: under.clone(),
                    });
                    return true;
                }
            }
            false
        });
        found
    }

    /// The value sshd uses for `keyword` (lowercase) for `conn`; `None` for the
    /// global view (what `sshd -T` prints without `-C`). `None` result means
    /// the keyword is unset and sshd's default applies.
    pub fn effective(&self, keyword: &str, conn: Option<&Connection>) -> Option<Setting> {
        let blank = Connection::default();
        if ALLOWED_IN_MATCH.contains(&keyword) {
            if let Some(s) = self.first_in_pass(keyword, Some(conn.unwrap_or(&blank))) {
                return Some(s);
            }
        }
        self.first_in_pass(keyword, None)
    }

    /// Every active global value of an accumulating keyword (`Port`,
    /// `ListenAddress`), in order.
    pub fn all_global(&self, keyword: &str) -> Vec<Setting> {
        let mut out = Vec::new();
        self.walk(None, |e, under| {
            if let Entry::Directive {
                keyword: k,
                args,
                file,
                line,
            } = e
            {
                if k == keyword && under.is_none() {
                    out.push(Setting {
                        args: args.clone(),
                        file: file.clone(),
                        line: *line,
                        under_match: None,
                    });
                }
            }
            false
        });
        out
    }

    /// Every value of `keyword` written under a `Match` block other than
    /// `Match all`: what some connections get instead of the global value.
    pub fn under_match(&self, keyword: &str) -> Vec<Setting> {
        let mut out = Vec::new();
        let mut under: Option<(String, bool)> = None;
        let mut stack = Vec::new();
        for e in &self.entries {
            match e {
                Entry::IncludeStart => stack.push(under.clone()),
                Entry::IncludeEnd => under = stack.pop().flatten(),
                Entry::Match { args, file, line } => {
                    let is_all = args.len() == 1 && args[0].eq_ignore_ascii_case("all");
                    under = Some((format!("{file}:{line} Match {}", args.join(" ")), is_all));
                }
                Entry::Directive {
                    keyword: k,
                    args,
                    file,
                    line,
                } => {
                    if let Some((m, false)) = &under {
                        if k == keyword {
                            out.push(Setting {
                                args: args.clone(),
                                file: file.clone(),
                                line: *line,
                                under_match: Some(m.clone()),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// Match lines sshd would reject, with their location.
    pub fn bad_match_lines(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Match { args, file, line } => match_line(args, None)
                    .err()
                    .map(|why| format!("{file}:{line}: {why}")),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;

    fn cfg(text: &str) -> SshdConfig {
        let host = RootHost::new("/nonexistent-root-for-tests");
        SshdConfig::from_text(&host, "/etc/ssh/sshd_config", text)
    }

    fn alice() -> Connection {
        Connection {
            user: Some("alice".into()),
            host: Some("ws1.example.org".into()),
            addr: Some("10.1.2.3".into()),
            ..Default::default()
        }
    }

    #[test]
    fn first_value_wins_and_match_overrides_for_matching_connections() {
        let c = cfg("PasswordAuthentication no\nPasswordAuthentication yes\n\
                     Match User alice\n  PasswordAuthentication yes\n\
                     Match Address 192.168.0.0/16\n  PermitRootLogin yes\n");
        assert_eq!(
            c.effective("passwordauthentication", None)
                .unwrap()
                .first_lower(),
            "no"
        );
        let a = c
            .effective("passwordauthentication", Some(&alice()))
            .unwrap();
        assert_eq!(a.first_lower(), "yes");
        assert!(a.under_match.unwrap().contains("Match User alice"));
        assert!(c.effective("permitrootlogin", Some(&alice())).is_none());
        assert_eq!(c.under_match("permitrootlogin").len(), 1);
    }

    #[test]
    fn match_all_applies_globally_and_overrides() {
        let c = cfg("X11Forwarding yes\nMatch all\nX11Forwarding no\n");
        assert_eq!(
            c.effective("x11forwarding", None).unwrap().first_lower(),
            "no"
        );
        assert!(c.under_match("x11forwarding").is_empty());
    }

    #[test]
    fn port_accumulates_outside_match() {
        let c = cfg("Port 22\nPort 2222\n");
        assert_eq!(c.all_global("port").len(), 2);
    }

    #[test]
    fn patterns_and_addresses() {
        assert_eq!(match_pattern_list("alice", "bob,al*", false), 1);
        assert_eq!(match_pattern_list("alice", "*,!alice", false), -1);
        assert_eq!(addr_match_list("10.1.2.3", "10.0.0.0/8"), Some(1));
        assert_eq!(addr_match_list("10.1.2.3", "!10.0.0.0/8,*"), Some(-1));
        assert_eq!(addr_match_list("10.1.2.3", "10.0.0.0/99"), None);
        assert!(match_line(&["User".into()], None).is_err());
        assert!(match_line(&["Bogus".into(), "x".into()], None).is_err());
    }
}

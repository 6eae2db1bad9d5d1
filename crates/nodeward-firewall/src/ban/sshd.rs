//! Recognising sshd's failure lines, anchored on the structure sshd writes.
//!
//! sshd puts attacker-controlled text (the user name, a client's algorithm
//! offer) in known places, and its own fields (address, port, `ssh2`, key
//! fingerprint, `[preauth]`) after or before them. Each form is therefore parsed
//! from the side sshd controls: the address is the one sshd wrote, and a user
//! name that contains "from 1.2.3.4 port 22" can never move the match. Addresses
//! are parsed with `std::net`; anything else is not a match.

use crate::addr::canonical;
use std::net::IpAddr;

/// What kind of sshd event a line reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `Failed password for [invalid user] U from IP port N ssh2`.
    FailedPassword,
    /// `Failed publickey for ... from IP port N ssh2: TYPE FP`.
    FailedPublickey,
    /// `Failed keyboard-interactive/pam|none|hostbased for ...`.
    FailedOther,
    /// `Invalid user U from IP port N`.
    InvalidUser,
    /// `error: maximum authentication attempts exceeded for ... from IP port N ssh2 [preauth]`.
    MaxAuthTries,
    /// `User U from IP not allowed because ...`.
    NotAllowed,
    /// `Connection closed|reset by [authenticating user U|invalid user U] IP port N [preauth]`.
    PreauthClosed,
    /// `Disconnected from authenticating|invalid user U IP port N [preauth]`.
    PreauthDisconnected,
    /// `Unable to negotiate with IP port N: ... [preauth]`.
    NegotiationFailed,
    /// `Bad protocol version identification '...' from IP port N`.
    BadProtocol,
    /// A line matched by a pattern from the config.
    Custom,
    /// A gateway violation.
    Gateway,
}

impl Kind {
    /// Stable name used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::FailedPassword => "failed_password",
            Kind::FailedPublickey => "failed_publickey",
            Kind::FailedOther => "failed_other",
            Kind::InvalidUser => "invalid_user",
            Kind::MaxAuthTries => "max_auth_tries",
            Kind::NotAllowed => "not_allowed",
            Kind::PreauthClosed => "preauth_closed",
            Kind::PreauthDisconnected => "preauth_disconnected",
            Kind::NegotiationFailed => "negotiation_failed",
            Kind::BadProtocol => "bad_protocol",
            Kind::Custom => "custom_pattern",
            Kind::Gateway => "gateway_violation",
        }
    }
}

/// One failure attributed to a source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The source sshd (or the gateway) named.
    pub addr: IpAddr,
    /// What happened.
    pub kind: Kind,
}

fn addr(s: &str) -> Option<IpAddr> {
    // std::net only: no hostnames, no zone ids, no leading/trailing junk.
    s.parse::<IpAddr>().ok().map(canonical)
}

/// `"... port 1234"` -> `"..."`.
fn strip_port(s: &str) -> Option<&str> {
    let (left, port) = s.rsplit_once(" port ")?;
    port.parse::<u16>().ok()?;
    Some(left)
}

/// `"... from IP"` -> (`"..."`, IP).
fn strip_from_addr(s: &str) -> Option<(&str, IpAddr)> {
    let (left, a) = s.rsplit_once(" from ")?;
    Some((left, addr(a)?))
}

/// `"... IP"` -> (`"..."`, IP) for the forms without "from".
fn strip_last_addr(s: &str) -> Option<(&str, IpAddr)> {
    match s.rsplit_once(' ') {
        Some((left, a)) => Some((left, addr(a)?)),
        None => Some(("", addr(s)?)),
    }
}

/// `"... ssh2"` or `"... ssh2: TYPE FINGERPRINT"` -> `"..."`.
fn strip_ssh2(s: &str) -> Option<&str> {
    if let Some(left) = s.strip_suffix(" ssh2") {
        return Some(left);
    }
    let (left, tail) = s.rsplit_once(" ssh2: ")?;
    let mut parts = tail.split(' ');
    let (Some(ty), Some(fp), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if ty.is_empty() || fp.is_empty() || tail.contains(" from ") {
        return None;
    }
    Some(left)
}

/// `... from IP port N [ssh2...]` with the parts sshd writes, right to left.
fn from_ip_port(s: &str, ssh2: bool) -> Option<(&str, IpAddr)> {
    let s = if ssh2 { strip_ssh2(s)? } else { s };
    strip_from_addr(strip_port(s)?)
}

const NOT_ALLOWED_REASONS: &[&str] = &[
    "not listed in AllowUsers",
    "listed in DenyUsers",
    "not in any group",
    "a group is listed in DenyGroups",
    "none of user's groups are listed in AllowGroups",
];

/// Parses one sshd message (the text after `sshd[pid]: `).
pub fn parse_message(msg: &str) -> Option<Failure> {
    let msg = msg.trim_end_matches(['\r', '\n']);
    let hit = |addr, kind| Some(Failure { addr, kind });
    if let Some(rest) = msg.strip_prefix("Failed ") {
        let (method, rest) = rest.split_once(" for ")?;
        let kind = match method {
            "password" => Kind::FailedPassword,
            "publickey" => Kind::FailedPublickey,
            "keyboard-interactive/pam" | "keyboard-interactive" | "none" | "hostbased" => {
                Kind::FailedOther
            }
            _ => return None,
        };
        let (_user, a) = from_ip_port(rest, true)?;
        return hit(a, kind);
    }
    if let Some(rest) = msg
        .strip_prefix("Invalid user ")
        .or_else(|| msg.strip_prefix("Illegal user "))
    {
        // The port is required: a line cut inside the address must not match.
        let (_user, a) = strip_from_addr(strip_port(rest)?)?;
        return hit(a, Kind::InvalidUser);
    }
    if let Some(rest) = msg.strip_prefix("error: maximum authentication attempts exceeded for ") {
        let rest = rest.strip_suffix(" [preauth]").unwrap_or(rest);
        let (_user, a) = from_ip_port(rest, true)?;
        return hit(a, Kind::MaxAuthTries);
    }
    if let Some(rest) = msg.strip_prefix("User ") {
        let (left, reason) = rest.rsplit_once(" not allowed because ")?;
        let known = NOT_ALLOWED_REASONS.contains(&reason)
            || (reason.starts_with("shell ")
                && (reason.ends_with(" does not exist") || reason.ends_with(" is not executable")));
        if !known {
            return None;
        }
        let (_user, a) = strip_from_addr(left)?;
        return hit(a, Kind::NotAllowed);
    }
    if let Some(rest) = msg
        .strip_prefix("Connection closed by ")
        .or_else(|| msg.strip_prefix("Connection reset by "))
    {
        let rest = rest.strip_suffix(" [preauth]")?;
        let (who, a) = strip_last_addr(strip_port(rest)?)?;
        let user_ok = who.is_empty()
            || who.starts_with("authenticating user ")
            || who.starts_with("invalid user ");
        return if user_ok {
            hit(a, Kind::PreauthClosed)
        } else {
            None
        };
    }
    if let Some(rest) = msg
        .strip_prefix("Disconnected from authenticating user ")
        .or_else(|| msg.strip_prefix("Disconnected from invalid user "))
    {
        let rest = rest.strip_suffix(" [preauth]")?;
        let (_user, a) = strip_last_addr(strip_port(rest)?)?;
        return hit(a, Kind::PreauthDisconnected);
    }
    if let Some(rest) = msg.strip_prefix("Unable to negotiate with ") {
        // The client's offer follows and is attacker-controlled: parse from the left.
        let (a, rest) = rest.split_once(" port ")?;
        let (port, _) = rest.split_once(": ")?;
        port.parse::<u16>().ok()?;
        return hit(addr(a)?, Kind::NegotiationFailed);
    }
    if let Some(rest) = msg.strip_prefix("Bad protocol version identification ") {
        let (_ident, a) = strip_from_addr(strip_port(rest)?)?;
        return hit(a, Kind::BadProtocol);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(msg: &str) -> Option<(String, Kind)> {
        parse_message(msg).map(|f| (f.addr.to_string(), f.kind))
    }

    #[test]
    fn usual_failure_lines() {
        let cases = [
            ("Failed password for root from 203.0.113.7 port 50022 ssh2", Kind::FailedPassword),
            ("Failed password for invalid user admin from 203.0.113.7 port 50022 ssh2", Kind::FailedPassword),
            ("Invalid user admin from 203.0.113.7 port 50022", Kind::InvalidUser),
            ("Invalid user  from 203.0.113.7 port 50022", Kind::InvalidUser),
            ("error: maximum authentication attempts exceeded for root from 203.0.113.7 port 50022 ssh2 [preauth]", Kind::MaxAuthTries),
            ("Failed publickey for invalid user git from 203.0.113.7 port 50022 ssh2: RSA SHA256:abcdefghij", Kind::FailedPublickey),
            ("Failed publickey for root from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:abc", Kind::FailedPublickey),
            ("Failed none for invalid user x from 203.0.113.7 port 50022 ssh2", Kind::FailedOther),
            ("Connection closed by authenticating user root 203.0.113.7 port 50022 [preauth]", Kind::PreauthClosed),
            ("Connection reset by authenticating user root 203.0.113.7 port 50022 [preauth]", Kind::PreauthClosed),
            ("Connection closed by invalid user user name 203.0.113.7 port 50022 [preauth]", Kind::PreauthClosed),
            ("Connection closed by 203.0.113.7 port 50022 [preauth]", Kind::PreauthClosed),
            ("Disconnected from invalid user admin 203.0.113.7 port 50022 [preauth]", Kind::PreauthDisconnected),
            ("Disconnected from authenticating user root 203.0.113.7 port 50022 [preauth]", Kind::PreauthDisconnected),
            ("Unable to negotiate with 203.0.113.7 port 50022: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]", Kind::NegotiationFailed),
            ("User bob from 203.0.113.7 not allowed because not listed in AllowUsers", Kind::NotAllowed),
            ("Bad protocol version identification 'GET / HTTP/1.1' from 203.0.113.7 port 50022", Kind::BadProtocol),
        ];
        for (line, kind) in cases {
            assert_eq!(p(line), Some(("203.0.113.7".into(), kind)), "{line}");
        }
        assert_eq!(
            p("Failed password for root from 2001:db8::7 port 22 ssh2"),
            Some(("2001:db8::7".into(), Kind::FailedPassword))
        );
        assert_eq!(
            p("Invalid user a from ::ffff:198.51.100.2 port 22"),
            Some(("198.51.100.2".into(), Kind::InvalidUser))
        );
    }

    #[test]
    fn success_and_noise_are_not_failures() {
        for line in [
            "Accepted publickey for deploy from 203.0.113.7 port 50022 ssh2: ED25519 SHA256:x",
            "Received disconnect from 203.0.113.7 port 50022:11: Bye Bye [preauth]",
            "Disconnected from user alice 203.0.113.7 port 50022",
            "Connection closed by 203.0.113.7 port 50022",
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
            "Server listening on 0.0.0.0 port 22.",
            "Failed password for root from example.org port 22 ssh2",
            "Failed password for root from 203.0.113.7%eth0 port 22 ssh2",
            "Failed password for root from 203.0.113.7 port 99999 ssh2",
            "Failed password for root from 203.0.113.7 port 22 ssh2 trailing",
            "User bob from 203.0.113.7 not allowed because I said so",
            "",
        ] {
            assert_eq!(p(line), None, "{line}");
        }
    }

    #[test]
    fn forged_user_names_never_ban_the_named_address() {
        let forged = [
            "Invalid user x from 1.2.3.4 port 22 from 198.51.100.9 port 4444",
            "Failed password for invalid user x from 1.2.3.4 port 22 ssh2 from 198.51.100.9 port 4444 ssh2",
            "Failed password for x from 1.2.3.4 port 22 ssh2: RSA SHA256:a from 198.51.100.9 port 4444 ssh2",
            "Failed publickey for invalid user x from 1.2.3.4 port 22 ssh2: RSA SHA256:a from 198.51.100.9 port 4444 ssh2: RSA SHA256:real",
            "Connection closed by invalid user x 1.2.3.4 port 22 [preauth] 198.51.100.9 port 4444 [preauth]",
            "Disconnected from invalid user 1.2.3.4 port 1 [preauth] 198.51.100.9 port 4444 [preauth]",
            "User x from 1.2.3.4 not allowed because not listed in AllowUsers from 198.51.100.9 not allowed because listed in DenyUsers",
            "error: maximum authentication attempts exceeded for invalid user from 1.2.3.4 port 1 ssh2 from 198.51.100.9 port 4444 ssh2 [preauth]",
            "Unable to negotiate with 198.51.100.9 port 4444: no matching cipher found. Their offer: x from 1.2.3.4 port 22 [preauth]",
        ];
        for line in forged {
            let got = p(line);
            assert_eq!(
                got.as_ref().map(|g| g.0.as_str()),
                Some("198.51.100.9"),
                "{line}"
            );
        }
        // A user name that is itself a whole fake line, with no real suffix after it.
        assert_eq!(p("Invalid user x from 1.2.3.4 port 22 from"), None);
        // Truncated inside the address: no match rather than a shorter address.
        assert_eq!(p("Invalid user x from 198.51.100.91"), None);
        assert_eq!(p("Failed password for root from 198.51.100.91"), None);
    }

    proptest::proptest! {
        /// Whatever an attacker puts in the user name, only the address sshd wrote
        /// after it can be returned.
        #[test]
        fn user_name_cannot_choose_the_address(user in "\\PC{0,60}", a in 1u8..=254, b in 0u8..=255) {
            let real = format!("198.51.{a}.{b}");
            for line in [
                format!("Invalid user {user} from {real} port 4444"),
                format!("Failed password for invalid user {user} from {real} port 4444 ssh2"),
                format!("Failed publickey for {user} from {real} port 4444 ssh2: RSA SHA256:zz"),
                format!("Connection closed by invalid user {user} {real} port 4444 [preauth]"),
                format!("Disconnected from invalid user {user} {real} port 4444 [preauth]"),
            ] {
                if let Some(f) = parse_message(&line) {
                    proptest::prop_assert_eq!(f.addr.to_string(), real.clone(), "{}", line);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse_message(&s);
        }
    }
}

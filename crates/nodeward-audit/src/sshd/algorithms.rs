//! SSH algorithm lists: OpenSSH's defaults, the `+`/`-`/`^` list modifiers,
//! and which algorithms are broken or weak (as ssh-audit and NIST judge them).

use super::evaluate::{match_pattern_list, Setting};

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `KexAlgorithms`.
    Kex,
    /// `Ciphers`.
    Ciphers,
    /// `MACs`.
    Macs,
}

impl Kind {
    /// The sshd_config keyword (lowercase).
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Kex => "kexalgorithms",
            Kind::Ciphers => "ciphers",
            Kind::Macs => "macs",
        }
    }

    /// The keyword as written in documentation.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Kex => "KexAlgorithms",
            Kind::Ciphers => "Ciphers",
            Kind::Macs => "MACs",
        }
    }

    /// OpenSSH 9.x's default server list.
    pub fn default_list(self) -> &'static [&'static str] {
        match self {
            Kind::Kex => &[
                "sntrup761x25519-sha512",
                "sntrup761x25519-sha512@openssh.com",
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "ecdh-sha2-nistp256",
                "ecdh-sha2-nistp384",
                "ecdh-sha2-nistp521",
                "diffie-hellman-group-exchange-sha256",
                "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512",
                "diffie-hellman-group14-sha256",
            ],
            Kind::Ciphers => &[
                "chacha20-poly1305@openssh.com",
                "aes128-ctr",
                "aes192-ctr",
                "aes256-ctr",
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
            ],
            Kind::Macs => &[
                "umac-64-etm@openssh.com",
                "umac-128-etm@openssh.com",
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512-etm@openssh.com",
                "hmac-sha1-etm@openssh.com",
                "umac-64@openssh.com",
                "umac-128@openssh.com",
                "hmac-sha2-256",
                "hmac-sha2-512",
                "hmac-sha1",
            ],
        }
    }

    /// Every algorithm OpenSSH 9.x supports (what wildcards expand over).
    pub fn supported(self) -> &'static [&'static str] {
        match self {
            Kind::Kex => &[
                "diffie-hellman-group1-sha1",
                "diffie-hellman-group14-sha1",
                "diffie-hellman-group14-sha256",
                "diffie-hellman-group16-sha512",
                "diffie-hellman-group18-sha512",
                "diffie-hellman-group-exchange-sha1",
                "diffie-hellman-group-exchange-sha256",
                "ecdh-sha2-nistp256",
                "ecdh-sha2-nistp384",
                "ecdh-sha2-nistp521",
                "curve25519-sha256",
                "curve25519-sha256@libssh.org",
                "sntrup761x25519-sha512",
                "sntrup761x25519-sha512@openssh.com",
            ],
            Kind::Ciphers => &[
                "3des-cbc",
                "aes128-cbc",
                "aes192-cbc",
                "aes256-cbc",
                "aes128-ctr",
                "aes192-ctr",
                "aes256-ctr",
                "aes128-gcm@openssh.com",
                "aes256-gcm@openssh.com",
                "chacha20-poly1305@openssh.com",
            ],
            Kind::Macs => &[
                "hmac-sha1",
                "hmac-sha1-96",
                "hmac-sha2-256",
                "hmac-sha2-512",
                "hmac-md5",
                "hmac-md5-96",
                "umac-64@openssh.com",
                "umac-128@openssh.com",
                "hmac-sha1-etm@openssh.com",
                "hmac-sha1-96-etm@openssh.com",
                "hmac-sha2-256-etm@openssh.com",
                "hmac-sha2-512-etm@openssh.com",
                "hmac-md5-etm@openssh.com",
                "hmac-md5-96-etm@openssh.com",
                "umac-64-etm@openssh.com",
                "umac-128-etm@openssh.com",
            ],
        }
    }
}

/// How bad an algorithm is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Fine.
    Good,
    /// Weak (SHA-1 MACs, 64-bit tags, NIST curves): a warning.
    Weak,
    /// Broken (MD5, 3DES, CBC, arcfour, SHA-1 key exchange): a failure.
    Broken,
}

/// Classifies one algorithm name.
pub fn strength(kind: Kind, alg: &str) -> Strength {
    let a = alg.to_ascii_lowercase();
    match kind {
        Kind::Kex => {
            if a.ends_with("-sha1") || a.contains("group1-") || a.starts_with("gss-") {
                Strength::Broken
            } else if a.starts_with("ecdh-sha2-nistp") {
                Strength::Weak
            } else {
                Strength::Good
            }
        }
        Kind::Ciphers => {
            if a.contains("cbc")
                || a.contains("arcfour")
                || a.contains("3des")
                || a.contains("blowfish")
                || a.contains("cast128")
                || a == "none"
            {
                Strength::Broken
            } else {
                Strength::Good
            }
        }
        Kind::Macs => {
            if a.contains("md5")
                || a.contains("-96")
                || a.contains("ripemd")
                || a.starts_with("umac-32")
                || a == "none"
            {
                Strength::Broken
            } else if a.contains("sha1") || a.starts_with("umac-64") {
                Strength::Weak
            } else {
                Strength::Good
            }
        }
    }
}

fn expand(kind: Kind, patterns: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for pat in patterns.split(',').filter(|p| !p.is_empty()) {
        if pat.contains(['*', '?']) {
            for alg in kind.supported() {
                if match_pattern_list(alg, pat, false) == 1 && !out.iter().any(|o| o == alg) {
                    out.push(alg.to_string());
                }
            }
        } else if !out.iter().any(|o| o == pat) {
            out.push(pat.to_string());
        }
    }
    out
}

/// The list sshd uses for `kind` given the configured value (`None` = default),
/// applying `+` (append), `-` (remove, wildcards allowed) and `^` (prepend).
pub fn effective_list(kind: Kind, setting: Option<&Setting>) -> Vec<String> {
    let defaults: Vec<String> = kind.default_list().iter().map(|s| s.to_string()).collect();
    let Some(value) = setting.and_then(|s| s.args.first()) else {
        return defaults;
    };
    if let Some(add) = value.strip_prefix('+') {
        let mut list = defaults;
        for a in expand(kind, add) {
            if !list.contains(&a) {
                list.push(a);
            }
        }
        list
    } else if let Some(remove) = value.strip_prefix('-') {
        defaults
            .into_iter()
            .filter(|a| match_pattern_list(a, remove, false) != 1)
            .collect()
    } else if let Some(first) = value.strip_prefix('^') {
        let mut list = expand(kind, first);
        for d in defaults {
            if !list.contains(&d) {
                list.push(d);
            }
        }
        list
    } else {
        // A plain list is taken literally: sshd rejects wildcards in it.
        let mut list: Vec<String> = Vec::new();
        for a in value.split(',').filter(|a| !a.is_empty()) {
            if !list.iter().any(|l| l == a) {
                list.push(a.to_string());
            }
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Setting {
        Setting {
            args: vec![v.into()],
            file: "f".into(),
            line: 1,
            under_match: None,
        }
    }

    #[test]
    fn modifiers() {
        let l = effective_list(Kind::Ciphers, Some(&s("+aes128-cbc")));
        assert_eq!(l.last().unwrap(), "aes128-cbc");
        let l = effective_list(Kind::Macs, Some(&s("-*sha1*,umac-64*")));
        assert!(l
            .iter()
            .all(|m| !m.contains("sha1") && !m.starts_with("umac-64")));
        let l = effective_list(Kind::Kex, Some(&s("^diffie-hellman-group14-sha1")));
        assert_eq!(l[0], "diffie-hellman-group14-sha1");
        let l = effective_list(Kind::Ciphers, Some(&s("+aes*-cbc")));
        assert!(l.contains(&"aes256-cbc".to_string()));
        let l = effective_list(Kind::Ciphers, Some(&s("aes256-ctr,aes128-ctr,aes256-ctr")));
        assert_eq!(l, vec!["aes256-ctr", "aes128-ctr"]);
    }

    #[test]
    fn strengths() {
        assert_eq!(strength(Kind::Ciphers, "aes256-cbc"), Strength::Broken);
        assert_eq!(strength(Kind::Macs, "hmac-sha1"), Strength::Weak);
        assert_eq!(
            strength(Kind::Macs, "hmac-sha2-256-etm@openssh.com"),
            Strength::Good
        );
        assert_eq!(
            strength(Kind::Kex, "diffie-hellman-group14-sha1"),
            Strength::Broken
        );
        assert_eq!(strength(Kind::Kex, "curve25519-sha256"), Strength::Good);
    }
}

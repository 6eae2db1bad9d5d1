//! The SSL Labs SSL Server Rating Guide: protocol, key exchange and cipher
//! strength scores weighted 30/30/40, the letter from the total, then the caps
//! that later guide revisions added, and A+ / A- / T.

use nodeward_probe::tls::hello::Version;
use nodeward_probe::tls::suites::{KeyExchange, Suite};

/// Everything the grade depends on.
#[derive(Debug, Clone, Default)]
pub struct TlsFacts {
    /// Versions the server accepted.
    pub versions: Vec<Version>,
    /// Every accepted suite (any version).
    pub suites: Vec<Suite>,
    /// Server key size as an RSA-equivalent bit count (EC P-256 = 3072).
    pub key_bits_rsa_equiv: u32,
    /// Smallest DH prime offered with a DHE suite, in bits.
    pub dh_bits: Option<u32>,
    /// The chain is trusted and valid for the name.
    pub trusted: bool,
    /// Why it is not trusted (expired, unknown issuer, name mismatch).
    pub trust_problem: Option<String>,
    /// The certificate is otherwise fine but not valid for the name asked for (grade M).
    pub name_mismatch: bool,
    /// The leaf is signed with MD5 or MD2.
    pub insecure_signature: bool,
    /// HSTS max-age, if the HTTPS response had a valid header.
    pub hsts_max_age: Option<u64>,
    /// The heartbeat probe got memory back (Heartbleed).
    pub heartbleed: bool,
    /// The server picked DEFLATE compression (CRIME).
    pub compression: bool,
    /// No renegotiation_info in the ServerHello (RFC 5746 unsupported).
    pub no_secure_renegotiation: bool,
    /// Client-initiated renegotiation without RFC 5746 (CVE-2009-3555).
    pub insecure_client_renegotiation: bool,
    /// A lower-version hello with TLS_FALLBACK_SCSV was accepted.
    pub no_fallback_scsv: bool,
    /// Size in bits of the weakest ECDHE group the server accepts.
    pub weakest_ec_bits: Option<u32>,
    /// SSLv3 accepted with a CBC suite (POODLE).
    pub poodle: bool,
    /// An RC4 suite accepted with TLS 1.1 or later (not only with older versions).
    pub rc4_with_tls11_or_later: bool,
}

/// The grade with its arithmetic.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsGrade {
    /// Protocol support score (0-100).
    pub protocol: u32,
    /// Key exchange score.
    pub key_exchange: u32,
    /// Cipher strength score.
    pub cipher: u32,
    /// 0.3 P + 0.3 K + 0.4 C, rounded down.
    pub total: u32,
    /// Letter from the total alone.
    pub score_grade: &'static str,
    /// Grade after caps (`T` when the chain is not trusted, `M` on a name mismatch).
    pub grade: String,
    /// Each cap or adjustment that applied, e.g. `B: TLS 1.0 supported`.
    pub caps: Vec<String>,
    /// The grade the configuration would get if the certificate were trusted.
    pub grade_if_trusted: String,
}

fn protocol_score(v: Version) -> u32 {
    match v.0 {
        0x0300 => 80,
        0x0301 => 90,
        0x0302 => 95,
        0x0303 | 0x0304 => 100,
        _ => 0,
    }
}

fn key_score(bits: u32) -> u32 {
    match bits {
        0 => 0,
        1..=511 => 20,
        512..=1023 => 40,
        1024..=2047 => 80,
        2048..=4095 => 90,
        _ => 100,
    }
}

fn cipher_score(bits: u32) -> u32 {
    match bits {
        0 => 0,
        1..=127 => 20,
        128..=255 => 80,
        _ => 100,
    }
}

fn letter(total: u32) -> &'static str {
    match total {
        80.. => "A",
        65..=79 => "B",
        50..=64 => "C",
        35..=49 => "D",
        20..=34 => "E",
        _ => "F",
    }
}

const ORDER: [&str; 8] = ["A+", "A", "A-", "B", "C", "D", "E", "F"];

fn rank(g: &str) -> usize {
    ORDER
        .iter()
        .position(|x| *x == g)
        .unwrap_or(ORDER.len() - 1)
}

/// HSTS max-age SSL Labs asks for before giving A+ (six months).
pub const HSTS_A_PLUS_MIN_AGE: u64 = 15_768_000;

/// Grades `f`. Returns `None` when the server accepted no protocol at all.
pub fn grade(f: &TlsFacts) -> Option<TlsGrade> {
    let best = f.versions.iter().map(|v| protocol_score(*v)).max()?;
    let worst = f.versions.iter().map(|v| protocol_score(*v)).min()?;
    let protocol = (best + worst) / 2;
    let anon = f
        .suites
        .iter()
        .any(|s| s.key_exchange() == KeyExchange::Anonymous);
    let export = f.suites.iter().any(|s| s.export());
    // The weaker of the server key and the DH parameters sets the key exchange score.
    let kx_bits = f
        .dh_bits
        .map_or(f.key_bits_rsa_equiv, |d| d.min(f.key_bits_rsa_equiv));
    let mut key_exchange = key_score(kx_bits);
    if export {
        key_exchange = key_exchange.min(40);
    }
    if anon {
        key_exchange = 0;
    }
    let strongest = f
        .suites
        .iter()
        .map(|s| cipher_score(s.bits()))
        .max()
        .unwrap_or(0);
    let weakest = f
        .suites
        .iter()
        .map(|s| cipher_score(s.bits()))
        .min()
        .unwrap_or(0);
    let cipher = (strongest + weakest) / 2;
    // A zero in any category forces the total to zero.
    let total = if protocol == 0 || key_exchange == 0 || cipher == 0 {
        0
    } else {
        (protocol * 30 + key_exchange * 30 + cipher * 40) / 100
    };
    let score_grade = letter(total);
    let mut caps: Vec<(&'static str, String)> = Vec::new();
    let has = |v: Version| f.versions.contains(&v);
    if export {
        caps.push(("F", "export cipher suites accepted".into()));
    }
    if anon {
        caps.push((
            "F",
            "anonymous (unauthenticated) key exchange accepted".into(),
        ));
    }
    if f.suites.iter().any(|s| s.bits() == 0) {
        caps.push(("F", "NULL (unencrypted) cipher suites accepted".into()));
    }
    if f.insecure_signature {
        caps.push(("F", "certificate signed with MD5 or MD2".into()));
    }
    if f.key_bits_rsa_equiv < 1024 {
        caps.push((
            "F",
            format!(
                "server key of {} bits (RSA-equivalent) is under 1024",
                f.key_bits_rsa_equiv
            ),
        ));
    } else if f.key_bits_rsa_equiv < 2048 {
        caps.push((
            "B",
            format!(
                "server key of {} bits (RSA-equivalent) is under 2048",
                f.key_bits_rsa_equiv
            ),
        ));
    }
    if f.heartbleed {
        caps.push(("F", "vulnerable to Heartbleed (CVE-2014-0160)".into()));
    }
    if f.insecure_client_renegotiation {
        caps.push((
            "F",
            "insecure client-initiated renegotiation (CVE-2009-3555)".into(),
        ));
    }
    match f.dh_bits {
        Some(d) if d < 1024 => caps.push((
            "F",
            format!("DH parameters of {d} bits, under 1024 (Logjam)"),
        )),
        Some(d) if d < 2048 => caps.push((
            "B",
            format!("weak DH parameters ({d} bits) with DHE suites"),
        )),
        _ => {}
    }
    if let Some(e) = f.weakest_ec_bits.filter(|e| *e < 224) {
        caps.push((
            "B",
            format!("ECDHE group of {e} bits accepted (under 224, weaker than RSA 2048)"),
        ));
    }
    if f.compression {
        caps.push(("C", "TLS compression enabled (CRIME)".into()));
    }
    // SSL Labs, December 2014: SSLv3 caps at B, at C when POODLE applies, and
    // a server with SSLv3 alone gets F.
    if f.versions.iter().all(|v| *v == Version::SSL3) {
        caps.push(("F", "only SSLv3 supported".into()));
    }
    if f.poodle {
        caps.push(("C", "SSLv3 accepted with CBC suites (POODLE)".into()));
    } else if has(Version::SSL3) {
        caps.push(("B", "SSLv3 accepted".into()));
    }
    // SSL Labs 1.17 (May 2015): RC4 with TLS 1.1 or later caps at C, RC4
    // only with older versions at B.
    if f.rc4_with_tls11_or_later {
        caps.push(("C", "RC4 accepted with TLS 1.1 or later".into()));
    } else if f.suites.iter().any(|s| s.rc4()) {
        caps.push(("B", "RC4 accepted (only with SSLv3/TLS 1.0)".into()));
    }
    if !has(Version::TLS12) && !has(Version::TLS13) {
        caps.push(("C", "neither TLS 1.2 nor TLS 1.3 supported".into()));
    }
    if f.suites.iter().any(|s| s.block64()) && (has(Version::TLS11) || has(Version::TLS12)) {
        caps.push((
            "C",
            "64-bit block cipher (3DES/DES/IDEA) accepted with TLS 1.1 or later (Sweet32)".into(),
        ));
    }
    if has(Version::TLS10) || has(Version::TLS11) {
        caps.push(("B", "TLS 1.0 or TLS 1.1 accepted".into()));
    }
    if !f.suites.iter().any(|s| s.forward_secret()) {
        caps.push(("B", "no forward secrecy (no ECDHE/DHE suite)".into()));
    }
    // SSL Labs 1.31 (March 2018): no AEAD suite caps at B, like no forward secrecy.
    if !f.suites.iter().any(|s| s.aead()) {
        caps.push(("B", "no AEAD suite (GCM, ChaCha20-Poly1305, CCM)".into()));
    }
    if f.no_secure_renegotiation {
        caps.push(("A-", "secure renegotiation (RFC 5746) not supported".into()));
    }
    let mut g = score_grade;
    for (cap, _) in &caps {
        if rank(cap) > rank(g) {
            g = cap;
        }
    }
    let mut notes: Vec<String> = caps.iter().map(|(c, why)| format!("{c}: {why}")).collect();
    let mut final_grade = g.to_string();
    if g == "A" {
        match f.hsts_max_age {
            Some(_) if f.no_fallback_scsv => notes
                .push("A (not A+): TLS_FALLBACK_SCSV not supported (downgrade possible)".into()),
            Some(age) if age >= HSTS_A_PLUS_MIN_AGE => {
                final_grade = "A+".into();
                notes.push(format!(
                    "A+: HSTS max-age {age} >= {HSTS_A_PLUS_MIN_AGE} and no warnings"
                ));
            }
            Some(age) => notes.push(format!(
                "A (not A+): HSTS max-age {age} < {HSTS_A_PLUS_MIN_AGE}"
            )),
            None => notes.push("A (not A+): no valid HSTS header".into()),
        }
    }
    let grade_if_trusted = final_grade.clone();
    if !f.trusted {
        let why = f
            .trust_problem
            .clone()
            .unwrap_or_else(|| "certificate not trusted".into());
        let letter = if f.name_mismatch { "M" } else { "T" };
        notes.push(format!(
            "{letter}: {why} (would be {grade_if_trusted} if trusted)"
        ));
        final_grade = letter.into();
    }
    Some(TlsGrade {
        protocol,
        key_exchange,
        cipher,
        total,
        score_grade,
        grade: final_grade,
        caps: notes,
        grade_if_trusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(code: u16) -> Suite {
        Suite::by_code(code)
    }

    fn good() -> TlsFacts {
        TlsFacts {
            versions: vec![Version::TLS12, Version::TLS13],
            suites: vec![s(0x1301), s(0x1302), s(0xC02F), s(0xC030)],
            key_bits_rsa_equiv: 3072,
            trusted: true,
            trust_problem: None,
            name_mismatch: false,
            insecure_signature: false,
            dh_bits: None,
            hsts_max_age: Some(31_536_000),
            ..Default::default()
        }
    }

    #[test]
    fn modern_config_with_hsts_is_a_plus() {
        let g = grade(&good()).unwrap();
        // P 100, K 90 (3072-bit equivalent), C (100+80)/2 = 90 -> 0.3*100+0.3*90+0.4*90 = 93
        assert_eq!(
            (g.protocol, g.key_exchange, g.cipher, g.total),
            (100, 90, 90, 93)
        );
        assert_eq!(g.grade, "A+");
        let mut f = good();
        f.hsts_max_age = None;
        assert_eq!(grade(&f).unwrap().grade, "A");
    }

    #[test]
    fn caps() {
        let mut f = good();
        f.versions.push(Version::TLS10);
        assert_eq!(grade(&f).unwrap().grade, "B");
        let mut f = good();
        f.suites = vec![s(0x009C), s(0x002F)];
        f.versions = vec![Version::TLS12];
        assert_eq!(
            grade(&f).unwrap().grade,
            "B",
            "no forward secrecy caps at B"
        );
        let mut f = good();
        f.suites.push(s(0x0005));
        f.rc4_with_tls11_or_later = true;
        assert_eq!(grade(&f).unwrap().grade, "C", "RC4 with TLS 1.2 caps at C");
        f.rc4_with_tls11_or_later = false;
        assert_eq!(
            grade(&f).unwrap().grade,
            "B",
            "RC4 only with TLS 1.0 caps at B"
        );
        let mut f = good();
        f.suites = vec![s(0xC013), s(0xC014)];
        assert_eq!(grade(&f).unwrap().grade, "B", "no AEAD suite caps at B");
        let mut f = good();
        f.versions.push(Version::SSL3);
        let sslv3 = grade(&f).unwrap();
        assert!(
            sslv3.caps.iter().any(|c| c == "B: SSLv3 accepted"),
            "{sslv3:?}"
        );
        f.poodle = true;
        assert_eq!(grade(&f).unwrap().grade, "C", "POODLE caps at C");
        f.versions = vec![Version::SSL3];
        assert_eq!(grade(&f).unwrap().grade, "F", "SSLv3 alone is F");
        let mut f = good();
        f.suites.push(s(0x0003));
        assert_eq!(grade(&f).unwrap().grade, "F", "export suites mean F");
        let mut f = good();
        f.key_bits_rsa_equiv = 1024;
        assert_eq!(grade(&f).unwrap().grade, "B");
        let mut f = good();
        f.dh_bits = Some(1024);
        let g = grade(&f).unwrap();
        assert_eq!(
            (g.key_exchange, g.grade.as_str()),
            (80, "B"),
            "DH 1024 scores 80 and caps at B"
        );
        let mut f = good();
        f.trusted = false;
        f.trust_problem = Some("expired".into());
        let g = grade(&f).unwrap();
        assert_eq!((g.grade.as_str(), g.grade_if_trusted.as_str()), ("T", "A+"));
        f.name_mismatch = true;
        assert_eq!(grade(&f).unwrap().grade, "M");
        let mut f = good();
        f.suites.push(s(0x0034)); // anonymous DH: key exchange 0 forces the total to 0
        let g = grade(&f).unwrap();
        assert_eq!((g.key_exchange, g.total, g.grade.as_str()), (0, 0, "F"));
        assert!(grade(&TlsFacts::default()).is_none());
    }

    #[test]
    fn vulnerability_caps() {
        let with = |f: fn(&mut TlsFacts)| {
            let mut facts = good();
            f(&mut facts);
            grade(&facts).unwrap().grade
        };
        assert_eq!(with(|f| f.heartbleed = true), "F");
        assert_eq!(with(|f| f.insecure_client_renegotiation = true), "F");
        assert_eq!(with(|f| f.dh_bits = Some(768)), "F");
        assert_eq!(with(|f| f.compression = true), "C");
        assert_eq!(with(|f| f.weakest_ec_bits = Some(192)), "B");
        assert_eq!(with(|f| f.weakest_ec_bits = Some(224)), "A+");
        assert_eq!(with(|f| f.no_secure_renegotiation = true), "A-");
        assert_eq!(with(|f| f.no_fallback_scsv = true), "A");
    }
}

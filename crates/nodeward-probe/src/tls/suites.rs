//! Cipher suites the probes offer, with what grading needs to know about each.
//! Codes and names are the IANA registry's.

/// How a suite agrees on keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyExchange {
    /// RSA key transport (no forward secrecy).
    Rsa,
    /// Ephemeral finite-field Diffie-Hellman.
    Dhe,
    /// Ephemeral elliptic-curve Diffie-Hellman.
    Ecdhe,
    /// Anonymous (unauthenticated) Diffie-Hellman.
    Anonymous,
    /// TLS 1.3 (always ephemeral).
    Tls13,
}

/// One cipher suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// The two-byte code.
    pub code: u16,
    /// The IANA name.
    pub name: &'static str,
}

impl Suite {
    /// The key exchange, read from the name.
    pub fn key_exchange(&self) -> KeyExchange {
        let n = self.name;
        if n.contains("_anon_") {
            KeyExchange::Anonymous
        } else if n.starts_with("TLS_ECDHE_") {
            KeyExchange::Ecdhe
        } else if n.starts_with("TLS_DHE_") {
            KeyExchange::Dhe
        } else if n.starts_with("TLS_RSA_") {
            KeyExchange::Rsa
        } else {
            KeyExchange::Tls13
        }
    }

    /// Effective symmetric strength in bits (3DES counts 112, export 40, NULL 0).
    pub fn bits(&self) -> u32 {
        let n = self.name;
        if n.contains("NULL") {
            0
        } else if n.contains("EXPORT") || n.contains("_40_") {
            40
        } else if n.contains("3DES") {
            112
        } else if n.contains("DES_CBC") {
            56
        } else if n.contains("_256") || n.contains("CHACHA20") {
            256
        } else {
            128
        }
    }

    /// Whether the suite provides forward secrecy.
    pub fn forward_secret(&self) -> bool {
        matches!(
            self.key_exchange(),
            KeyExchange::Dhe | KeyExchange::Ecdhe | KeyExchange::Tls13
        )
    }

    /// Authenticated encryption (GCM, CCM, ChaCha20-Poly1305).
    pub fn aead(&self) -> bool {
        let n = self.name;
        n.contains("GCM") || n.contains("CCM") || n.contains("POLY1305")
    }

    /// Uses RC4.
    pub fn rc4(&self) -> bool {
        self.name.contains("RC4")
    }

    /// Uses a 64-bit block cipher (3DES, DES, IDEA, RC2; Sweet32).
    pub fn block64(&self) -> bool {
        let n = self.name;
        n.contains("DES") || n.contains("IDEA") || n.contains("RC2")
    }

    /// An export-grade suite.
    pub fn export(&self) -> bool {
        self.name.contains("EXPORT")
    }

    /// Looks a code up in [`LEGACY`] and [`TLS13`]; unknown codes get a hex name.
    pub fn by_code(code: u16) -> Suite {
        LEGACY
            .iter()
            .chain(TLS13.iter())
            .find(|s| s.code == code)
            .copied()
            .unwrap_or(Suite {
                code,
                name: "UNKNOWN",
            })
    }
}

macro_rules! suites {
    ($($code:literal $name:ident),* $(,)?) => {
        &[$(Suite { code: $code, name: stringify!($name) }),*]
    };
}

/// TLS 1.3 suites.
pub const TLS13: &[Suite] = suites![
    0x1301 TLS_AES_128_GCM_SHA256, 0x1302 TLS_AES_256_GCM_SHA384,
    0x1303 TLS_CHACHA20_POLY1305_SHA256, 0x1304 TLS_AES_128_CCM_SHA256,
];

/// Suites offered to SSLv3 through TLS 1.2, from strong to broken.
pub const LEGACY: &[Suite] = suites![
    0xC02C TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 0xC030 TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    0xCCA9 TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0xCCA8 TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    0xC02B TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0xC02F TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    0xC0AD TLS_ECDHE_ECDSA_WITH_AES_256_CCM, 0xC0AC TLS_ECDHE_ECDSA_WITH_AES_128_CCM,
    0x009F TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, 0x009E TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    0xCCAA TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 0x00A3 TLS_DHE_DSS_WITH_AES_256_GCM_SHA384,
    0x00A2 TLS_DHE_DSS_WITH_AES_128_GCM_SHA256, 0xC09F TLS_DHE_RSA_WITH_AES_256_CCM,
    0xC09E TLS_DHE_RSA_WITH_AES_128_CCM, 0xC05D TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384,
    0xC05C TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256, 0xC061 TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384,
    0xC060 TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256, 0xC053 TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384,
    0xC052 TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256,
    0xC024 TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384, 0xC028 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384,
    0xC023 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 0xC027 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
    0xC073 TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384, 0xC077 TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384,
    0xC072 TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256, 0xC076 TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256,
    0xC00A TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 0xC014 TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
    0xC009 TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 0xC013 TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
    0x006B TLS_DHE_RSA_WITH_AES_256_CBC_SHA256, 0x006A TLS_DHE_DSS_WITH_AES_256_CBC_SHA256,
    0x0067 TLS_DHE_RSA_WITH_AES_128_CBC_SHA256, 0x0040 TLS_DHE_DSS_WITH_AES_128_CBC_SHA256,
    0x0039 TLS_DHE_RSA_WITH_AES_256_CBC_SHA, 0x0038 TLS_DHE_DSS_WITH_AES_256_CBC_SHA,
    0x0033 TLS_DHE_RSA_WITH_AES_128_CBC_SHA, 0x0032 TLS_DHE_DSS_WITH_AES_128_CBC_SHA,
    0x0088 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA, 0x0045 TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA,
    0x009A TLS_DHE_RSA_WITH_SEED_CBC_SHA,
    0x009D TLS_RSA_WITH_AES_256_GCM_SHA384, 0x009C TLS_RSA_WITH_AES_128_GCM_SHA256,
    0xC09D TLS_RSA_WITH_AES_256_CCM, 0xC09C TLS_RSA_WITH_AES_128_CCM,
    0xC051 TLS_RSA_WITH_ARIA_256_GCM_SHA384, 0xC050 TLS_RSA_WITH_ARIA_128_GCM_SHA256,
    0x003D TLS_RSA_WITH_AES_256_CBC_SHA256, 0x003C TLS_RSA_WITH_AES_128_CBC_SHA256,
    0x0035 TLS_RSA_WITH_AES_256_CBC_SHA, 0x002F TLS_RSA_WITH_AES_128_CBC_SHA,
    0x0084 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA, 0x0041 TLS_RSA_WITH_CAMELLIA_128_CBC_SHA,
    0x0096 TLS_RSA_WITH_SEED_CBC_SHA, 0x0007 TLS_RSA_WITH_IDEA_CBC_SHA,
    0xC0A0 TLS_RSA_WITH_AES_128_CCM_8, 0xC0A1 TLS_RSA_WITH_AES_256_CCM_8,
    0xC0A2 TLS_DHE_RSA_WITH_AES_128_CCM_8, 0xC0A3 TLS_DHE_RSA_WITH_AES_256_CCM_8,
    0xC0AE TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, 0xC0AF TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8,
    0x00BA TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256, 0x00C0 TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256,
    0x00BE TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256, 0x00C4 TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256,
    0x0046 TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA, 0x0089 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA,
    0x00BF TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256, 0x00C5 TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256,
    0xC056 TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256, 0xC057 TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384,
    0x00BD TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256, 0x00C3 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256,
    0x0044 TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA, 0x0087 TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA,
    0xC012 TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, 0xC008 TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA,
    0x0016 TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA, 0x0013 TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA,
    0x000A TLS_RSA_WITH_3DES_EDE_CBC_SHA,
    0xC011 TLS_ECDHE_RSA_WITH_RC4_128_SHA, 0xC007 TLS_ECDHE_ECDSA_WITH_RC4_128_SHA,
    0x0005 TLS_RSA_WITH_RC4_128_SHA, 0x0004 TLS_RSA_WITH_RC4_128_MD5,
    0x0015 TLS_DHE_RSA_WITH_DES_CBC_SHA, 0x0012 TLS_DHE_DSS_WITH_DES_CBC_SHA, 0x0009 TLS_RSA_WITH_DES_CBC_SHA,
    0x0014 TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA, 0x0011 TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA,
    0x0008 TLS_RSA_EXPORT_WITH_DES40_CBC_SHA, 0x0006 TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5,
    0x0003 TLS_RSA_EXPORT_WITH_RC4_40_MD5,
    0x00A7 TLS_DH_anon_WITH_AES_256_GCM_SHA384, 0x00A6 TLS_DH_anon_WITH_AES_128_GCM_SHA256,
    0x006D TLS_DH_anon_WITH_AES_256_CBC_SHA256, 0x006C TLS_DH_anon_WITH_AES_128_CBC_SHA256,
    0x003A TLS_DH_anon_WITH_AES_256_CBC_SHA, 0x0034 TLS_DH_anon_WITH_AES_128_CBC_SHA,
    0x001B TLS_DH_anon_WITH_3DES_EDE_CBC_SHA, 0x0018 TLS_DH_anon_WITH_RC4_128_MD5,
    0xC019 TLS_ECDH_anon_WITH_AES_256_CBC_SHA, 0xC018 TLS_ECDH_anon_WITH_AES_128_CBC_SHA,
    0xC017 TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA, 0xC016 TLS_ECDH_anon_WITH_RC4_128_SHA,
    0xC015 TLS_ECDH_anon_WITH_NULL_SHA, 0xC006 TLS_ECDHE_ECDSA_WITH_NULL_SHA, 0xC010 TLS_ECDHE_RSA_WITH_NULL_SHA,
    0x003B TLS_RSA_WITH_NULL_SHA256, 0x0002 TLS_RSA_WITH_NULL_SHA, 0x0001 TLS_RSA_WITH_NULL_MD5,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_read_from_names() {
        let s = Suite::by_code(0xC02F);
        assert_eq!(
            (s.key_exchange(), s.bits(), s.aead(), s.forward_secret()),
            (KeyExchange::Ecdhe, 128, true, true)
        );
        let s = Suite::by_code(0x000A);
        assert_eq!(
            (s.bits(), s.block64(), s.forward_secret()),
            (112, true, false)
        );
        assert!(Suite::by_code(0x0005).rc4());
        assert_eq!(Suite::by_code(0x0003).bits(), 40);
        assert_eq!(Suite::by_code(0x0001).bits(), 0);
        assert_eq!(
            Suite::by_code(0x0034).key_exchange(),
            KeyExchange::Anonymous
        );
        let mut codes: Vec<u16> = LEGACY.iter().map(|s| s.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), LEGACY.len(), "duplicate code in the table");
    }
}

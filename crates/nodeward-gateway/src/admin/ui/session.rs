//! Status-page sessions: a cookie signed with the admin token, and the CSRF
//! token bound to it.
//!
//! The cookie is `v1.<id>.<expiry>.<mac>` where `mac` is HMAC-SHA256 of the
//! id and expiry under the admin token, so the server keeps no session list,
//! and rotating the token (a reload reads it again) makes every older cookie
//! fail. Logging out records the id as revoked until it would have expired.
//! The CSRF token of a session is HMAC-SHA256 of its id under the token.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The cookie's name.
pub const COOKIE: &str = "nodeward_session";
/// At most this many logged-out sessions are remembered.
const MAX_REVOKED: usize = 10_000;

/// A session whose cookie checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The random session id (hex).
    pub id: String,
    /// When it expires (Unix seconds).
    pub expires: u64,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No session cookie was sent.
    Missing,
    /// Malformed, signed with another (older) token, or tampered with.
    BadSignature,
    /// Past its expiry.
    Expired,
    /// Logged out.
    LoggedOut,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn mac(token: &str, purpose: &str, data: &str) -> [u8; 32] {
    // HMAC takes keys of any length; this cannot fail.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(data.as_bytes());
    m.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates, checks and revokes sessions.
#[derive(Default)]
pub struct Sessions {
    revoked: Mutex<HashMap<String, u64>>,
}

impl Sessions {
    /// A new session's cookie value under `token`.
    pub fn issue(&self, token: &str) -> Result<String, getrandom::Error> {
        let mut raw = [0u8; 16];
        getrandom::fill(&mut raw)?;
        let id = hex(&raw);
        let expires = now_secs() + LIFETIME.as_secs();
        let signed = format!("{id}.{expires}");
        Ok(format!(
            "v1.{signed}.{}",
            hex(&mac(token, "session", &signed))
        ))
    }

    /// Checks a cookie value against the current `token`.
    pub fn check(&self, token: &str, value: Option<&str>) -> Result<Session, Refused> {
        let value = value.ok_or(Refused::Missing)?;
        let mut parts = value.splitn(4, '.');
        let (Some("v1"), Some(id), Some(expires), Some(presented)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Refused::BadSignature);
        };
        if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Refused::BadSignature);
        }
        let expected = hex(&mac(token, "session", &format!("{id}.{expires}")));
        if !crate::admin::token::matches(presented.as_bytes(), expected.as_bytes()) {
            return Err(Refused::BadSignature);
        }
        let expires: u64 = expires.parse().map_err(|_| Refused::BadSignature)?;
        if expires <= now_secs() {
            return Err(Refused::Expired);
        }
        if self
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(id)
        {
            return Err(Refused::LoggedOut);
        }
        Ok(Session {
            id: id.to_string(),
            expires,
        })
    }

    /// Ends `session` (its cookie is refused from now on).
    pub fn revoke(&self, session: &Session) {
        let mut revoked = self.revoked.lock().unwrap_or_else(|p| p.into_inner());
        let now = now_secs();
        revoked.retain(|_, exp| *exp > now);
        if revoked.len() >= MAX_REVOKED {
            // Forget the one closest to expiring on its own.
            if let Some(k) = revoked
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(k, _)| k.clone())
            {
                revoked.remove(&k);
            }
        }
        revoked.insert(session.id.clone(), session.expires);
    }
}

/// The CSRF token of `session` under `token`.
pub fn csrf(token: &str, session: &Session) -> String {
    hex(&mac(token, "csrf", &session.id))
}

/// Whether `presented` is the CSRF token of `session` (constant time).
pub fn csrf_ok(token: &str, session: &Session, presented: Option<&str>) -> bool {
    presented.is_some_and(|p| {
        crate::admin::token::matches(p.as_bytes(), csrf(token, session).as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_holds_until_the_token_rotates_or_it_is_revoked() {
        let s = Sessions::default();
        let c = s.issue("token-one-0123456789").unwrap();
        let session = s.check("token-one-0123456789", Some(&c)).unwrap();
        assert_eq!(
            s.check("token-two-0123456789", Some(&c)),
            Err(Refused::BadSignature)
        );
        let mut tampered = c.clone();
        tampered.replace_range(3..4, if &c[3..4] == "a" { "b" } else { "a" });
        assert_eq!(
            s.check("token-one-0123456789", Some(&tampered)),
            Err(Refused::BadSignature)
        );
        assert_eq!(s.check("t", Some("garbage")), Err(Refused::BadSignature));
        assert_eq!(s.check("t", None), Err(Refused::Missing));
        let t = csrf("token-one-0123456789", &session);
        assert!(csrf_ok("token-one-0123456789", &session, Some(&t)));
        assert!(!csrf_ok("token-two-0123456789", &session, Some(&t)));
        assert!(!csrf_ok("token-one-0123456789", &session, None));
        s.revoke(&session);
        assert_eq!(
            s.check("token-one-0123456789", Some(&c)),
            Err(Refused::LoggedOut)
        );
    }
}

//! The etcd key layout under a cluster's prefix:
//!
//! - `{prefix}/registrations/{pool}/{id}`: a registered backend (JSON);
//! - `{prefix}/bans/{address}`: a ban, on a lease with the ban's TTL;
//! - `{prefix}/instances/{name}`: a live instance, on its own lease.

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A backend registration; the name is `{pool}/{id}`.
    Registration,
    /// A ban; the name is the banned address.
    Ban,
    /// A live instance; the name is the instance's.
    Instance,
}

impl Kind {
    /// The path segment under the prefix.
    pub fn segment(self) -> &'static str {
        match self {
            Kind::Registration => "registrations",
            Kind::Ban => "bans",
            Kind::Instance => "instances",
        }
    }

    /// The kinds replicated into the gateway's tables (instances too: the
    /// gateway counts the live ones, N for the limits' `split`).
    pub const REPLICATED: [Kind; 3] = [Kind::Registration, Kind::Ban, Kind::Instance];
}

/// The full key of `name` of `kind`.
pub fn key(prefix: &str, kind: Kind, name: &str) -> String {
    format!("{prefix}/{}/{name}", kind.segment())
}

/// Splits a key under `prefix` into its kind and name; `None` for anything
/// else (a key written by hand somewhere else under the prefix).
pub fn split<'a>(prefix: &str, key: &'a str) -> Option<(Kind, &'a str)> {
    let rest = key.strip_prefix(prefix)?.strip_prefix('/')?;
    let (seg, name) = rest.split_once('/')?;
    let kind = [Kind::Registration, Kind::Ban, Kind::Instance]
        .into_iter()
        .find(|k| k.segment() == seg)?;
    (!name.is_empty()).then_some((kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let k = key("/nw", Kind::Registration, "eth/a1");
        assert_eq!(k, "/nw/registrations/eth/a1");
        assert_eq!(split("/nw", &k), Some((Kind::Registration, "eth/a1")));
        assert_eq!(
            split("/nw", "/nw/bans/10.0.0.1"),
            Some((Kind::Ban, "10.0.0.1"))
        );
        assert_eq!(split("/nw", "/nw2/bans/x"), None);
        assert_eq!(split("/nw", "/nw/other/x"), None);
        assert_eq!(split("/nw", "/nw/bans/"), None);
    }
}

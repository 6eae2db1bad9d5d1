//! Warnings for egress policies that would cut DNS or NTP.
//!
//! With `egress = true` only `[[firewall.allow_out]]` leaves the host. A list without
//! DNS breaks name resolution (updates, peers); one without NTP stops time sync,
//! which the audit requires. Both are legal policies, so `plan` and `apply` warn
//! instead of refusing, and name the rule to add.

use crate::config::Proto;
use crate::policy::Policy;

/// The outbound services a node host needs: protocol, port, name, why.
const ESSENTIAL: [(Proto, u16, &str, &str); 3] = [
    (
        Proto::Udp,
        53,
        "DNS",
        "name resolution (package updates, peers) fails",
    ),
    (
        Proto::Tcp,
        53,
        "DNS",
        "large DNS answers and DNSSEC fall back to TCP and fail",
    ),
    (
        Proto::Udp,
        123,
        "NTP",
        "the clock drifts; the audit requires time sync (NTP)",
    ),
];

/// One warning per essential service that no `allow_out` rule lets out (empty
/// without egress filtering). Rules limited to some destinations count as allowing
/// it: the operator chose those servers.
pub fn warnings(policy: &Policy) -> Vec<String> {
    let Some(rules) = &policy.egress else {
        return Vec::new();
    };
    ESSENTIAL
        .iter()
        .filter(|(proto, port, _, _)| {
            !rules
                .iter()
                .any(|r| r.proto == *proto && r.ports.contains(*port))
        })
        .map(|(proto, port, name, why)| {
            format!(
                "egress = true blocks outbound {name} ({port}/{p}) unless the server is in firewall.trusted: {why}; add [[firewall.allow_out]] proto = \"{p}\" ports = \"{port}\" (optionally with to = [your servers])",
                p = proto.as_str()
            )
        })
        .collect()
}

/// Prints [`warnings`] on stderr.
pub fn print_warnings(policy: &Policy) {
    for w in warnings(policy) {
        eprintln!("nodeward: warning: {w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sections;
    use nodeward_config::load_sections;
    use std::path::Path;

    fn policy(text: &str) -> Policy {
        let p = Path::new("n.toml");
        let s: Sections = load_sections(p, text).unwrap();
        Policy::from_section(p, &s.firewall).unwrap()
    }

    #[test]
    fn names_what_is_missing() {
        assert!(warnings(&policy("")).is_empty());
        let w = warnings(&policy(
            "[firewall]\negress=true\n[[firewall.allow_out]]\nproto=\"tcp\"\nports=\"443\"\n",
        ));
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("DNS (53/udp)") && w[0].contains("proto = \"udp\" ports = \"53\""));
        assert!(w[2].contains("NTP (123/udp)") && w[2].contains("ports = \"123\""));
        let w = warnings(&policy(
            "[firewall]\negress=true\n[[firewall.allow_out]]\nproto=\"udp\"\nports=\"53,100-200\"\nto=[\"192.0.2.53\"]\n[[firewall.allow_out]]\nproto=\"tcp\"\nports=\"53\"\n",
        ));
        assert!(w.is_empty(), "{w:?}");
    }
}

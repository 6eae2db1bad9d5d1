//! Default public ports of the node software nodeward knows (`profiles = ["iota"]`).

use crate::config::Proto;
use crate::ports::PortList;

/// A node profile's public ports.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Name used in the config.
    pub name: &'static str,
    /// What it is.
    pub description: &'static str,
    /// Public ports, as (protocol, port list).
    pub ports: &'static [(Proto, &'static str)],
}

/// Every known profile. The public ports match `nodeward audit`'s profiles (the node
/// API itself stays private behind the gateway on 80/443); `generic` opens nothing.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "generic",
        description: "no node ports (SSH only)",
        ports: &[],
    },
    Profile {
        name: "iota",
        description: "IOTA IRI: gateway 80/443, TCP peering 15600, 14600/tcp+udp",
        ports: &[(Proto::Tcp, "80,443,14600,15600"), (Proto::Udp, "14600")],
    },
    Profile {
        name: "hornet",
        description: "IOTA Hornet: gateway 80/443, gossip 15600/tcp, autopeering 14626/udp",
        ports: &[(Proto::Tcp, "80,443,15600"), (Proto::Udp, "14626")],
    },
    Profile {
        name: "ilp",
        description: "Interledger connector: gateway 80/443, BTP 7768",
        ports: &[(Proto::Tcp, "80,443,7768")],
    },
    Profile {
        name: "cardano",
        description: "Cardano relay node: node-to-node 3001/tcp",
        ports: &[(Proto::Tcp, "3001")],
    },
    Profile {
        name: "masternode",
        description: "Dash-style masternode: P2P 9999/tcp",
        ports: &[(Proto::Tcp, "9999")],
    },
    Profile {
        name: "bitcoin",
        description: "Bitcoin-style P2P node: 8333/tcp",
        ports: &[(Proto::Tcp, "8333")],
    },
    Profile {
        name: "ethereum",
        description: "Ethereum execution client P2P: 30303/tcp+udp",
        ports: &[(Proto::Tcp, "30303"), (Proto::Udp, "30303")],
    },
];

/// Looks a profile up by name.
pub fn find(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.name == name)
}

/// The profile's ports parsed (the table above is known-good).
pub fn ports(profile: &Profile) -> Vec<(Proto, PortList)> {
    profile
        .ports
        .iter()
        .filter_map(|(proto, text)| PortList::parse(text).ok().map(|l| (*proto, l)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_profiles_parse() {
        for p in PROFILES {
            assert_eq!(ports(p).len(), p.ports.len(), "{}", p.name);
        }
    }
}

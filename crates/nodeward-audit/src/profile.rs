//! Node profiles: which ports a node of each kind legitimately opens, which
//! processes are the node, which port is its API (never public without a
//! gateway in front) and which API commands must be restricted.

use std::fmt;
use std::str::FromStr;

/// A port a profile allows to listen publicly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AllowedPort {
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// Port number (the first of a range).
    pub port: u16,
    /// The last port of a range (`3000-3999/tcp`); equal to `port` for one port.
    pub last: u16,
}

impl AllowedPort {
    /// Whether `proto`/`port` falls in this entry.
    pub fn covers(&self, proto: &str, port: u16) -> bool {
        self.proto == proto && (self.port..=self.last).contains(&port)
    }
}

impl fmt::Display for AllowedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.last > self.port {
            write!(f, "{}-{}/{}", self.port, self.last, self.proto)
        } else {
            write!(f, "{}/{}", self.port, self.proto)
        }
    }
}

/// A node profile, possibly extended by the `[audit]` config table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Profile name (`generic`, `iota`, ...).
    pub name: String,
    /// Ports allowed to listen on public addresses.
    pub allowed_ports: Vec<AllowedPort>,
    /// Process names (`/proc/PID/comm`) that are the node.
    pub node_processes: Vec<String>,
    /// Node API ports: must not listen publicly unless a gateway owns them.
    pub api_ports: Vec<u16>,
    /// API commands a gateway must restrict for this node kind.
    pub restricted_commands: Vec<&'static str>,
    /// Whether SSH logins must use a second factor (ACC-007 scored as a failure).
    pub require_mfa: bool,
    /// Where the node's secret key files usually live (searched by KEY-001/002).
    pub key_dirs: Vec<&'static str>,
    /// File name patterns of the node's secret key files.
    pub key_files: Vec<&'static str>,
    /// File name patterns of keys that belong offline, never on the node (KEY-002).
    pub cold_keys: Vec<&'static str>,
}

/// The key files of profile `name`: (MFA required, directories, secret file
/// patterns, cold key patterns). See docs/checks.md, "Node key files".
fn keys_for(
    name: &str,
) -> (
    bool,
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<&'static str>,
) {
    match name {
        // Block producer / relay: hot keys (KES, VRF, operational certificate)
        // may be here; cold keys, the counter and payment/stake keys must not.
        "cardano" => (
            true,
            vec![
                "/opt/cardano",
                "/var/lib/cardano",
                "/etc/cardano",
                "/srv/cardano",
                "/home",
                "/root",
            ],
            vec!["*.skey", "*.cert", "*.opcert", "node.counter"],
            vec![
                "cold.skey",
                "node.skey",
                "node.counter",
                "*cold*.skey",
                "payment*.skey",
                "stake*.skey",
            ],
        ),
        // The masternode's wallet and its masternode private key.
        "masternode" => (
            true,
            vec![
                "/var/lib/dashcore",
                "/var/lib/dash",
                "/var/lib/pivx",
                "/opt/dash",
                "/etc/dash",
                "/home",
                "/root",
            ],
            vec!["wallet.dat", "masternode.conf", "dash.conf", "pivx.conf"],
            vec![],
        ),
        // The node's libp2p identity (peer ID) key.
        "hornet" => (
            false,
            vec!["/var/lib/hornet", "/opt/hornet", "/etc/hornet"],
            vec!["identity.key", "*.key"],
            vec![],
        ),
        // IRI: the remote API credentials in iri.ini.
        "iota" => (
            false,
            vec!["/var/lib/iri", "/opt/iri", "/etc/iri"],
            vec!["iri.ini", "*.key"],
            vec![],
        ),
        // Interledger connector: secrets in env files and configs.
        "ilp" => (
            false,
            vec![
                "/etc/ilp-connector",
                "/opt/ilp-connector",
                "/srv/ilp-connector",
                "/var/lib/ilp-connector",
                "/etc/default",
            ],
            vec![
                ".env",
                "*.env",
                "ilp-connector",
                "ilp-connector.conf",
                "*secret*",
            ],
            vec![],
        ),
        _ => (false, vec![], vec![], vec![]),
    }
}

/// The built-in profile names.
pub const PROFILE_NAMES: [&str; 6] = ["generic", "iota", "hornet", "ilp", "cardano", "masternode"];

/// Processes that count as a gateway in front of a node API.
pub const GATEWAY_PROCESSES: [&str; 6] =
    ["nodeward", "haproxy", "nginx", "traefik", "envoy", "caddy"];

/// The error for an unknown profile name.
#[derive(Debug, thiserror::Error)]
#[error("unknown profile {0:?} (expected generic, iota, hornet, ilp, cardano or masternode)")]
pub struct UnknownProfile(pub String);

fn tcp(port: u16) -> AllowedPort {
    AllowedPort {
        proto: "tcp",
        port,
        last: port,
    }
}

fn udp(port: u16) -> AllowedPort {
    AllowedPort {
        proto: "udp",
        port,
        last: port,
    }
}

impl FromStr for Profile {
    type Err = UnknownProfile;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        // Every host may run SSH and a DHCP client.
        let mut allowed = vec![tcp(22), udp(68), udp(546)];
        let (extra, procs, api, commands): (
            Vec<AllowedPort>,
            Vec<&str>,
            Vec<u16>,
            Vec<&'static str>,
        ) = match name.to_ascii_lowercase().as_str() {
            "generic" => (vec![], vec![], vec![], vec![]),
            // IRI: API 14265 (behind a gateway on 80/443), TCP/UDP peering.
            "iota" => (
                vec![tcp(80), tcp(443), tcp(15600), udp(14600), tcp(14600)],
                vec!["iri", "java"],
                vec![14265],
                vec![
                    "addNeighbors",
                    "removeNeighbors",
                    "getNeighbors",
                    "attachToTangle",
                    "interruptAttachingToTangle",
                ],
            ),
            // Hornet: gossip 15600, autopeering 14626/udp, API 14265, dashboard 8081.
            "hornet" => (
                vec![tcp(80), tcp(443), tcp(15600), udp(14626)],
                vec!["hornet"],
                vec![14265, 8081],
                vec![
                    "/api/v1/peers",
                    "/api/v2/peers",
                    "/api/core/v2/peers",
                    "/debug/",
                ],
            ),
            // Interledger connector: BTP peering 7768 public; the admin API
            // (ilp-connector default 7780, moneyd's --admin-api-port 7769,
            // no authentication) and moneyd-gui (7770) private.
            "ilp" => (
                vec![tcp(80), tcp(443), tcp(7768)],
                vec!["ilp-connector", "moneyd", "node"],
                vec![7780, 7769, 7770],
                vec![
                    "/accounts",
                    "/addAccount",
                    "/routing",
                    "/balance",
                    "/alerts",
                    "/status",
                    "/stats",
                    "/rates",
                    "/metrics",
                ],
            ),
            // Cardano relay 3001; EKG 12788 and Prometheus 12798 private.
            "cardano" => (
                vec![tcp(3001)],
                vec!["cardano-node"],
                vec![12788, 12798],
                vec![],
            ),
            // Dash-style masternode: P2P 9999 public, RPC 9998 private.
            "masternode" => (
                vec![tcp(9999)],
                vec!["dashd", "pivxd", "masternode"],
                vec![9998],
                vec![
                    "stop",
                    "dumpprivkey",
                    "dumpwallet",
                    "sendtoaddress",
                    "masternode",
                    "setgenerate",
                ],
            ),
            _ => return Err(UnknownProfile(name.to_string())),
        };
        allowed.extend(extra);
        let name = name.to_ascii_lowercase();
        let (require_mfa, key_dirs, key_files, cold_keys) = keys_for(&name);
        Ok(Profile {
            name,
            allowed_ports: allowed,
            node_processes: procs.into_iter().map(String::from).collect(),
            api_ports: api,
            restricted_commands: commands,
            require_mfa,
            key_dirs,
            key_files,
            cold_keys,
        })
    }
}

impl Profile {
    /// Whether `proto`/`port` may listen publicly (one of the allowed ports,
    /// or inside an allowed range).
    pub fn allows(&self, proto: &str, port: u16) -> bool {
        self.allowed_ports.iter().any(|a| a.covers(proto, port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_profile_parses_and_unknown_is_refused() {
        for n in PROFILE_NAMES {
            let p: Profile = n.parse().unwrap();
            assert!(p.allows("tcp", 22));
        }
        let iota: Profile = "iota".parse().unwrap();
        assert_eq!(iota.api_ports, vec![14265]);
        assert!(!iota.allows("tcp", 14265));
        assert!("bitcoin"
            .parse::<Profile>()
            .unwrap_err()
            .to_string()
            .contains("bitcoin"));
    }
}

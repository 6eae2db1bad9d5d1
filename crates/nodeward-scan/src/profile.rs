//! Node profiles for the port scan: which TCP ports a node of each kind may
//! expose publicly, and which are its private API ports. The sets are those of
//! `nodeward audit --profile` (docs/checks.md, "Audit: profiles"), TCP only.

/// The kind of node behind the scanned host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// SSH and a web front only.
    Generic,
    /// IOTA IRI: gossip on 15600 and 14600.
    Iota,
    /// IOTA Hornet: gossip on 15600.
    Hornet,
    /// Interledger connector: BTP on 7768.
    Ilp,
    /// Cardano stake pool relay on 3001.
    Cardano,
    /// Dash/PIVX-style masternode on 9999.
    Masternode,
}

impl Profile {
    /// TCP ports the node may expose publicly (SSH included, as the audit allows it).
    pub fn public_ports(self) -> &'static [u16] {
        match self {
            Profile::Generic => &[22, 80, 443],
            Profile::Iota => &[22, 80, 443, 14600, 15600],
            Profile::Hornet => &[22, 80, 443, 15600],
            Profile::Ilp => &[22, 80, 443, 7768],
            Profile::Cardano => &[22, 3001],
            Profile::Masternode => &[22, 9999],
        }
    }

    /// The node's API and admin ports, which must never be reachable from outside.
    pub fn api_ports(self) -> &'static [u16] {
        match self {
            Profile::Generic => &[],
            Profile::Iota => &[14265],
            Profile::Hornet => &[14265, 8081],
            // ilp-connector admin API (default 7780), moneyd's (7769), moneyd-gui (7770).
            Profile::Ilp => &[7780, 7769, 7770],
            Profile::Cardano => &[12788, 12798],
            Profile::Masternode => &[9998],
        }
    }
}

//! Parsers that turn what a [`crate::host::Host`] reads into facts checks use.
//! Each module parses one kind of system file; none reads the file system itself
//! except through the `Host` it is given.

pub mod clock;
pub mod debversion;
pub mod keyvalue;
pub mod mounts;
pub mod nftables;
pub mod packages;
pub mod sockets;
pub mod sysctl;
pub mod systemd;
pub mod users;

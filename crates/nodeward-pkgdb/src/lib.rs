//! What the package manager knows about the files it installed, read without
//! running it: dpkg's status database, md5sums and diversions ([`dpkg`]), and
//! rpm's header blobs ([`rpm`]). Shared by `nodeward audit` (installed
//! versions) and `nodeward fim` (which files a package vouches for), which as
//! feature crates may not depend on each other.

pub mod dpkg;
pub mod rpm;

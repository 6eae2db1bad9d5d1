//! rpm's on-disk package records: header blobs ([`header`]) and version
//! ordering ([`vercmp`]).

pub mod header;
pub mod vercmp;

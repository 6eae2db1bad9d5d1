//! Grading rules of the published anchors: the SSL Labs rating guide for TLS
//! and the MDN HTTP Observatory (v2) for HTTP headers.

pub mod observatory;
pub mod ssllabs;

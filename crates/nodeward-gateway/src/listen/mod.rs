//! Accepting client connections: the connection guard (global and per-source
//! caps, IP lists), TLS termination, and serving HTTP/1.1 and HTTP/2 on each
//! connection with header, body and idle deadlines.

pub mod guard;
mod h1;
pub mod idle;
pub mod linger;
pub mod redirect;
pub mod serve;
#[cfg(test)]
mod task_size;
pub mod tls;

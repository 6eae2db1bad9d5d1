//! nodeward's secure reverse proxy for node APIs.
//!
//! A request walks down the modules in this order and back:
//! [`listen`] (accept, connection guard, TLS, nodeward's own HTTP/1.1 server,
//! hyper for HTTP/2) ->
//! [`request`] (hygiene, body, command extraction, policy) ->
//! [`upstream`] (pools reconciled on reload, selection and health from
//! `nodeward-balance`, forwarding with retries and deadlines), with
//! [`admin`] (status, registration, reload) beside it and [`config`]
//! feeding all.
//!
//! Below them sits the vocabulary every layer shares: [`refusal`] (why a
//! request is refused and how that is answered), [`body`], [`protocol`],
//! [`addr`] (client addresses and CIDR sets), [`metrics`], [`http1`] (the
//! HTTP/1.1 framing both sides share) and [`log`].

pub mod acme;
pub mod addr;
pub mod admin;
pub mod ban;
pub mod body;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod http1;
pub mod listen;
pub mod log;
pub mod majority;
pub mod metrics;
pub mod minutes;
pub mod ocsp;
pub mod pem;
pub mod protocol;
pub mod pushed;
pub mod refusal;
pub mod request;
pub mod run;
pub mod state;
pub mod timefmt;
pub mod tls_client;
pub mod trim;
pub mod upstream;
pub mod workers;

pub use run::GatewayError;

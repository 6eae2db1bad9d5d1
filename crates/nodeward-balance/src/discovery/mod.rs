//! Where backends come from besides the config file: registrations made at
//! run time (kept in a file in the state directory, so they survive
//! restarts) and a watched file of backends that tools like Ansible template.

pub mod file;
pub mod store;

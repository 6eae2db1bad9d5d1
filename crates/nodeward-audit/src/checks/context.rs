//! What checks share: the host, the profile, and facts read once per audit.

use super::service_state::{self, Service, ServiceState};
use crate::facts::packages::{self, Installed, UpgradeState};
use crate::facts::systemd::EnabledUnits;
use crate::host::{Fact, Host, Mode, Process, Socket};
use crate::profile::Profile;
use crate::sshd::SshdConfig;
use std::cell::OnceCell;
use std::collections::HashMap;

/// The context a check runs in.
pub struct Ctx<'a> {
    /// The audited host.
    pub host: &'a dyn Host,
    /// The node profile (with config extensions).
    pub profile: &'a Profile,
    sshd: OnceCell<Fact<super::ssh::SshView>>,
    packages: OnceCell<Fact<HashMap<String, Installed>>>,
    upgrades: OnceCell<Fact<UpgradeState>>,
    units: OnceCell<EnabledUnits>,
    processes: OnceCell<Fact<Vec<Process>>>,
    sockets: OnceCell<Fact<Vec<Socket>>>,
}

impl<'a> Ctx<'a> {
    /// A context for `host` and `profile`.
    pub fn new(host: &'a dyn Host, profile: &'a Profile) -> Self {
        Ctx {
            host,
            profile,
            sshd: OnceCell::new(),
            packages: OnceCell::new(),
            upgrades: OnceCell::new(),
            units: OnceCell::new(),
            processes: OnceCell::new(),
            sockets: OnceCell::new(),
        }
    }

    /// Live or offline.
    pub fn live(&self) -> bool {
        self.host.mode() == Mode::Live
    }

    /// The SSH server's configuration as sshd sees it.
    pub fn sshd(&self) -> &Fact<super::ssh::SshView> {
        self.sshd
            .get_or_init(|| super::ssh::SshView::read(self.host))
    }

    /// Parsed sshd_config (for Match analysis), if readable.
    pub fn sshd_config(&self) -> Option<&SshdConfig> {
        self.sshd().as_ref().ok().and_then(|v| v.config.as_ref())
    }

    /// Installed packages (dpkg).
    pub fn packages(&self) -> &Fact<HashMap<String, Installed>> {
        self.packages.get_or_init(|| packages::installed(self.host))
    }

    /// Pending upgrades from the local apt lists.
    pub fn upgrades(&self) -> &Fact<UpgradeState> {
        self.upgrades
            .get_or_init(|| packages::pending_upgrades(self.host))
    }

    /// Units enabled at boot.
    pub fn units(&self) -> &EnabledUnits {
        self.units.get_or_init(|| EnabledUnits::read(self.host))
    }

    /// Running processes (live only).
    pub fn processes(&self) -> &Fact<Vec<Process>> {
        self.processes.get_or_init(|| self.host.processes())
    }

    /// Listening sockets (live only).
    pub fn sockets(&self) -> &Fact<Vec<Socket>> {
        self.sockets.get_or_init(|| self.host.sockets())
    }

    /// Running processes whose name is one of `names`.
    pub fn running(&self, names: &[&str]) -> Vec<&Process> {
        match self.processes() {
            Ok(ps) => ps
                .iter()
                .filter(|p| names.contains(&p.comm.as_str()))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Whether any of `packages` is installed (empty when dpkg is unreadable).
    pub fn installed(&self, names: &[&'static str]) -> Vec<&'static str> {
        match self.packages() {
            Ok(p) => packages::any_installed(p, names),
            Err(_) => Vec::new(),
        }
    }

    /// The first of `paths` that exists.
    pub fn first_existing(&self, paths: &[&'static str]) -> Option<&'static str> {
        paths.iter().copied().find(|p| self.host.exists(p))
    }

    /// What is known about `svc`: running or not (live, from processes and
    /// listening sockets), enabled at boot (offline).
    pub fn service_state(&self, svc: &Service) -> ServiceState {
        let enabled = self.units().enabled(svc.unit);
        if !self.live() {
            return service_state::judge(svc, false, &Ok(Vec::new()), &Ok(Vec::new()), enabled);
        }
        // Sockets cost a /proc scan: read them only for services with ports.
        let no_sockets = Ok(Vec::new());
        let sockets = if svc.ports.is_empty() {
            &no_sockets
        } else {
            self.sockets()
        };
        service_state::judge(svc, true, self.processes(), sockets, enabled)
    }

    /// `Some(evidence)` when a service is active: on a live host only when one
    /// of `process_names` runs (an enabled unit that does not run is not
    /// active); offline when `unit` is enabled at boot, saying that whether it
    /// runs cannot be told.
    pub fn service_active(&self, unit: &str, process_names: &[&str]) -> Option<String> {
        let st = self.service_state(&Service {
            unit,
            processes: process_names,
            ports: &[],
        });
        if st.is_active() {
            st.evidence().map(str::to_string)
        } else {
            None
        }
    }
}

//! Whether a service is active, judged the way the audit mode allows: on a
//! live host by what runs (its processes, or a socket listening on its port),
//! offline by the units enabled at boot — the only thing a root tree shows.
//!
//! An enabled unit on a live host proves nothing: the daemon may have failed,
//! been stopped, or never started (no systemd in a container). Checks that
//! need a service to run therefore never pass on "enabled" alone when live.

use crate::host::{Fact, Process, Socket};

/// A service: its unit, the process names (`/proc/PID/comm`, at most 15
/// characters) it runs as, and the ports it listens on (`("tcp", 631)`), which
/// also catch socket activation, where systemd holds the socket.
#[derive(Debug, Clone, Copy)]
pub struct Service<'a> {
    /// The systemd unit (`chrony.service`).
    pub unit: &'a str,
    /// Process names.
    pub processes: &'a [&'a str],
    /// Listening ports, protocol and number.
    pub ports: &'a [(&'a str, u16)],
}

/// What is known about one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// Live: a process of the service runs or its port listens (evidence).
    Running(String),
    /// Live: enabled at boot, yet nothing of it runs (evidence).
    EnabledNotRunning(String),
    /// Offline: enabled at boot; whether it runs cannot be known (evidence).
    EnabledOffline(String),
    /// Live, but the process list could not be read while the unit is
    /// enabled: it cannot be told whether it runs (evidence).
    Unknown(String),
    /// Neither running (live) nor enabled.
    Inactive,
}

impl ServiceState {
    /// The evidence, if the state has any.
    pub fn evidence(&self) -> Option<&str> {
        match self {
            ServiceState::Running(e)
            | ServiceState::EnabledNotRunning(e)
            | ServiceState::EnabledOffline(e)
            | ServiceState::Unknown(e) => Some(e),
            ServiceState::Inactive => None,
        }
    }

    /// Whether the service counts as active: running (live) or enabled
    /// (offline, where nothing better can be known).
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            ServiceState::Running(_) | ServiceState::EnabledOffline(_)
        )
    }
}

/// Judges `svc`. `live` says whether `processes`/`sockets` describe a running
/// host; `enabled` is the link enabling the unit at boot, if any.
pub fn judge(
    svc: &Service,
    live: bool,
    processes: &Fact<Vec<Process>>,
    sockets: &Fact<Vec<Socket>>,
    enabled: Option<&str>,
) -> ServiceState {
    let unit = svc.unit;
    if !live {
        return match enabled {
            Some(link) => ServiceState::EnabledOffline(format!(
                "{unit} enabled ({link}) (offline: cannot tell whether it runs)"
            )),
            None => ServiceState::Inactive,
        };
    }
    let procs = match processes {
        Ok(ps) => ps,
        Err(e) => {
            return match enabled {
                Some(link) => ServiceState::Unknown(format!(
                    "{unit} enabled ({link}), but whether it runs is unknown: {e}"
                )),
                None => ServiceState::Inactive,
            }
        }
    };
    if let Some(p) = procs
        .iter()
        .find(|p| svc.processes.contains(&p.comm.as_str()))
    {
        return ServiceState::Running(format!("{} running (pid {})", p.comm, p.pid));
    }
    if let Ok(socks) = sockets {
        if let Some(s) = socks
            .iter()
            .find(|s| svc.ports.contains(&(s.proto, s.port)))
        {
            let owner = if s.owners.is_empty() {
                "owner unknown".to_string()
            } else {
                s.owners
                    .iter()
                    .map(|(name, pid)| {
                        if name == "systemd" {
                            format!("systemd pid {pid}: socket-activated")
                        } else {
                            format!("{name} pid {pid}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return ServiceState::Running(format!(
                "{}/{} listening on {} ({owner}) for {unit}",
                s.port, s.proto, s.addr
            ));
        }
    }
    match enabled {
        Some(link) => {
            ServiceState::EnabledNotRunning(format!("{unit} enabled ({link}) but not running"))
        }
        None => ServiceState::Inactive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Unavailable;

    const CHRONY: Service = Service {
        unit: "chrony.service",
        processes: &["chronyd"],
        ports: &[],
    };
    const CUPS: Service = Service {
        unit: "cups.service",
        processes: &["cupsd"],
        ports: &[("tcp", 631)],
    };

    fn proc(pid: u32, comm: &str) -> Process {
        Process {
            pid,
            comm: comm.into(),
            cmdline: comm.into(),
            uid: 0,
        }
    }

    fn sock(port: u16, owners: &[(&str, u32)]) -> Socket {
        Socket {
            proto: "tcp",
            addr: "0.0.0.0".parse().unwrap(),
            port,
            inode: 1,
            owners: owners.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
        }
    }

    #[test]
    fn live_enabled_but_not_running_is_not_active() {
        let ps = Ok(vec![proc(1, "init"), proc(200, "sshd")]);
        let st = judge(
            &CHRONY,
            true,
            &ps,
            &Ok(vec![]),
            Some("/etc/x/chrony.service"),
        );
        assert_eq!(
            st,
            ServiceState::EnabledNotRunning(
                "chrony.service enabled (/etc/x/chrony.service) but not running".into()
            )
        );
        assert!(!st.is_active());
    }

    #[test]
    fn live_running_is_active_whether_enabled_or_not() {
        let ps = Ok(vec![proc(1, "init"), proc(321, "chronyd")]);
        for link in [None, Some("/l")] {
            let st = judge(&CHRONY, true, &ps, &Ok(vec![]), link);
            assert_eq!(
                st,
                ServiceState::Running("chronyd running (pid 321)".into())
            );
            assert!(st.is_active());
        }
    }

    #[test]
    fn live_listening_port_counts_including_socket_activation() {
        let ps = Ok(vec![proc(1, "systemd")]);
        let socks = Ok(vec![sock(22, &[("sshd", 5)]), sock(631, &[("systemd", 1)])]);
        let st = judge(&CUPS, true, &ps, &socks, None);
        assert_eq!(
            st,
            ServiceState::Running(
                "631/tcp listening on 0.0.0.0 (systemd pid 1: socket-activated) for cups.service"
                    .into()
            )
        );
        let socks = Ok(vec![sock(631, &[])]);
        let st = judge(&CUPS, true, &ps, &socks, None);
        assert!(st.evidence().unwrap().contains("owner unknown"), "{st:?}");
        // Another port is not the service's.
        let socks = Ok(vec![sock(632, &[])]);
        assert_eq!(
            judge(&CUPS, true, &ps, &socks, None),
            ServiceState::Inactive
        );
    }

    #[test]
    fn live_unreadable_processes_make_an_enabled_unit_unknown() {
        let ps = Err(Unavailable::error("/proc: permission denied"));
        let st = judge(&CHRONY, true, &ps, &Ok(vec![]), Some("/l"));
        assert!(matches!(st, ServiceState::Unknown(_)), "{st:?}");
        assert!(!st.is_active());
    }

    #[test]
    fn offline_enabled_is_all_one_can_know() {
        let ps = Err(Unavailable::skip("offline"));
        let st = judge(&CHRONY, false, &ps, &ps.clone().map(|_| vec![]), Some("/l"));
        assert_eq!(
            st,
            ServiceState::EnabledOffline(
                "chrony.service enabled (/l) (offline: cannot tell whether it runs)".into()
            )
        );
        assert!(st.is_active());
        assert_eq!(
            judge(&CHRONY, false, &ps, &Ok(vec![]), None),
            ServiceState::Inactive
        );
    }
}

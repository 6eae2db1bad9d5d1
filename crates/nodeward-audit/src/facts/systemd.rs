//! Which services a host starts at boot: systemd `*.wants/` links under
//! /etc/systemd/system (and vendor-enabled units under /usr/lib/systemd/system),
//! masks, and SysV `rc?.d/S*` links.

use crate::host::Host;
use std::collections::{BTreeMap, BTreeSet};

/// Units enabled at boot, with the link that enables each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnabledUnits {
    /// Unit name (`ssh.service`) to the path of the link that enables it.
    pub enabled: BTreeMap<String, String>,
    /// Units masked (linked to /dev/null in /etc/systemd/system).
    pub masked: BTreeSet<String>,
}

impl EnabledUnits {
    /// Reads the links of `host`.
    pub fn read(host: &dyn Host) -> Self {
        let mut units = EnabledUnits::default();
        for base in [
            "/usr/lib/systemd/system",
            "/lib/systemd/system",
            "/etc/systemd/system",
        ] {
            let Ok(names) = host.list_dir(base) else {
                continue;
            };
            for name in names {
                let path = format!("{base}/{name}");
                if name.ends_with(".wants") {
                    // Vendor directories enable only a few static units.
                    if base != "/etc/systemd/system"
                        && !matches!(
                            name.as_str(),
                            "multi-user.target.wants"
                                | "sysinit.target.wants"
                                | "timers.target.wants"
                        )
                    {
                        continue;
                    }
                    if let Ok(entries) = host.list_dir(&path) {
                        for unit in entries {
                            units.enabled.insert(unit.clone(), format!("{path}/{unit}"));
                        }
                    }
                } else if base == "/etc/systemd/system"
                    && host.read_link(&path).is_ok_and(|t| t == "/dev/null")
                {
                    units.masked.insert(name);
                }
            }
        }
        for rc in ["/etc/rc2.d", "/etc/rc3.d"] {
            if let Ok(names) = host.list_dir(rc) {
                for n in names
                    .into_iter()
                    .filter(|n| n.starts_with('S') && n.len() > 3)
                {
                    // "S01ssh": the name after the two-digit priority.
                    let Some(base) = n.get(3..) else {
                        continue;
                    };
                    let service = format!("{base}.service");
                    units
                        .enabled
                        .entry(service)
                        .or_insert_with(|| format!("{rc}/{n}"));
                }
            }
        }
        for m in &units.masked {
            units.enabled.remove(m);
        }
        units
    }

    /// The link enabling `unit` (`ssh.service`, `fail2ban`), if it is enabled.
    pub fn enabled(&self, unit: &str) -> Option<&str> {
        let full = if unit.contains('.') {
            unit.to_string()
        } else {
            format!("{unit}.service")
        };
        self.enabled.get(&full).map(String::as_str)
    }
}

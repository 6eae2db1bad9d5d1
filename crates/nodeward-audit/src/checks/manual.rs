//! Items software cannot verify (MAN-001 … MAN-003): kept in the report as
//! `manual` so the operator's checklist is complete.

use super::{Check, Ctx, Outcome};
use nodeward_report::Severity;

fn removable_boot(_: &Ctx) -> Outcome {
    Outcome::manual("firmware settings are not visible to the operating system")
}

fn key_backup(_: &Ctx) -> Outcome {
    Outcome::manual(
        "whether node keys and wallet seeds have an off-site copy cannot be seen from the host",
    )
}

fn console_access(_: &Ctx) -> Outcome {
    Outcome::manual("physical/console and hosting-panel access controls are outside the host")
}

/// Manual checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "MAN-001",
        area: "manual",
        severity: Severity::Medium,
        title: "Booting from removable media is disabled in the firmware, with a firmware password",
        remediation: "In the BIOS/UEFI setup: boot only from the system disk, disable USB/CD boot, set a setup password.",
        references: &["CIS Debian 12 1.4"],
        run: removable_boot,
    },
    Check {
        id: "MAN-002",
        area: "manual",
        severity: Severity::High,
        title: "Node keys and wallet seeds have an encrypted off-site backup",
        remediation: "Keep an encrypted copy of the node identity/pool keys (and cold keys offline) in a second location; test restoring it.",
        references: &["Cardano stake pool operations: key management"],
        run: key_backup,
    },
    Check {
        id: "MAN-003",
        area: "manual",
        severity: Severity::Medium,
        title: "Console and hosting-panel access use MFA",
        remediation: "Enable two-factor authentication on the hosting provider's panel and out-of-band console.",
        references: &["iri-playbook: security"],
        run: console_access,
    },
];

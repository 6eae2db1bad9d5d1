//! Accounts and PAM (ACC-001 … ACC-010), one file per concern: who exists
//! and can be root ([`passwd`]), password quality ([`quality`]) and ageing
//! ([`ageing`]), SSH second factor ([`mfa`]), sudo ([`sudo`]) and the node's
//! own accounts ([`node`], also used by the key-file checks).

mod ageing;
mod mfa;
pub(crate) mod node;
mod passwd;
mod quality;
mod sudo;

use super::Check;
use nodeward_report::Severity;

/// Account and PAM checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "ACC-001",
        area: "accounts",
        severity: Severity::Critical,
        title: "Only root has UID 0",
        remediation: "Give every other UID-0 account its own UID (`usermod -u <uid> <name>`) or remove it; use sudo for privileges.",
        references: &["CIS Debian 12 7.2"],
        run: passwd::uid0,
    },
    Check {
        id: "ACC-002",
        area: "accounts",
        severity: Severity::Critical,
        title: "No account has an empty password",
        remediation: "Lock the account (`passwd -l <name>`) or set a password; never leave the /etc/shadow field empty.",
        references: &["CIS Debian 12 7.2"],
        run: passwd::empty_hashes,
    },
    Check {
        id: "ACC-003",
        area: "accounts",
        severity: Severity::Medium,
        title: "Password quality requires at least 12 characters",
        remediation: "`apt install libpam-pwquality` and set `minlen = 12` in /etc/security/pwquality.conf.",
        references: &["pam_pwquality(8)", "CIS Debian 12 5.3"],
        run: quality::pwquality,
    },
    Check {
        id: "ACC-004",
        area: "accounts",
        severity: Severity::Low,
        title: "The last 5 passwords cannot be reused",
        remediation: "Add `password required pam_pwhistory.so remember=5 use_authtok` before pam_unix.so in /etc/pam.d/common-password.",
        references: &["pam_pwhistory(8)", "CIS Debian 12 5.3"],
        run: quality::reuse,
    },
    Check {
        id: "ACC-005",
        area: "accounts",
        severity: Severity::Low,
        title: "Passwords expire after at most 180 days",
        remediation: "Set `PASS_MAX_DAYS 180` in /etc/login.defs (new accounts) and `chage --maxdays 180 <user>` for every existing account with a password.",
        references: &["login.defs(5)"],
        run: ageing::max_days,
    },
    Check {
        id: "ACC-006",
        area: "accounts",
        severity: Severity::Low,
        title: "Password expiry is warned about at least 21 days ahead",
        remediation: "Set `PASS_WARN_AGE 21` in /etc/login.defs (new accounts) and `chage --warndays 21 <user>` for every existing account with a password.",
        references: &["login.defs(5)"],
        run: ageing::warn_age,
    },
    Check {
        id: "ACC-007",
        area: "accounts",
        severity: Severity::High,
        title: "SSH logins need a second factor (TOTP/OATH/U2F) (scored where MFA is required)",
        remediation: "`apt install libpam-google-authenticator`, run `google-authenticator` for every login user, add `auth required pam_google_authenticator.so` (no `nullok`) to /etc/pam.d/sshd, and set `UsePAM yes`, `KbdInteractiveAuthentication yes` and `AuthenticationMethods publickey,keyboard-interactive` in sshd_config (no Match block weakening them), then `systemctl reload ssh`.",
        references: &["pam_google_authenticator(8)"],
        run: mfa::mfa,
    },
    Check {
        id: "ACC-008",
        area: "accounts",
        severity: Severity::High,
        title: "Service accounts have no broad sudo; people escalate with a password",
        remediation: "With `visudo`: give service accounts only named commands (`hornet ALL=(root) NOPASSWD: /usr/bin/systemctl restart hornet`) or none, and remove `NOPASSWD`/`!authenticate` from rules granting ALL or a shell to people.",
        references: &["sudoers(5)"],
        run: sudo::sudo,
    },
    Check {
        id: "ACC-009",
        area: "accounts",
        severity: Severity::High,
        title: "Node processes do not run as root",
        remediation: "Run the node under its own account: `User=<node-user>` in its systemd unit (with `NoNewPrivileges=yes`), then `systemctl daemon-reload && systemctl restart <node>`.",
        references: &["systemd.exec(5)"],
        run: node::node_as_root,
    },
    Check {
        id: "ACC-010",
        area: "accounts",
        severity: Severity::Medium,
        title: "The node's accounts cannot be logged in to; service accounts have no shell with SSH keys",
        remediation: "For the account running the node: `usermod -s /usr/sbin/nologin <account>`, `passwd -l <account>` and remove ~<account>/.ssh/authorized_keys; log in as a person and use sudo.",
        references: &["CIS Debian 12 7.2"],
        run: node::service_logins,
    },
];

//! Parsers that turn what a [`crate::host::Host`] reads into facts checks use.
//! Each module parses one kind of system file; none reads the file system itself
//! except through the `Host` it is given.

pub mod auditrules;
pub mod clock;
pub mod debversion;
pub mod fail2ban;
pub mod ilp;
pub mod keyfiles;
pub mod keyvalue;
pub mod limits;
pub mod mounts;
pub mod nftables;
pub mod nodeunits;
pub mod nodeward_conf;
pub mod nodeward_fw;
pub mod packages;
pub mod pam;
pub mod portset;
pub mod procmaps;
pub mod rpm;
pub mod shadow;
pub mod sockets;
pub mod sshtime;
pub mod sudoers;
pub mod sysctl;
pub mod systemd;
pub mod unitconf;
pub mod users;

#[cfg(test)]
mod fuzz {
    //! Every parser of files from the audited system takes arbitrary text
    //! without panicking (these files are untrusted input on an offline root).
    use proptest::prelude::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,400}",
            proptest::collection::vec(
                prop_oneof![
                    Just("table inet filter {".to_string()),
                    Just("chain input {".to_string()),
                    Just("type filter hook input priority 0; policy drop;".to_string()),
                    Just("}".to_string()),
                    Just("*filter".to_string()),
                    Just(":INPUT DROP [0:0]".to_string()),
                    Just("Package: a".to_string()),
                    Just("Version: 1:2.3-4".to_string()),
                    Just("Defaults:a, b !authenticate".to_string()),
                    Just("%sudo ALL=(ALL:ALL) NOPASSWD: ALL, PASSWD: /bin/ls \\".to_string()),
                    Just("User_Alias X = a : Y = b".to_string()),
                    Just("@includedir /etc/sudoers.d".to_string()),
                    Just("".to_string()),
                    "[ -~]{0,60}",
                ],
                0..30
            )
            .prop_map(|v| v.join("\n")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn parsers_never_panic(t in text()) {
            let _ = super::nftables::analyse_nft(&t);
            let _ = super::nftables::analyse_iptables_save(&t);
            let _ = super::keyvalue::parse(&t, Some('='));
            let _ = super::keyvalue::parse(&t, None);
            let _ = super::mounts::parse_mountinfo(&t, "f");
            let _ = super::mounts::parse_fstab(&t, "f");
            let _ = super::sysctl::parse(&t, "f");
            let _ = super::users::parse_passwd(&t);
            let _ = super::users::parse_shadow(&t);
            let _ = super::users::parse_group(&t);
            let _ = super::pam::words(&t);
            let _ = super::sudoers::parse_text("/etc/sudoers", &t);
            let _ = super::packages::parse_status(&t);
            let _ = super::sockets::parse_proc_net(&t, "tcp", false);
            let _ = super::sockets::parse_proc_net(&t, "udp", true);
            let _ = super::debversion::compare(&t, "1.0");
            let _ = super::fail2ban::merge(&[("f".to_string(), t.clone())]);
            let _ = super::portset::parse_list(&t, &super::portset::Services::parse(&t));
            let _ = super::nodeward_conf::NodewardConf::parse("f", &t);
            let _ = super::rpm::vercmp::rpmvercmp(&t, "1.0~rc1^git1");
            let _ = super::rpm::header::parse(t.as_bytes());
            let _ = super::unitconf::parse_section(&t, "f", "Journal");
            let _ = super::limits::parse(&t, "f");
            let _ = super::procmaps::deleted_exec_paths(&t);
            let _ = super::procmaps::deleted_exe(&t);
            let _ = super::auditrules::count_rules(&t);
            let _ = super::sshtime::parse_seconds(&t);
            let _ = super::ilp::script_settings(&t, "f");
            let _ = super::ilp::parse_unit(&t, "f");
            let _ = super::ilp::env_file_settings(&t, "f");
            let _ = super::ilp::dump_apps(&t, "f");
            let _ = super::ilp::admin_port_arg(&t);
        }
    }
}

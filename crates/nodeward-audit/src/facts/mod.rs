//! Parsers that turn what a [`crate::host::Host`] reads into facts checks use.
//! Each module parses one kind of system file; none reads the file system itself
//! except through the `Host` it is given.

pub mod clock;
pub mod debversion;
pub mod ilp;
pub mod keyvalue;
pub mod mounts;
pub mod nftables;
pub mod packages;
pub mod sockets;
pub mod sysctl;
pub mod systemd;
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
            let _ = super::packages::parse_status(&t);
            let _ = super::sockets::parse_proc_net(&t, "tcp", false);
            let _ = super::sockets::parse_proc_net(&t, "udp", true);
            let _ = super::debversion::compare(&t, "1.0");
            let _ = super::ilp::script_settings(&t, "f");
            let _ = super::ilp::parse_unit(&t, "f");
            let _ = super::ilp::env_file_settings(&t, "f");
            let _ = super::ilp::dump_apps(&t, "f");
            let _ = super::ilp::admin_port_arg(&t);
        }
    }
}

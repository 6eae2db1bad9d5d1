//! `nodeward init`: writes a starting configuration for one kind of node.
//!
//! The operator's first step after installing: one command gives a file with
//! the gateway policy of that node kind (taken from `examples/*.toml`), the
//! firewall's public ports, the audit profile and the file-integrity profile.
//! The file is validated by the same checks as `nodeward config check` before
//! it is written, written atomically with mode 0640, and never replaces a file
//! that holds settings.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Arguments of `nodeward init`.
#[derive(clap::Args)]
pub struct InitArgs {
    /// Kind of node this host runs.
    #[arg(long, value_enum)]
    profile: Profile,
    /// The node's API as the gateway reaches it (default: the kind's usual loopback port).
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// Public DNS name: the gateway then listens on 443 with TLS (Let's Encrypt paths).
    #[arg(long, value_name = "NAME")]
    domain: Option<String>,
    /// Where to write the configuration; an existing file with settings is never replaced.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    config: PathBuf,
}

/// The node kinds `init` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// IOTA IRI fullnode.
    Iota,
    /// IOTA Hornet (legacy API).
    Hornet,
    /// Interledger connector (ilp-connector, moneyd).
    Ilp,
    /// Cardano stake pool (cardano-submit-api behind the gateway).
    Cardano,
    /// Dash/PIVX-style masternode (RPC kept on loopback).
    Masternode,
    /// Ethereum-style JSON-RPC node (geth, Nethermind, Erigon).
    Jsonrpc,
}

/// What differs between node kinds.
struct Kind {
    /// Human name for the header comment.
    label: &'static str,
    /// Default `--node`.
    node: &'static str,
    /// The upstream and route tables (with `@NODE@` for the node URL).
    policy: &'static str,
    /// `[firewall] profiles`.
    firewall: &'static str,
    /// `[audit] profile` and `[fim] profile` (same names).
    audit: &'static str,
    /// Whether the gateway listens publicly (80/443) or on loopback only.
    public: bool,
    /// Whether the firewall profile already opens 80 and 443.
    profile_opens_web: bool,
}

impl Profile {
    fn kind(self) -> Kind {
        match self {
            Profile::Iota => Kind {
                label: "IOTA IRI",
                node: "http://127.0.0.1:14265",
                policy: include_str!("init/iota.toml"),
                firewall: "iota",
                audit: "iota",
                public: true,
                profile_opens_web: true,
            },
            Profile::Hornet => Kind {
                label: "IOTA Hornet",
                node: "http://127.0.0.1:14265",
                policy: include_str!("init/iota.toml"),
                firewall: "hornet",
                audit: "hornet",
                public: true,
                profile_opens_web: true,
            },
            Profile::Ilp => Kind {
                label: "Interledger connector",
                node: "http://127.0.0.1:7769",
                policy: include_str!("init/ilp.toml"),
                firewall: "ilp",
                audit: "ilp",
                public: true,
                profile_opens_web: true,
            },
            Profile::Cardano => Kind {
                label: "Cardano stake pool",
                node: "http://127.0.0.1:8090",
                policy: include_str!("init/cardano.toml"),
                firewall: "cardano",
                audit: "cardano",
                public: true,
                profile_opens_web: false,
            },
            Profile::Masternode => Kind {
                label: "masternode",
                node: "http://127.0.0.1:9998",
                policy: include_str!("init/masternode.toml"),
                firewall: "masternode",
                audit: "masternode",
                public: false,
                profile_opens_web: false,
            },
            Profile::Jsonrpc => Kind {
                label: "JSON-RPC (Ethereum-style)",
                node: "http://127.0.0.1:8545",
                policy: include_str!("init/jsonrpc.toml"),
                firewall: "ethereum",
                audit: "generic",
                public: true,
                profile_opens_web: false,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            Profile::Iota => "iota",
            Profile::Hornet => "hornet",
            Profile::Ilp => "ilp",
            Profile::Cardano => "cardano",
            Profile::Masternode => "masternode",
            Profile::Jsonrpc => "jsonrpc",
        }
    }
}

/// Checks `--node`: an http(s) URL made of characters that need no quoting in TOML.
fn check_node_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("--node {url:?}: must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') || url.len() > 2048 {
        return Err(format!("--node {url:?}: no host"));
    }
    if let Some(c) = url
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/[]%".contains(*c)))
    {
        return Err(format!("--node {url:?}: character {c:?} is not allowed"));
    }
    Ok(())
}

/// Checks `--domain`: a DNS name (letters, digits, hyphens; at least two labels).
fn check_domain(name: &str) -> Result<(), String> {
    let labels: Vec<&str> = name.split('.').collect();
    let ok = name.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--domain {name:?}: not a DNS name (letters, digits and hyphens, e.g. node.example.org)"
        ))
    }
}

/// Builds the configuration text for `args` (not yet validated).
fn render(args: &InitArgs) -> Result<String, String> {
    let kind = args.profile.kind();
    let node = args.node.as_deref().unwrap_or(kind.node);
    check_node_url(node)?;
    if let Some(d) = &args.domain {
        check_domain(d)?;
        if !kind.public {
            return Err(format!(
                "--domain: the {} profile keeps the gateway on loopback (its RPC controls the wallet); leave --domain out",
                args.profile.name()
            ));
        }
    }
    let mut t = String::new();
    t.push_str(&format!(
        "# nodeward configuration for a {} node, written by\n#   nodeward init --profile {}\n\
         # Every key is documented in docs/configuration.md\n\
         # (/usr/share/doc/nodeward/configuration.md.gz in the Debian package).\n\
         # Check it after every edit: nodeward config check --config FILE\n\n",
        kind.label,
        args.profile.name()
    ));
    t.push_str(
        "[gateway]\n\
         state_dir = \"/var/lib/nodeward\"\n\
         max_connections = 4096\n\
         max_connections_per_ip = 64\n\
         # Slowloris protection: headers within 10 s, then the whole body within 10 s.\n\
         header_timeout = \"10s\"\n\
         body_timeout = \"10s\"\n\
         # Sources that skip rate limits and per-source caps (your monitoring).\n\
         trusted = [\"127.0.0.1/32\", \"::1/128\"]\n\
         access_log = \"stdout\"\n\n\
         # 20 refusals within a minute ban a source for 5 minutes, then 10, 20, ...\n\
         [gateway.autoban]\n\
         threshold = 20\n\
         window = \"1m\"\n\
         ban_for = \"5m\"\n\n",
    );
    match (&args.domain, kind.public) {
        (Some(d), _) => t.push_str(&format!(
            "# TLS with the certificate of {d} (e.g. `certbot certonly --standalone -d {d}`);\n\
             # the gateway reloads it on `systemctl reload nodeward-gateway`.\n\
             [[listener]]\n\
             bind = \"0.0.0.0:443\"\n\
             tls = {{ cert = \"/etc/letsencrypt/live/{d}/fullchain.pem\", key = \"/etc/letsencrypt/live/{d}/privkey.pem\" }}\n\n"
        )),
        (None, true) => t.push_str(
            "# Plain HTTP on port 80; `nodeward init --domain NAME` writes a TLS listener on 443.\n\
             [[listener]]\n\
             bind = \"0.0.0.0:80\"\n\n",
        ),
        (None, false) => t.push_str(
            "# Loopback only: local tools and monitoring.\n\
             [[listener]]\n\
             bind = \"127.0.0.1:19998\"\n\n",
        ),
    }
    t.push_str(
        "# Metrics, status and reload; needs the token in /var/lib/nodeward/admin.token.\n\
         [admin]\n\
         bind = \"127.0.0.1:9901\"\n\n",
    );
    t.push_str(&kind.policy.replace("@NODE@", node));
    t.push_str(&format!(
        "\n# Host firewall (nftables): SSH, the profile's public ports, nothing else.\n\
         # Review with `nodeward firewall plan`; docs/firewall.md.\n\
         [firewall]\n\
         ssh_port = 22\n\
         # Sources allowed to reach SSH; empty = everywhere. Put your own networks here.\n\
         ssh_from = []\n\
         profiles = [\"{}\"]\n\
         new_conn_rate = \"30/s\"\n",
        kind.firewall
    ));
    if kind.public && !kind.profile_opens_web {
        t.push_str(
            "\n# The gateway's public ports.\n\
             [[firewall.allow]]\n\
             proto = \"tcp\"\n\
             ports = \"80,443\"\n",
        );
    }
    t.push_str(
        "\n# SSH brute force: 5 failures within 10 minutes ban a source for an hour.\n\
         [ban]\n\
         maxretry = 5\n\
         findtime = \"10m\"\n\
         bantime = \"1h\"\n",
    );
    t.push_str(&format!(
        "\n# `nodeward audit` judges ports, processes and keys by this profile (docs/checks.md).\n\
         [audit]\nprofile = \"{}\"\n",
        kind.audit
    ));
    if kind.public && !kind.profile_opens_web {
        let extra = if args.profile == Profile::Jsonrpc {
            ", \"30303/tcp\", \"30303/udp\""
        } else {
            ""
        };
        t.push_str(&format!("allowed_ports = [80, 443{extra}]\n"));
    }
    if args.profile == Profile::Jsonrpc {
        t.push_str("api_ports = [8545]\n");
    }
    t.push_str(&format!(
        "\n# File integrity: `nodeward fim init` builds the baseline (docs/fim.md).\n\
         [fim]\nprofile = \"{}\"\n",
        kind.audit
    ));
    Ok(t)
}

/// Whether `text` holds any setting (a line that is neither blank nor a comment).
fn has_settings(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    })
}

/// Runs `nodeward init`; `validate` lists the problems `config check` would report.
pub fn run(args: InitArgs, validate: impl Fn(&Path, &str) -> Vec<String>) -> Result<u8, String> {
    let text = render(&args)?;
    let problems = validate(&args.config, &text);
    if !problems.is_empty() {
        return Err(format!(
            "the generated configuration does not pass config check (a bug): {}",
            problems.join("; ")
        ));
    }
    let path = &args.config;
    // An existing file may only be replaced when it has no settings (the
    // packaged, all-comment default); its owner group is kept.
    let existing = match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if !meta.is_file() {
                return Err(format!(
                    "{}: exists and is not a regular file; not replaced",
                    path.display()
                ));
            }
            let old =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            if has_settings(&old) {
                return Err(format!(
                    "{}: already exists with settings; not overwritten. Move it away or pass --config OTHER_FILE",
                    path.display()
                ));
            }
            Some(meta)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    write_atomically(path, &text, existing.as_ref())?;
    print_next_steps(&args);
    Ok(0)
}

/// Writes `text` to `path` through a temporary file in the same directory,
/// mode 0640 (a missing directory is created with mode 0750), group taken
/// from the replaced file or else the directory (so
/// /etc/nodeward, root:nodeward, gives the service's group read access).
fn write_atomically(
    path: &Path,
    text: &str,
    existing: Option<&std::fs::Metadata>,
) -> Result<(), String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    if !dir.exists() {
        // A source install has no /etc/nodeward yet: made like the package's.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o750)
            .create(&dir)
            .map_err(|e| format!("{}: cannot create the directory: {e}", dir.display()))?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".nodeward-init")
        .tempfile_in(&dir)
        .map_err(|e| format!("{}: cannot create a file there: {e}", dir.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o640))
        .map_err(err)?;
    let gid = match existing {
        Some(m) => Some(m.gid()),
        None => std::fs::metadata(&dir).ok().map(|m| m.gid()),
    };
    if let Some(gid) = gid {
        // Not permitted for an unprivileged user outside that group: the file
        // then keeps the user's own group, which is what they can read anyway.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), None, Some(gid));
    }
    tmp.write_all(text.as_bytes()).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    if existing.is_some() {
        tmp.persist(path).map_err(|e| err(e.error))?;
    } else {
        // Refuses (atomically) if the file appeared meanwhile.
        tmp.persist_noclobber(path).map_err(|e| err(e.error))?;
    }
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The first hour, in order.
fn print_next_steps(args: &InitArgs) {
    let f = args.config.display();
    let kind = args.profile.kind();
    let node = args.node.as_deref().unwrap_or(kind.node);
    println!(
        "Wrote {f} (profile {}). Next steps, in order:",
        args.profile.name()
    );
    println!();
    println!("1. Audit the host and fix what fails:");
    println!("     sudo nodeward audit --config {f}");
    println!("2. Firewall: review the ruleset, apply it (it rolls back by itself after 5 minutes");
    println!("   unless confirmed), check that SSH still works from a new session, then confirm:");
    println!("     nodeward firewall plan --config {f}");
    println!("     sudo nodeward firewall apply --config {f}");
    println!("     sudo nodeward firewall confirm --config {f}");
    println!("     sudo systemctl enable nodeward-firewall nodeward-ban && sudo systemctl start nodeward-ban");
    println!("3. Gateway in front of the node at {node}:");
    println!("     sudo systemctl enable --now nodeward-gateway");
    println!("     nodeward gateway --config {f} status");
    println!("4. Monitoring: a file-integrity baseline, then regular checks:");
    println!("     sudo nodeward fim init --config {f}");
    println!("     nodeward check node --help   (node health for Nagios/Icinga)");
    if let Some(d) = &args.domain {
        println!("     nodeward check tls --help    (certificate expiry of {d})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_and_domain_are_checked() {
        assert!(check_node_url("http://127.0.0.1:14265").is_ok());
        assert!(check_node_url("https://[::1]:8545/rpc").is_ok());
        assert!(check_node_url("ftp://x").is_err());
        assert!(check_node_url("http://").is_err());
        assert!(check_node_url("http://a\"b").is_err());
        assert!(check_node_url("http://a\nb").is_err());
        assert!(check_domain("node.example.org").is_ok());
        assert!(check_domain("localhost").is_err());
        assert!(check_domain("a..b").is_err());
        assert!(check_domain("-a.b").is_err());
        assert!(check_domain("a\".b").is_err());
    }

    #[test]
    fn settings_are_told_from_comments() {
        assert!(!has_settings("# only\n\n   # comments\n"));
        assert!(has_settings("# c\n[gateway]\n"));
    }
}

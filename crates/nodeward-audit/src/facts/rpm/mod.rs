//! Package state of rpm-based systems (RHEL, CentOS Stream, Rocky, Alma,
//! Fedora), computed offline like the apt side: installed packages from the
//! rpm database, available versions and security advisories from the
//! repository metadata dnf/yum already cached. No package manager runs and
//! nothing is fetched.

/// The header blob parser, shared with `nodeward fim` (nodeward-pkgdb).
pub use nodeward_pkgdb::rpm::header;
pub mod repodata;
pub mod rpmdb;
/// rpm's version comparison, shared with `nodeward fim` (nodeward-pkgdb).
pub use nodeward_pkgdb::rpm::vercmp;

use super::packages::{Manager, Upgrade, UpgradeState};
use crate::host::{Fact, Host, Unavailable};
use std::collections::{HashMap, HashSet};
use vercmp::Evr;

/// Installed packages, the newest per name and architecture (several
/// kernels may be installed side by side; gpg-pubkey entries have no arch
/// and are left out).
pub fn installed_newest(db: &rpmdb::RpmDb) -> HashMap<(String, String), Evr> {
    let mut out: HashMap<(String, String), Evr> = HashMap::new();
    for p in db.packages.iter().filter(|p| !p.arch.is_empty()) {
        let key = (p.name.clone(), p.arch.clone());
        if out.get(&key).is_none_or(|cur| p.evr > *cur) {
            out.insert(key, p.evr.clone());
        }
    }
    out
}

/// Pending updates: installed packages for which a cached repository offers
/// a newer EVR of the same architecture; security when an advisory of
/// `type="security"` fixes the package in a version newer than installed.
pub fn pending_updates(host: &dyn Host) -> Fact<UpgradeState> {
    let db = rpmdb::read(host)?;
    let installed = installed_newest(&db);
    let repos = repodata::find(host);
    let usable: Vec<&repodata::Repo> = repos.iter().filter(|r| r.primary.is_some()).collect();
    if usable.is_empty() {
        let odd: Vec<&str> = repos
            .iter()
            .flat_map(|r| r.unreadable.iter().map(String::as_str))
            .collect();
        return Err(Unavailable::skip(if odd.is_empty() {
            "no dnf/yum repository metadata cached (/var/cache/dnf, /var/cache/yum): run `dnf makecache` once (nodeward never fetches)".to_string()
        } else {
            format!(
                "the cached repository metadata is in a compression nodeward does not read (only .xml and .xml.gz): {}",
                odd.join(", ")
            )
        }));
    }
    let wanted: HashSet<&str> = installed.keys().map(|(n, _)| n.as_str()).collect();
    let mut newest: HashMap<(String, String), (Evr, String)> = HashMap::new();
    let mut fixes: HashMap<(String, String), Vec<(Evr, String)>> = HashMap::new();
    let mut with_advisories: HashSet<&str> = HashSet::new();
    let mut read = Vec::new();
    for r in &usable {
        let primary = r.primary.as_deref().unwrap_or_default();
        repodata::scan_primary(host, primary, &r.id, &wanted, &mut newest)?;
        read.push(primary.to_string());
        if let Some(ui) = &r.updateinfo {
            repodata::scan_updateinfo(host, ui, &wanted, &mut fixes)?;
            with_advisories.insert(r.id.as_str());
            read.push(ui.clone());
        }
    }
    let mut upgrades = Vec::new();
    let mut security_unknown = Vec::new();
    for ((name, arch), have) in &installed {
        let Some((cand, repo)) = newest.get(&(name.clone(), arch.clone())) else {
            continue;
        };
        if cand <= have {
            continue;
        }
        let advisories: Vec<&str> = fixes
            .get(&(name.clone(), arch.clone()))
            .map(|v| {
                v.iter()
                    .filter(|(fixed, _)| fixed > have)
                    .map(|(_, id)| id.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let label = format!("{name}.{arch}");
        if advisories.is_empty() && !with_advisories.contains(repo.as_str()) {
            security_unknown.push(format!("{label} (from {repo}, which has no updateinfo)"));
        }
        let mut advisories = advisories;
        advisories.sort();
        advisories.dedup();
        upgrades.push(Upgrade {
            name: if advisories.is_empty() {
                label
            } else {
                format!("{label} [{}]", advisories.join(", "))
            },
            installed: have.to_string(),
            candidate: cand.to_string(),
            security: !advisories.is_empty(),
        });
    }
    upgrades.sort_by(|a, b| a.name.cmp(&b.name));
    security_unknown.sort();
    let newest_mtime = usable.iter().filter_map(|r| r.mtime).max();
    let mut notes = Vec::new();
    if let Some((n, first)) = &db.unreadable {
        notes.push(format!(
            "{n} unreadable header(s) in {} (first: {first})",
            db.path
        ));
    }
    Ok(UpgradeState {
        manager: Manager::Dnf,
        upgrades,
        lists: read,
        lists_age_secs: newest_mtime.map(|m| host.now() - m),
        security_unknown,
        notes,
    })
}

/// The kernel release string rpm's kernel packages install
/// (`5.14.0-362.8.1.el9_3.x86_64`), for the newest installed kernel.
pub fn newest_kernel(db: &rpmdb::RpmDb) -> Option<(Evr, String)> {
    db.packages
        .iter()
        .filter(|p| matches!(p.name.as_str(), "kernel-core" | "kernel" | "kernel-rt-core"))
        .max_by(|a, b| a.evr.cmp(&b.evr))
        .map(|p| {
            (
                p.evr.clone(),
                format!("{}-{}.{}", p.evr.version, p.evr.release, p.arch),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;
    use std::io::Write;

    const PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="5">
<package type="rpm">
  <name>openssl</name>
  <arch>x86_64</arch>
  <version epoch="1" ver="3.0.7" rel="28.el9_4"/>
  <format><rpm:provides><rpm:entry name="openssl" flags="EQ" epoch="9" ver="99" rel="1"/></rpm:provides></format>
</package>
<package type="rpm"><name>openssl</name><arch>src</arch><version epoch="1" ver="9.9" rel="1"/></package>
<package type="rpm"><name>openssl</name><arch>i686</arch><version epoch="1" ver="9.9" rel="1"/></package>
<package type="rpm"><name>bash</name><arch>x86_64</arch><version epoch="0" ver="5.1.8" rel="9.el9"/></package>
<package type="rpm"><name>tzdata</name><arch>noarch</arch><version epoch="0" ver="2024a" rel="1.el9"/></package>
</metadata>
"#;

    const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@example" status="final" type="security" version="2">
    <id>RHSA-2024:0001</id>
    <title>openssl security update</title>
    <pkglist><collection short="x"><name>x</name>
      <package name="openssl" version="3.0.7" release="28.el9_4" epoch="1" arch="x86_64"><filename>openssl.rpm</filename></package>
    </collection></pkglist>
  </update>
  <update type="enhancement"><id>RHEA-2024:0002</id>
    <pkglist><collection><package name="tzdata" version="2024a" release="1.el9" epoch="0" arch="noarch"/></collection></pkglist>
  </update>
</updates>
"#;

    fn write(root: &std::path::Path, path: &str, bytes: &[u8]) {
        let full = root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    fn rpmdb(root: &std::path::Path, pkgs: &[(&str, Option<u32>, &str, &str, &str)]) {
        write(root, "/etc/os-release", b"ID=rhel\n");
        let path = root.join("var/lib/rpm/rpmdb.sqlite");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        for (n, e, v, r, a) in pkgs {
            conn.execute(
                "INSERT INTO Packages (blob) VALUES (?1)",
                [header::build(n, *e, v, r, a)],
            )
            .unwrap();
        }
    }

    #[test]
    fn pending_and_security_updates_from_the_dnf_cache() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        rpmdb(
            root,
            &[
                ("openssl", Some(1), "3.0.7", "27.el9", "x86_64"),
                ("bash", None, "5.1.8", "9.el9", "x86_64"),
                ("tzdata", None, "2023c", "1.el9", "noarch"),
                ("gpg-pubkey", None, "fd431d51", "4ae0493b", ""),
            ],
        );
        let rd = "/var/cache/dnf/baseos-0123456789abcdef/repodata";
        write(root, &format!("{rd}/aa-primary.xml.gz"), &gz(PRIMARY));
        write(
            root,
            &format!("{rd}/bb-updateinfo.xml"),
            UPDATEINFO.as_bytes(),
        );
        write(root, &format!("{rd}/repomd.xml"), b"<repomd/>");
        let host = RootHost::new(root);
        let st = pending_updates(&host).unwrap();
        let got: Vec<(String, String, bool)> = st
            .upgrades
            .iter()
            .map(|u| (u.name.clone(), u.candidate.clone(), u.security))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "openssl.x86_64 [RHSA-2024:0001]".to_string(),
                    "1:3.0.7-28.el9_4".to_string(),
                    true
                ),
                (
                    "tzdata.noarch".to_string(),
                    "2024a-1.el9".to_string(),
                    false
                ),
            ]
        );
        assert!(st.security_unknown.is_empty());
        assert_eq!(st.lists.len(), 2);

        // Without updateinfo, security cannot be told.
        std::fs::remove_file(root.join(format!("{}/bb-updateinfo.xml", &rd[1..]))).unwrap();
        let st = pending_updates(&host).unwrap();
        assert!(st.upgrades.iter().all(|u| !u.security));
        assert_eq!(st.security_unknown.len(), 2, "{:?}", st.security_unknown);
        assert!(st.security_unknown[0].contains("from baseos, which has no updateinfo"));
    }

    #[test]
    fn missing_cache_bad_xml_and_berkeleydb_are_skips_or_errors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        rpmdb(root, &[("bash", None, "5.1.8", "9.el9", "x86_64")]);
        let host = RootHost::new(root);
        let e = pending_updates(&host).unwrap_err();
        assert!(e.reason.contains("dnf makecache"), "{e}");
        let rd = "/var/cache/yum/x86_64/9/appstream/repodata";
        write(root, &format!("{rd}/x-primary.xml.zst"), b"zstd");
        let e = pending_updates(&host).unwrap_err();
        assert!(e.reason.contains("x-primary.xml.zst"), "{e}");
        write(
            root,
            &format!("{rd}/y-primary.xml"),
            b"<metadata><package><name>bash</name></pack",
        );
        let e = pending_updates(&host).unwrap_err();
        assert_eq!(e.kind, crate::host::UnavailableKind::Error);
        assert!(e.reason.contains("y-primary.xml: XML error"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "/etc/os-release", b"ID=centos\n");
        write(
            dir.path(),
            "/var/lib/rpm/Packages",
            b"\0\0\0\0\x61\x15\x06\0",
        );
        let e = pending_updates(&RootHost::new(dir.path())).unwrap_err();
        assert!(e.reason.contains("BerkeleyDB"), "{e}");
    }
}

//! Where an Interledger host keeps the settings the ILP checks judge: the
//! `CONNECTOR_*` environment of ilp-connector (and moneyd, which embeds it),
//! moneyd's `--admin-api-port`, moneyd-gui's `PORT`, PM2's startup units, and
//! the versions of the npm packages installed globally.
//!
//! The facts come from the files an operator writes: systemd units (with
//! `Environment=` and `EnvironmentFile=`), PM2 ecosystem files
//! (`ecosystem.config.js`/`.cjs`/`.json`) and PM2's saved process lists
//! (`~/.pm2/dump.pm2`). Names and defaults follow the real sources:
//! ilp-connector 23 `src/services/config.ts` (env key = `CONNECTOR_` +
//! CONSTANT_CASE of the `src/schemas/Config.json` key: `adminApi`,
//! `adminApiHost` default `127.0.0.1`, `adminApiPort` default 7780), moneyd
//! `src/index.js` (`adminApiPort` from `--admin-api-port`, host left at the
//! connector default) and moneyd-gui `src/app.js` (`listen(process.env.PORT ||
//! 7770)` on every interface in the GitHub sources; the npm release 0.1.2
//! adds `'127.0.0.1'`: no setting either way, so the installed `src/app.js`
//! decides).

use crate::host::Host;
use std::collections::BTreeMap;

/// ilp-connector's default admin API port (`adminApiPort` in Config.json).
pub const CONNECTOR_ADMIN_PORT: u16 = 7780;
/// The admin API port moneyd-gui expects moneyd to use (`--admin-api-port 7769`).
pub const MONEYD_ADMIN_PORT: u16 = 7769;
/// moneyd-gui's default web port (`PORT`).
pub const GUI_PORT: u16 = 7770;
/// Most directories looked at below each home, `/opt` or `/srv` (bounds the walk).
const MAX_DIRS: usize = 256;

/// Which ILP program a configuration starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum App {
    /// ilp-connector itself.
    Connector,
    /// moneyd (an ilp-connector with an uplink).
    Moneyd,
    /// moneyd-gui, the web GUI for moneyd's admin API.
    MoneydGui,
}

impl App {
    /// The npm package name.
    pub fn name(self) -> &'static str {
        match self {
            App::Connector => "ilp-connector",
            App::Moneyd => "moneyd",
            App::MoneydGui => "moneyd-gui",
        }
    }
}

/// A value and where it was set (`file:line`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The value, quotes removed.
    pub value: String,
    /// `file:line` (or `file` for JSON read as a whole).
    pub at: String,
}

/// One configured ILP program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// What it runs.
    pub app: App,
    /// The file that starts it.
    pub source: String,
    /// `CONNECTOR_*` and `PORT` settings it gets.
    pub env: BTreeMap<String, Located>,
    /// moneyd's `--admin-api-port N`, when given.
    pub admin_port_arg: Option<Located>,
}

/// A systemd unit that starts PM2 (`pm2 startup` writes `pm2-<user>.service`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pm2Unit {
    /// The unit file.
    pub path: String,
    /// Its `User=`, when set (unset means root).
    pub user: Option<Located>,
    /// Its `PM2_HOME`, when set.
    pub pm2_home: Option<String>,
}

/// One installed npm package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Package name.
    pub name: String,
    /// `version` from its package.json (`?` when unreadable).
    pub version: String,
    /// The package.json read.
    pub path: String,
}

/// Which app a command line or app description starts, if any.
pub fn classify(text: &str) -> Option<App> {
    if text.contains("moneyd-gui") {
        Some(App::MoneydGui)
    } else if text.contains("ilp-connector") {
        Some(App::Connector)
    } else if text.contains("moneyd") {
        Some(App::Moneyd)
    } else {
        None
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return v[1..v.len() - 1].to_string();
        }
    }
    v.to_string()
}

fn wanted_key(k: &str) -> bool {
    k.starts_with("CONNECTOR_") || k == "PORT" || k == "PM2_HOME"
}

/// The number after `--admin-api-port` in `text` (`--admin-api-port 7769`,
/// `--admin-api-port=7769`, `'--admin-api-port', '7769'`).
pub fn admin_port_arg(text: &str) -> Option<String> {
    const FLAG: &str = "--admin-api-port";
    let i = text.find(FLAG)?;
    let rest = text[i + FLAG.len()..].trim_start_matches([' ', '\t', '=', '"', '\'', ',']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty()).then_some(digits)
}

/// `KEY: value` / `"KEY": "value"` / `KEY=value` pairs for `CONNECTOR_*`,
/// `PORT` and `PM2_HOME` in a JavaScript or JSON ecosystem file, line by line.
/// JavaScript is not evaluated: computed values are taken as written.
pub fn script_settings(text: &str, file: &str) -> Vec<(String, Located)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("//") || t.starts_with('*') || t.starts_with("/*") {
            continue;
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            let starts = (c.is_ascii_uppercase())
                && (i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_'));
            if !starts {
                i += 1;
                continue;
            }
            let end = bytes[i..]
                .iter()
                .position(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'))
                .map_or(bytes.len(), |p| i + p);
            let key = &line[i..end];
            i = end;
            if !wanted_key(key) {
                continue;
            }
            let rest = line[end..].trim_start_matches(['"', '\'']).trim_start();
            let Some(rest) = rest.strip_prefix([':', '=']) else {
                continue;
            };
            let rest = rest.trim_start();
            let value = match rest.chars().next() {
                Some(q @ ('"' | '\'' | '`')) => rest[1..].split(q).next().unwrap_or("").to_string(),
                _ => rest
                    .split([',', '}', ' ', '\t', ';'])
                    .next()
                    .unwrap_or("")
                    .to_string(),
            };
            out.push((
                key.to_string(),
                Located {
                    value,
                    at: format!("{file}:{}", n + 1),
                },
            ));
        }
    }
    out
}

/// Splits a systemd `Environment=` value into `KEY=VALUE` words (double
/// quotes group, as systemd does).
fn environment_words(v: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in v.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            _ => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// What a systemd unit file says about the program it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitText {
    /// `ExecStart=` values.
    pub exec: Vec<String>,
    /// `User=` (last wins).
    pub user: Option<Located>,
    /// `Environment=` settings.
    pub env: Vec<(String, Located)>,
    /// `EnvironmentFile=` paths (a leading `-` removed).
    pub env_files: Vec<String>,
}

/// Parses the keys of a unit file the ILP checks need.
pub fn parse_unit(text: &str, file: &str) -> UnitText {
    let mut u = UnitText::default();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let at = format!("{file}:{}", n + 1);
        let v = v.trim();
        match k.trim() {
            "ExecStart" => u.exec.push(v.to_string()),
            "User" => {
                u.user = Some(Located {
                    value: v.to_string(),
                    at,
                })
            }
            "Environment" => {
                for w in environment_words(v) {
                    if let Some((key, val)) = w.split_once('=') {
                        if wanted_key(key) {
                            u.env.push((
                                key.to_string(),
                                Located {
                                    value: val.to_string(),
                                    at: at.clone(),
                                },
                            ));
                        }
                    }
                }
            }
            "EnvironmentFile" => u.env_files.push(v.trim_start_matches('-').to_string()),
            _ => {}
        }
    }
    u
}

/// `KEY=VALUE` lines of an environment file (`export ` allowed).
pub fn env_file_settings(text: &str, file: &str) -> Vec<(String, Located)> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let line = line.strip_prefix("export ").unwrap_or(line);
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if wanted_key(k.trim()) {
                out.push((
                    k.trim().to_string(),
                    Located {
                        value: unquote(v),
                        at: format!("{file}:{}", n + 1),
                    },
                ));
            }
        }
    }
    out
}

/// The apps of a PM2 `dump.pm2` (a JSON array of process descriptions, each
/// with `name`, `pm_exec_path`, `args` and the environment both at the top
/// level and under `env`). Text that is not such JSON yields no apps.
pub fn dump_apps(text: &str, file: &str) -> Vec<Deployment> {
    let Ok(serde_json::Value::Array(procs)) = serde_json::from_str::<serde_json::Value>(text)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in procs.iter().filter_map(|p| p.as_object()) {
        let text_of = |k: &str| match p.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            _ => String::new(),
        };
        let desc = format!(
            "{} {} {}",
            text_of("name"),
            text_of("pm_exec_path"),
            text_of("args")
        );
        let Some(app) = classify(&desc) else {
            continue;
        };
        let mut env = BTreeMap::new();
        let nested = p.get("env").and_then(|e| e.as_object());
        for obj in [Some(p), nested].into_iter().flatten() {
            for (k, v) in obj {
                if let (true, Some(s)) = (wanted_key(k), v.as_str()) {
                    env.insert(
                        k.clone(),
                        Located {
                            value: s.to_string(),
                            at: format!("{file} ({})", text_of("name")),
                        },
                    );
                }
            }
        }
        out.push(Deployment {
            app,
            source: format!("{file} ({})", text_of("name")),
            env,
            admin_port_arg: admin_port_arg(&text_of("args")).map(|value| Located {
                value,
                at: file.to_string(),
            }),
        });
    }
    out
}

/// Home directories: `/root` and every directory under `/home`.
pub fn homes(host: &dyn Host) -> Vec<String> {
    let mut out = vec!["/root".to_string()];
    if let Ok(names) = host.list_dir("/home") {
        out.extend(names.into_iter().map(|n| format!("/home/{n}")));
    }
    out.retain(|h| host.metadata(h).is_ok_and(|m| m.is_dir));
    out
}

const ECOSYSTEM_NAMES: [&str; 4] = [
    "ecosystem.config.js",
    "ecosystem.config.cjs",
    "ecosystem.config.json",
    "ecosystem.json",
];

/// Directories an ecosystem file or a git checkout may sit in: each home,
/// `/opt/*`, `/srv/*`, and one level below those, at most [`MAX_DIRS`] in all.
pub fn project_dirs(host: &dyn Host) -> Vec<String> {
    let mut bases = homes(host);
    for top in ["/opt", "/srv"] {
        if let Ok(names) = host.list_dir(top) {
            bases.extend(names.into_iter().map(|n| format!("{top}/{n}")));
        }
    }
    let mut out = Vec::new();
    for b in bases {
        if out.len() >= MAX_DIRS {
            break;
        }
        if !host.metadata(&b).is_ok_and(|m| m.is_dir) {
            continue;
        }
        out.push(b.clone());
        if let Ok(names) = host.list_dir(&b) {
            for n in names
                .into_iter()
                .filter(|n| !n.starts_with('.') && n != "node_modules")
            {
                let p = format!("{b}/{n}");
                if out.len() < MAX_DIRS && host.metadata(&p).is_ok_and(|m| m.is_dir) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Every ILP configuration found, and the PM2 startup units.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IlpConfig {
    /// Configured ILP programs.
    pub deployments: Vec<Deployment>,
    /// PM2 startup units.
    pub pm2_units: Vec<Pm2Unit>,
    /// PM2 saved process lists found, with how many apps each lists.
    pub pm2_dumps: Vec<(String, usize)>,
    /// Directories holding an ecosystem file (their node_modules hold local packages).
    pub project_dirs: Vec<String>,
    /// Files that exist but could not be read, with the reason.
    pub unreadable: Vec<String>,
}

fn insert_all(env: &mut BTreeMap<String, Located>, settings: Vec<(String, Located)>) {
    for (k, v) in settings {
        env.insert(k, v);
    }
}

/// Reads units, ecosystem files and PM2 dumps from `host`.
pub fn read(host: &dyn Host) -> IlpConfig {
    let mut cfg = IlpConfig::default();
    let read_text = |path: &str, cfg: &mut IlpConfig| match host.read_text(path) {
        Ok(t) => Some(t),
        Err(e) if e.is_missing() => None,
        Err(e) => {
            cfg.unreadable.push(e.reason);
            None
        }
    };
    let mut pm2_homes: Vec<String> = Vec::new();
    for dir in [
        "/etc/systemd/system",
        "/lib/systemd/system",
        "/usr/lib/systemd/system",
    ] {
        let Ok(names) = host.list_dir(dir) else {
            continue;
        };
        for name in names.iter().filter(|n| n.ends_with(".service")) {
            let path = format!("{dir}/{name}");
            let Some(text) = read_text(&path, &mut cfg) else {
                continue;
            };
            let unit = parse_unit(&text, &path);
            let exec = unit.exec.join(" ");
            if name.starts_with("pm2-") || exec.contains("pm2 resurrect") {
                let pm2_home = unit
                    .env
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "PM2_HOME")
                    .map(|(_, v)| v.value.clone());
                pm2_homes.extend(pm2_home.clone());
                cfg.pm2_units.push(Pm2Unit {
                    path: path.clone(),
                    user: unit.user.clone(),
                    pm2_home,
                });
                continue;
            }
            let Some(app) = classify(&exec) else {
                continue;
            };
            let mut env = BTreeMap::new();
            for f in &unit.env_files {
                if let Some(t) = read_text(f, &mut cfg) {
                    insert_all(&mut env, env_file_settings(&t, f));
                }
            }
            // Environment= lines come after EnvironmentFile= in systemd's order.
            insert_all(&mut env, unit.env);
            cfg.deployments.push(Deployment {
                app,
                source: path.clone(),
                env,
                admin_port_arg: admin_port_arg(&exec).map(|value| Located {
                    value,
                    at: path.clone(),
                }),
            });
        }
    }
    for dir in project_dirs(host) {
        for name in ECOSYSTEM_NAMES {
            let path = format!("{dir}/{name}");
            let Some(text) = read_text(&path, &mut cfg) else {
                continue;
            };
            cfg.project_dirs.push(dir.clone());
            let settings = script_settings(&text, &path);
            let arg = admin_port_arg(&text).map(|value| Located {
                value,
                at: path.clone(),
            });
            let mut apps: Vec<App> = Vec::new();
            if text.contains("moneyd-gui") {
                apps.push(App::MoneydGui);
            }
            let rest = text.replace("moneyd-gui", "");
            if let Some(a) = classify(&rest) {
                apps.push(a);
            }
            for app in apps {
                let mut env = BTreeMap::new();
                insert_all(
                    &mut env,
                    settings
                        .iter()
                        .filter(|(k, _)| (app == App::MoneydGui) == (k == "PORT"))
                        .cloned()
                        .collect(),
                );
                cfg.deployments.push(Deployment {
                    app,
                    source: path.clone(),
                    env,
                    admin_port_arg: if app == App::MoneydGui {
                        None
                    } else {
                        arg.clone()
                    },
                });
            }
        }
    }
    let mut dump_dirs: Vec<String> = homes(host).iter().map(|h| format!("{h}/.pm2")).collect();
    dump_dirs.extend(pm2_homes);
    dump_dirs.sort();
    dump_dirs.dedup();
    for d in dump_dirs {
        let path = format!("{d}/dump.pm2");
        let Some(text) = read_text(&path, &mut cfg) else {
            continue;
        };
        let count = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Array(a)) => a.len(),
            _ => {
                cfg.unreadable
                    .push(format!("{path}: not a PM2 process list (JSON array)"));
                0
            }
        };
        cfg.pm2_dumps.push((path.clone(), count));
        cfg.deployments.extend(dump_apps(&text, &path));
    }
    cfg
}

/// The npm package names the version report covers, besides `ilp-plugin-*`
/// and `moneyd-uplink-*`.
pub const PACKAGES: [&str; 4] = ["ilp-connector", "moneyd", "moneyd-gui", "pm2"];

/// Global npm roots (system and per-user prefixes) plus `extra` project dirs.
pub fn node_module_dirs(host: &dyn Host, extra: &[String]) -> Vec<String> {
    let mut out = vec![
        "/usr/lib/node_modules".to_string(),
        "/usr/local/lib/node_modules".to_string(),
    ];
    for h in homes(host) {
        out.push(format!("{h}/.npm-global/lib/node_modules"));
    }
    out.extend(extra.iter().map(|d| format!("{d}/node_modules")));
    out.sort();
    out.dedup();
    out
}

/// `version` of a package.json text (at most 40 characters), `?` when absent.
fn version_of(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("version").and_then(|s| s.as_str()).map(String::from))
        .map(|v| v.chars().filter(|c| !c.is_control()).take(40).collect())
        .unwrap_or_else(|| "?".into())
}

/// The ILP-related packages installed in `dirs`, with their versions, and
/// git checkouts named like one of [`PACKAGES`] among [`project_dirs`].
pub fn installed_packages(host: &dyn Host, dirs: &[String]) -> Vec<Package> {
    let mut out = Vec::new();
    for d in project_dirs(host) {
        let Some(name) = d.rsplit('/').next().filter(|n| PACKAGES.contains(n)) else {
            continue;
        };
        let path = format!("{d}/package.json");
        if let Ok(t) = host.read_text(&path) {
            out.push(Package {
                name: name.to_string(),
                version: version_of(&t),
                path,
            });
        }
    }
    for dir in dirs {
        let Ok(names) = host.list_dir(dir) else {
            continue;
        };
        for name in names {
            let ours = PACKAGES.contains(&name.as_str())
                || name.starts_with("ilp-plugin-")
                || name.starts_with("moneyd-uplink-");
            if !ours {
                continue;
            }
            let path = format!("{dir}/{name}/package.json");
            let version = host
                .read_text(&path)
                .map(|t| version_of(&t))
                .unwrap_or_else(|_| "?".into());
            out.push(Package {
                name,
                version,
                path,
            });
        }
    }
    out
}

/// Where moneyd-gui binds, read from one of its `src/app.js`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuiBind {
    /// `file:line` of the `.listen(` call.
    pub at: String,
    /// The call as written (trimmed, at most 120 bytes).
    pub call: String,
    /// Whether it names a loopback host.
    pub loopback: bool,
}

/// The `.listen(` call of moneyd-gui's `src/app.js` text, if any.
pub fn gui_bind(text: &str, file: &str) -> Option<GuiBind> {
    text.lines().enumerate().find_map(|(n, line)| {
        let i = line.find(".listen(")?;
        let call = &line[i..];
        let loopback = [
            "'127.0.0.1'",
            "\"127.0.0.1\"",
            "'localhost'",
            "\"localhost\"",
            "'::1'",
        ]
        .iter()
        .any(|h| call.contains(h));
        Some(GuiBind {
            at: format!("{file}:{}", n + 1),
            call: call.trim().chars().take(120).collect(),
            loopback,
        })
    })
}

/// moneyd-gui's `src/app.js` files installed on the host: in the npm roots
/// (`dirs`) and in checkouts named `moneyd-gui` among [`project_dirs`].
pub fn gui_binds(host: &dyn Host, dirs: &[String]) -> Vec<GuiBind> {
    let mut paths: Vec<String> = dirs
        .iter()
        .map(|d| format!("{d}/moneyd-gui/src/app.js"))
        .collect();
    paths.extend(
        project_dirs(host)
            .into_iter()
            .filter(|d| d.ends_with("/moneyd-gui"))
            .map(|d| format!("{d}/src/app.js")),
    );
    paths.sort();
    paths.dedup();
    paths
        .iter()
        .filter_map(|p| host.read_text(p).ok().and_then(|t| gui_bind(&t, p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecosystem_settings_in_js_and_json() {
        let js = "module.exports = { apps: [{\n  name: 'connector',\n  script: 'ilp-connector',\n  env: {\n    CONNECTOR_ADMIN_API: true,\n    \"CONNECTOR_ADMIN_API_HOST\": '0.0.0.0', CONNECTOR_ADMIN_API_PORT: 7769,\n    // CONNECTOR_ADMIN_API_HOST: '127.0.0.1'\n  }\n}]}\n";
        let s = script_settings(js, "e.js");
        let got: Vec<(&str, &str, &str)> = s
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str(), v.at.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("CONNECTOR_ADMIN_API", "true", "e.js:5"),
                ("CONNECTOR_ADMIN_API_HOST", "0.0.0.0", "e.js:6"),
                ("CONNECTOR_ADMIN_API_PORT", "7769", "e.js:6"),
            ]
        );
        assert_eq!(
            admin_port_arg("args: ['xrp:start', '--admin-api-port', '7769']").as_deref(),
            Some("7769")
        );
        assert_eq!(
            admin_port_arg("moneyd xrp:start --admin-api-port=7771").as_deref(),
            Some("7771")
        );
        assert_eq!(admin_port_arg("moneyd xrp:start"), None);
    }

    #[test]
    fn unit_environment_and_user() {
        let u = parse_unit(
            "[Service]\nUser=ilp\nEnvironment=\"CONNECTOR_ADMIN_API=true\" CONNECTOR_ADMIN_API_HOST=127.0.0.1\nEnvironmentFile=-/etc/default/ilp\nExecStart=/usr/bin/node /usr/lib/node_modules/ilp-connector/dist/index.js\n",
            "u",
        );
        assert_eq!(u.user.unwrap().value, "ilp");
        assert_eq!(u.env.len(), 2);
        assert_eq!(u.env[1].1.value, "127.0.0.1");
        assert_eq!(u.env_files, vec!["/etc/default/ilp"]);
        assert_eq!(classify(&u.exec[0]), Some(App::Connector));
    }

    #[test]
    fn gui_bind_reads_the_listen_call() {
        let b = gui_bind(
            "a\n      .listen(process.env.PORT || 7770, '127.0.0.1')\n",
            "app.js",
        )
        .unwrap();
        assert!(b.loopback);
        assert_eq!(b.at, "app.js:2");
        let b = gui_bind("x.listen(process.env.PORT || 7770)\n", "app.js").unwrap();
        assert!(!b.loopback);
        assert_eq!(gui_bind("nothing", "f"), None);
    }

    #[test]
    fn dump_lists_apps_with_env() {
        let d = r#"[{"name":"moneyd","pm_exec_path":"/usr/bin/moneyd","args":["xrp:start","--admin-api-port","7769"],"env":{"CONNECTOR_ADMIN_API_HOST":"0.0.0.0"}},{"name":"gui","pm_exec_path":"/usr/lib/node_modules/moneyd-gui/index.js","PORT":"7770"},{"name":"web","pm_exec_path":"/srv/web.js"}]"#;
        let apps = dump_apps(d, "dump");
        assert_eq!(apps.len(), 2);
        assert_eq!(apps[0].app, App::Moneyd);
        assert_eq!(apps[0].admin_port_arg.as_ref().unwrap().value, "7769");
        assert_eq!(apps[0].env["CONNECTOR_ADMIN_API_HOST"].value, "0.0.0.0");
        assert_eq!(apps[1].app, App::MoneydGui);
        assert_eq!(apps[1].env["PORT"].value, "7770");
        assert!(dump_apps("not json", "d").is_empty());
    }
}

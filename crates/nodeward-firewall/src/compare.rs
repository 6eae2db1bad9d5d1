//! Does the running table `inet nodeward` equal the persisted one?
//!
//! The persisted script is loaded into a scratch network namespace (`unshare --net`,
//! gone when its process exits, so nothing is left behind) by a hidden nodeward
//! subcommand, listed there as JSON, and compared with the live table after both are
//! normalised: handles, ban elements (runtime state that `ban watch` refills) and
//! the elements of every set with timeouts (per-source meters) are dropped; the
//! persisted file never puts elements into such sets.

use crate::error::{Error, Result};
use crate::nft;
use crate::ruleset::{BAN_SET_V4, BAN_SET_V6};
use serde_json::Value;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The answer of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Same chains, rules and sets (bans and meters aside).
    Same,
    /// They differ; the text names the first difference.
    Differs(String),
    /// Could not be compared (no scratch namespace, ...); the text says why.
    Unknown(String),
}

/// How long the scratch namespace may take.
const SCRATCH_LIMIT: Duration = Duration::from_secs(20);

/// The largest script or listing passed through the scratch process.
const MAX_BYTES: usize = 16 * 1024 * 1024;

/// The normalised objects of a `nft -j list table inet nodeward` answer.
pub fn normalise(listing: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for obj in listing["nftables"].as_array().into_iter().flatten() {
        if obj.get("metainfo").is_some() {
            continue;
        }
        let mut obj = obj.clone();
        strip_handles(&mut obj);
        if let Some(set) = obj.get_mut("set").and_then(Value::as_object_mut) {
            // Sets with timeouts hold runtime state: bans (refilled by `ban watch`)
            // and per-source meters (nft lists these without their `dynamic` flag).
            let is_ban = matches!(
                set.get("name").and_then(Value::as_str),
                Some(BAN_SET_V4 | BAN_SET_V6)
            );
            let runtime = set
                .get("flags")
                .and_then(Value::as_array)
                .is_some_and(|f| f.iter().any(|x| x == "dynamic" || x == "timeout"));
            if is_ban || runtime {
                set.remove("elem");
            }
        }
        out.push(obj);
    }
    out
}

fn strip_handles(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("handle");
            map.values_mut().for_each(strip_handles);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_handles),
        _ => {}
    }
}

fn describe(obj: &Value) -> String {
    let text = obj.to_string();
    if text.chars().count() > 300 {
        format!("{}...", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

/// Compares two normalised tables; `Differs` names the first object that differs.
pub fn compare_listings(live: &Value, persisted: &Value) -> Comparison {
    let (a, b) = (normalise(live), normalise(persisted));
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        if x != y {
            return Comparison::Differs(format!(
                "object {} differs: running {} vs persisted {}",
                i + 1,
                describe(x),
                describe(y)
            ));
        }
    }
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Equal => Comparison::Same,
        std::cmp::Ordering::Greater => Comparison::Differs(format!(
            "the running table has {} more object(s), first: {}",
            a.len() - b.len(),
            describe(&a[b.len()])
        )),
        std::cmp::Ordering::Less => Comparison::Differs(format!(
            "the persisted table has {} more object(s), first: {}",
            b.len() - a.len(),
            describe(&b[a.len()])
        )),
    }
}

/// This process's network namespace (`net:[4026531840]`).
fn own_netns() -> Result<String> {
    std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.display().to_string())
        .map_err(|e| Error::io("/proc/self/ns/net", e))
}

/// Loads `script` into a fresh network namespace and returns its table as nft JSON.
pub fn scratch_listing(script: &str) -> std::result::Result<Value, String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the nodeward binary: {e}"))?;
    let outside = own_netns().map_err(|e| e.to_string())?;
    let mut child = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(exe)
        .args(["firewall", "scratch-table", "--outside-netns", &outside])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("cannot run unshare (util-linux) for a scratch network namespace: {e}")
        })?;
    // Drain both pipes on their own threads so a large listing cannot block the child.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(p) = pipe {
                let _ = p.take(MAX_BYTES as u64 + 1).read_to_end(&mut buf);
            }
            buf
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(script.as_bytes())
            .map_err(|e| format!("writing the script to the scratch namespace: {e}"))?;
    }
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > SCRATCH_LIMIT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the scratch namespace took longer than {}s",
                    SCRATCH_LIMIT.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for the scratch namespace: {e}")),
        }
    };
    let out = stdout.join().unwrap_or_default();
    let err = stderr.join().unwrap_or_default();
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        return Err(format!(
            "the persisted ruleset could not be loaded into a scratch network namespace: {}",
            err.trim().chars().take(2000).collect::<String>()
        ));
    }
    if out.len() > MAX_BYTES {
        return Err("the scratch listing is larger than 16 MiB".into());
    }
    serde_json::from_slice(&out)
        .map_err(|e| format!("unreadable listing from the scratch namespace: {e}"))
}

/// Compares the live table (`None`: not loaded) with the persisted script.
pub fn compare(live: Option<&Value>, persisted_script: &str) -> Comparison {
    let Some(live) = live else {
        return Comparison::Differs("table inet nodeward is not loaded".into());
    };
    match scratch_listing(persisted_script) {
        Ok(persisted) => compare_listings(live, &persisted),
        Err(why) => Comparison::Unknown(why),
    }
}

/// The hidden `firewall scratch-table` command, run by [`scratch_listing`] under
/// `unshare --net`: loads the script on stdin and prints the table as JSON.
/// Refuses to run in the namespace it was started from, so it never loads into the
/// live firewall.
pub fn run_scratch_worker(outside_netns: &str) -> Result<u8> {
    if own_netns()? == outside_netns {
        return Err(Error::Refused(
            "scratch-table runs only inside a new network namespace (unshare --net)".into(),
        ));
    }
    let mut script = String::new();
    std::io::stdin()
        .take(MAX_BYTES as u64 + 1)
        .read_to_string(&mut script)
        .map_err(|e| Error::io("stdin", e))?;
    if script.len() > MAX_BYTES {
        return Err(Error::Usage("script larger than 16 MiB".into()));
    }
    nft::load_script(&script)?;
    let listing = nft::list_table_json()?.unwrap_or_else(|| serde_json::json!({"nftables": []}));
    println!("{listing}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bans_meters_and_handles_do_not_count() {
        let live = json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "nodeward", "handle": 7}},
            {"set": {"family": "inet", "table": "nodeward", "name": "ban4", "handle": 2, "flags": ["timeout"], "elem": [{"elem": {"val": "192.0.2.1", "expires": 30}}]}},
            {"set": {"family": "inet", "table": "nodeward", "name": "rate4", "flags": ["timeout"], "timeout": 60, "elem": [{"elem": {"val": "192.0.2.9", "expires": 57}}]}},
            {"set": {"family": "inet", "table": "nodeward", "name": "trusted4", "flags": ["interval"], "elem": ["10.0.0.0/8"]}},
            {"rule": {"family": "inet", "table": "nodeward", "chain": "input", "handle": 12, "expr": [{"accept": null}]}}
        ]});
        let persisted = json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "nodeward", "handle": 1}},
            {"set": {"family": "inet", "table": "nodeward", "name": "ban4", "handle": 3, "flags": ["timeout"]}},
            {"set": {"family": "inet", "table": "nodeward", "name": "rate4", "flags": ["timeout"], "timeout": 60}},
            {"set": {"family": "inet", "table": "nodeward", "name": "trusted4", "flags": ["interval"], "elem": ["10.0.0.0/8"]}},
            {"rule": {"family": "inet", "table": "nodeward", "chain": "input", "handle": 4, "expr": [{"accept": null}]}}
        ]});
        assert_eq!(compare_listings(&live, &persisted), Comparison::Same);
        let mut changed = persisted.clone();
        changed["nftables"][4]["set"]["elem"] = json!(["10.0.0.0/16"]);
        assert!(
            matches!(compare_listings(&live, &changed), Comparison::Differs(d) if d.contains("trusted4"))
        );
        let mut shorter = persisted.clone();
        shorter["nftables"].as_array_mut().unwrap().pop();
        assert!(
            matches!(compare_listings(&live, &shorter), Comparison::Differs(d) if d.contains("running table has 1 more"))
        );
    }
}

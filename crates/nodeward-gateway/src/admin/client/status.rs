//! `nodeward gateway status`: the running gateway's state as tables for
//! people (or its `/status` document as JSON).

use super::{AdminApi, ClientError};
use crate::config::GatewayConfig;
use serde_json::Value;
use std::fmt::Write as _;

/// Prints the status; `json` prints the `/status` document as it is.
pub fn status(config: &GatewayConfig, json: bool) -> Result<u8, ClientError> {
    let api = AdminApi::from_config(config)?;
    let Some(v) = api.call("GET", "/status", None)? else {
        return Ok(1);
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    println!(
        "nodeward {}  up {}s  ready: {}  connections: {} open",
        v["version"].as_str().unwrap_or("?"),
        v["uptime_seconds"],
        if v["ready"] == true { "yes" } else { "NO" },
        v["connections"]["open"],
    );
    if let Some(r) = v["last_reload"].as_object() {
        println!(
            "last reload: {} {} {}",
            r.get("at").and_then(Value::as_str).unwrap_or("?"),
            if r.get("ok") == Some(&Value::Bool(true)) {
                "ok"
            } else {
                "FAILED"
            },
            r.get("message").and_then(Value::as_str).unwrap_or("")
        );
    }
    if let Some(c) = v["cluster"].as_object() {
        let revision = match v["cluster"]["policy"]["revision"].as_u64() {
            Some(n) => format!(
                "revision {n} ({})",
                v["cluster"]["policy"]["digest"].as_str().unwrap_or("?")
            ),
            None => "the local file (no revision pushed)".into(),
        };
        println!(
            "cluster: {} as {}  etcd {}  running {}",
            c.get("instance").and_then(Value::as_str).unwrap_or("?"),
            c.get("health").and_then(Value::as_str).unwrap_or("?"),
            if c.get("connected") == Some(&Value::Bool(true)) {
                "connected"
            } else {
                "LOST"
            },
            revision
        );
        if let Some(e) = c.get("policy_error").and_then(Value::as_str) {
            println!("cluster: last pushed revision refused: {e}");
        }
    }
    println!();
    let pools = v["upstreams"].as_array().cloned().unwrap_or_default();
    print!("{}", pools_table(&pools));
    Ok(0)
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One table per pool: a heading line, then a row per backend.
pub fn pools_table(pools: &[Value]) -> String {
    let mut out = String::new();
    for p in pools {
        let health = match p["health"].as_object() {
            Some(h) => format!(
                "{} checks every {} ms",
                h.get("kind").and_then(Value::as_str).unwrap_or("?"),
                h.get("interval_ms").map(cell).unwrap_or_default()
            ),
            None => "passive health only".into(),
        };
        let _ = writeln!(
            out,
            "pool {} ({}, {}){}{}",
            cell(&p["name"]),
            cell(&p["strategy"]),
            health,
            match &p["head"] {
                Value::Null => String::new(),
                h => format!(", head {h}"),
            },
            if p["ready"] == true {
                String::new()
            } else {
                "  NOT READY".into()
            },
        );
        if let Some(s) = p["stalled"].as_str() {
            let _ = writeln!(out, "  {s}");
        }
        if let Some(e) = p["backends_file_error"].as_str() {
            let _ = writeln!(out, "  backends file: {e}");
        }
        let header = [
            "ID", "ADDRESS", "ORIGIN", "STATE", "INFLIGHT", "REQUESTS", "ERRORS", "EWMA MS",
            "CHECK",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
        for b in p["backends"].as_array().into_iter().flatten() {
            let check = match b["last_check"].as_object() {
                None => "-".to_string(),
                Some(c) => {
                    let reasons: Vec<String> = c
                        .get("exclusions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|x| {
                            let t = cell(&x["threshold"]);
                            if t.is_empty() {
                                format!("{}: {}", cell(&x["reason"]), cell(&x["value"]))
                            } else {
                                format!("{}: {} (limit {t})", cell(&x["reason"]), cell(&x["value"]))
                            }
                        })
                        .collect();
                    let level = c.get("level").map(cell).unwrap_or_default();
                    if reasons.is_empty() {
                        format!("{level}: {}", c.get("output").map(cell).unwrap_or_default())
                    } else {
                        format!("{level}: {}", reasons.join("; "))
                    }
                }
            };
            rows.push(vec![
                cell(&b["id"]),
                cell(&b["address"]),
                cell(&b["origin"]),
                cell(&b["state"]),
                cell(&b["inflight"]),
                cell(&b["requests"]),
                cell(&b["failures"]),
                b["latency_ewma_ms"]
                    .as_f64()
                    .map_or("-".into(), |v| format!("{v:.1}")),
                check,
            ]);
        }
        let widths: Vec<usize> = (0..header.len() - 1)
            .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
            .collect();
        for r in &rows {
            let mut line = String::from("  ");
            for (i, c) in r.iter().enumerate() {
                if i + 1 == r.len() {
                    line.push_str(c);
                } else {
                    let _ = write!(line, "{c:<w$}  ", w = widths[i]);
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out.push('\n');
    }
    out
}

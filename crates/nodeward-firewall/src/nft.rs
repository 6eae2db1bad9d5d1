//! Running the `nft` tool (arguments passed as a list, scripts on stdin; no shell).

use crate::error::{Error, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// The nft program (`NODEWARD_NFT` overrides, e.g. for a wrapper).
fn program() -> String {
    std::env::var("NODEWARD_NFT").unwrap_or_else(|_| "nft".to_string())
}

fn nft_error(args: &[&str], message: impl Into<String>) -> Error {
    Error::Nft {
        args: args.join(" "),
        message: message.into(),
    }
}

/// Runs `nft ARGS` with `stdin` (if any) and returns its stdout.
pub fn run(args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut cmd = Command::new(program());
    cmd.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            " (install nftables: apt-get install nftables)"
        } else {
            ""
        };
        nft_error(args, format!("cannot run nft: {e}{hint}"))
    })?;
    if let Some(input) = stdin {
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(input.as_bytes())
                .map_err(|e| nft_error(args, format!("writing the script to nft: {e}")))?;
        }
    }
    let out = child
        .wait_with_output()
        .map_err(|e| nft_error(args, format!("waiting for nft: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let msg: String = stderr.trim().chars().take(4000).collect();
        return Err(nft_error(
            args,
            if msg.is_empty() {
                out.status.to_string()
            } else {
                msg
            },
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Loads a text script as one atomic transaction (`nft -f -`).
pub fn load_script(script: &str) -> Result<()> {
    run(&["-f", "-"], Some(script)).map(|_| ())
}

/// Checks a text script without loading it (`nft -c -f -`).
pub fn check_script(script: &str) -> Result<()> {
    run(&["-c", "-f", "-"], Some(script)).map(|_| ())
}

/// Loads a JSON batch as one atomic transaction (`nft -j -f -`).
pub fn load_json(batch: &serde_json::Value) -> Result<()> {
    run(&["-j", "-f", "-"], Some(&batch.to_string())).map(|_| ())
}

/// The whole ruleset as nft's JSON (`nft -j list ruleset`).
pub fn list_ruleset_json() -> Result<serde_json::Value> {
    let text = run(&["-j", "list", "ruleset"], None)?;
    serde_json::from_str(&text).map_err(|e| {
        nft_error(
            &["-j", "list", "ruleset"],
            format!("unreadable JSON from nft: {e}"),
        )
    })
}

/// Table `inet nodeward` as nft's JSON, or `None` when it is not loaded.
pub fn list_table_json() -> Result<Option<serde_json::Value>> {
    let args = ["-j", "list", "table", "inet", "nodeward"];
    match run(&args, None) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| nft_error(&args, format!("unreadable JSON from nft: {e}"))),
        Err(Error::Nft { message, .. }) if message.contains("No such file or directory") => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

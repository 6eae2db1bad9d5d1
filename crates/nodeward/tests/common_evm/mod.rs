//! Test support for end-to-end tests against a REAL Ethereum JSON-RPC node:
//! ganache (npm, pinned in `scripts/evm-node.sh`, installed by
//! `scripts/test.sh` into `target/evm-node/`), one process per node on a free
//! 127.0.0.1 port, killed when dropped. Blocks are mined on demand
//! (`evm_mine`), so a test decides every node's head.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::common_pool::http;

/// How long one ganache may take to answer its first call (it needs ~1 s
/// alone; several start at once on a 2-core machine).
const READY_DEADLINE: Duration = Duration::from_secs(15);

/// Account 0 of ganache's `--wallet.deterministic` wallet.
pub const ACCOUNT0: &str = "0x90F8bf6A479f320ead074411a4B0e7944Ea8c9C1";
/// Account 1 of the same wallet.
pub const ACCOUNT1: &str = "0xFFcf8FDEE72ac11b5c542428B35EEF5769C409f0";
/// What each deterministic account starts with: 1000 ETH in wei.
pub const START_BALANCE: &str = "0x3635c9adc5dea00000";
/// The chain id the nodes are started with (1337).
pub const CHAIN_ID: &str = "0x539";

/// The ganache executable: `$NODEWARD_GANACHE_BIN`, else
/// `<workspace>/target/evm-node/node_modules/.bin/ganache`. Panics (the test
/// FAILS) when it is missing, saying how to install it.
pub fn ganache_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("NODEWARD_GANACHE_BIN").map(PathBuf::from) {
        if p.is_file() {
            return p;
        }
        panic!(
            "NODEWARD_GANACHE_BIN={} is not a file; unset it or run `scripts/evm-node.sh install`",
            p.display()
        );
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/evm-node/node_modules/.bin/ganache");
    if p.is_file() {
        return p;
    }
    panic!(
        "ganache (the real JSON-RPC node these tests drive) is not installed at {}: run \
         scripts/test.sh (it installs it), or `scripts/evm-node.sh install` (needs node + npm)",
        p.display()
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One running ganache node.
pub struct EvmNode {
    pub name: String,
    pub addr: SocketAddr,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl EvmNode {
    /// Starts `names.len()` nodes at once and waits until each answers.
    pub fn start_all(names: &[&str]) -> Vec<EvmNode> {
        let mut nodes: Vec<EvmNode> = names.iter().map(|n| EvmNode::spawn(n)).collect();
        for n in &mut nodes {
            n.wait_ready();
        }
        nodes
    }

    /// Starts one node and waits until it answers.
    pub fn start(name: &str) -> EvmNode {
        let mut n = EvmNode::spawn(name);
        n.wait_ready();
        n
    }

    fn spawn(name: &str) -> EvmNode {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Self::launch(&dir, port);
        EvmNode {
            name: name.to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: Some(child),
            dir,
        }
    }

    fn launch(dir: &tempfile::TempDir, port: u16) -> Child {
        let log = std::fs::File::create(dir.path().join("ganache.log")).unwrap();
        Command::new(ganache_bin())
            .args(["--server.host", "127.0.0.1", "--server.port"])
            .arg(port.to_string())
            .args([
                "--chain.chainId",
                "1337",
                "--miner.blockTime",
                "0",
                "--wallet.deterministic",
                "--wallet.totalAccounts",
                "2",
                "--logging.quiet",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run ganache ({e}); is node installed? run scripts/test.sh")
            })
    }

    /// Waits until `eth_blockNumber` answers; a node that died at start (its
    /// free port taken meanwhile) is started again on another port.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_DEADLINE;
        let mut restarts = 0;
        loop {
            if let Ok(v) = self.try_call("eth_blockNumber", json!([])) {
                if v.get("result").is_some() {
                    return;
                }
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(st) = exited {
                assert!(
                    restarts < 3,
                    "ganache {} exited ({st}) at start 3 times; log:\n{}",
                    self.name,
                    self.log()
                );
                restarts += 1;
                let port = free_port();
                self.addr = SocketAddr::from(([127, 0, 0, 1], port));
                self.child = Some(Self::launch(&self.dir, port));
            }
            assert!(
                Instant::now() < deadline,
                "ganache {} did not answer on {} within {READY_DEADLINE:?}; log:\n{}",
                self.name,
                self.addr,
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The id the gateway gives this node in the short `backends = [...]` form.
    pub fn id(&self) -> String {
        self.addr.to_string()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ganache.log")).unwrap_or_default()
    }

    fn try_call(&self, method: &str, params: Value) -> std::io::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let r = http(self.addr, "POST", "/", body.to_string().as_bytes())?;
        serde_json::from_slice(&r.body)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The whole JSON-RPC reply of `method` called on this node directly.
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params} on ganache {}: {e}", self.name))
    }

    /// The `result` of `method`; panics on a JSON-RPC error.
    pub fn rpc(&self, method: &str, params: Value) -> Value {
        let v = self.call(method, params.clone());
        match v.get("result") {
            Some(r) if v.get("error").is_none() => r.clone(),
            _ => panic!("{method} {params} on ganache {}: {v}", self.name),
        }
    }

    /// Mines `n` empty blocks (`evm_mine {"blocks": n}`).
    pub fn mine(&self, n: u64) {
        if n > 0 {
            self.rpc("evm_mine", json!([{"blocks": n}]));
        }
    }

    /// The node's own head (`eth_blockNumber`).
    pub fn head(&self) -> u64 {
        hex(&self.rpc("eth_blockNumber", json!([])))
    }

    /// Block `n` as this node has it (panics if it has none).
    pub fn block(&self, n: u64) -> Value {
        let b = self.rpc("eth_getBlockByNumber", json!([format!("0x{n:x}"), false]));
        assert!(b.is_object(), "ganache {} has no block {n}: {b}", self.name);
        b
    }

    /// kill -9, and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for EvmNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A JSON-RPC quantity (`"0x1a"`) as a number; panics on anything else.
pub fn hex(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.strip_prefix("0x"))
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .unwrap_or_else(|| panic!("not a JSON-RPC quantity: {v}"))
}

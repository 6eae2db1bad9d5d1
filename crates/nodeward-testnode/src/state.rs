//! What the fake node pretends to be and how it misbehaves, changed at run time
//! through `POST /_control`, plus the counters `GET /_stats` reports. Kept apart
//! from the HTTP code so the merge rules and knob precedence are in one place.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The commands an IRI node refuses by default (the iri-playbook's list).
const DEFAULT_RESTRICTED: [&str; 5] = [
    "addNeighbors",
    "removeNeighbors",
    "getNeighbors",
    "attachToTangle",
    "interruptAttachingToTangle",
];

/// The node's whole scriptable state. Every field is a `/_control` key; a patch
/// replaces whole values (a knob map or list is replaced, not merged).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Node name, echoed in answers and in the `x-testnode` header.
    pub name: String,
    /// IRI `appVersion`, also in `GET /version`.
    pub version: String,
    /// IRI `latestMilestoneIndex`.
    pub latest: u64,
    /// IRI `latestSolidSubtangleMilestoneIndex`.
    pub solid: u64,
    /// IRI `neighbors`.
    pub neighbors: u64,
    /// Whether commands in `restricted_commands` are refused with 401.
    pub restricted: bool,
    /// The IRI commands `restricted` applies to.
    pub restricted_commands: Vec<String>,
    /// JSON-RPC head block number.
    pub head: u64,
    /// JSON-RPC highest known block while syncing; `null` means `head`.
    pub highest: Option<u64>,
    /// Whether `eth_syncing` reports progress instead of `false`.
    pub syncing: bool,
    /// JSON-RPC `net_peerCount`.
    pub peers: u64,
    /// Whether state reads fail with "missing trie node".
    pub missing_trie: bool,
    /// JSON-RPC reorg: nonzero gives blocks from `fork_from` up other
    /// hashes (each seed its own branch); 0 is the canonical chain.
    pub fork_seed: u64,
    /// The first block height the fork replaces.
    pub fork_from: u64,
    /// Knob: command -> milliseconds to wait before answering.
    pub delay_ms: BTreeMap<String, u64>,
    /// Knob: most requests answered at once (0: no limit); the delay is
    /// their service time and further requests queue.
    pub workers: u64,
    /// Knob: command -> forced HTTP status.
    pub status: BTreeMap<String, u16>,
    /// Knob: commands answered 200 with a non-JSON body.
    pub garbage: Vec<String>,
    /// Knob: commands never answered.
    pub hang: Vec<String>,
    /// Knob: commands whose connection is closed without an answer.
    pub close: Vec<String>,
    /// Knob: commands answered with a 1 MiB JSON string.
    pub huge: Vec<String>,
    /// Knob: JSON-RPC methods answered properly, with a 1 MiB string result.
    pub huge_result: Vec<String>,
}

/// What to do instead of (or after a delay, before) a normal answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Knob {
    /// Answer normally.
    None,
    /// Never answer.
    Hang,
    /// Close the connection without answering.
    Close,
    /// Answer with this status and a `forced` error body.
    Status(u16),
    /// Answer 200 with a non-JSON body.
    Garbage,
    /// Answer 200 with a 1 MiB JSON string.
    Huge,
}

impl State {
    /// The defaults for a node called `name`.
    pub fn new(name: &str) -> State {
        State {
            name: name.to_string(),
            version: "1.8.6".to_string(),
            latest: 1000,
            solid: 1000,
            neighbors: 3,
            restricted: true,
            restricted_commands: DEFAULT_RESTRICTED.iter().map(|s| s.to_string()).collect(),
            head: 100,
            highest: None,
            syncing: false,
            peers: 5,
            missing_trie: false,
            fork_seed: 0,
            fork_from: 0,
            delay_ms: BTreeMap::new(),
            workers: 0,
            status: BTreeMap::new(),
            garbage: Vec::new(),
            hang: Vec::new(),
            close: Vec::new(),
            huge: Vec::new(),
            huge_result: Vec::new(),
        }
    }

    /// The highest block a syncing node reports.
    pub fn highest(&self) -> u64 {
        self.highest.unwrap_or(self.head)
    }

    /// This state with `patch` (a JSON object of state keys) merged in, or a
    /// message naming the unknown or badly typed keys.
    pub fn patched(&self, patch: &Value) -> Result<State, String> {
        let Value::Object(patch) = patch else {
            return Err("the control body must be a JSON object of state keys".into());
        };
        let Ok(Value::Object(mut merged)) = serde_json::to_value(self) else {
            return Err("internal: state is not a JSON object".into());
        };
        let unknown: Vec<&str> = patch
            .keys()
            .filter(|k| !merged.contains_key(k.as_str()))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = merged.keys().map(String::as_str).collect();
            return Err(format!(
                "unknown control keys: {} (known: {})",
                unknown.join(", "),
                known.join(", ")
            ));
        }
        // One key at a time, so a type error names its key.
        let mut next = self.clone();
        for (key, value) in patch {
            merged.insert(key.clone(), value.clone());
            next = serde_json::from_value(Value::Object(merged.clone()))
                .map_err(|e| format!("bad value for control key {key:?}: {e}"))?;
        }
        next.validate()?;
        Ok(next)
    }

    /// Rejects values the node could not act on.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() || !self.name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "name {:?} must be non-empty printable ASCII without spaces",
                self.name
            ));
        }
        if let Some((cmd, code)) = self.status.iter().find(|(_, c)| !(100..=599).contains(*c)) {
            return Err(format!("status for {cmd:?} is {code}; use 100..=599"));
        }
        Ok(())
    }

    /// How long to wait before answering a request carrying `commands`: the
    /// longest of their delays, each the command's own entry or else `"*"`.
    pub fn delay_ms(&self, commands: &[&str]) -> u64 {
        let star = self.delay_ms.get("*").copied();
        let own = |c: &str| self.delay_ms.get(c).copied().or(star);
        if commands.is_empty() {
            return star.unwrap_or(0);
        }
        commands.iter().filter_map(|c| own(c)).max().unwrap_or(0)
    }

    /// The knob that applies to a request carrying `commands`; precedence is
    /// hang, close, status, garbage, huge.
    pub fn knob(&self, commands: &[&str]) -> Knob {
        let listed = |list: &[String]| {
            list.iter()
                .any(|k| k == "*" || commands.iter().any(|c| c == k))
        };
        if listed(&self.hang) {
            return Knob::Hang;
        }
        if listed(&self.close) {
            return Knob::Close;
        }
        let status = commands
            .iter()
            .find_map(|c| self.status.get(*c))
            .or_else(|| self.status.get("*"));
        if let Some(code) = status {
            return Knob::Status(*code);
        }
        if listed(&self.garbage) {
            return Knob::Garbage;
        }
        if listed(&self.huge) {
            return Knob::Huge;
        }
        Knob::None
    }
}

#[derive(Default)]
struct Counters {
    total: u64,
    by_command: BTreeMap<String, u64>,
    inflight: u64,
    abandoned: u64,
    connections: u64,
}

/// Request counters for `GET /_stats`. Control and stats requests are not counted.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Counters>,
}

impl Stats {
    fn lock(&self) -> MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one accepted connection.
    pub fn connection(&self) {
        self.lock().connections += 1;
    }

    /// Counts one request carrying `commands` (a batch counts each of its
    /// methods) and returns the guard that keeps it in flight.
    pub fn begin(self: &Arc<Self>, commands: &[&str]) -> Inflight {
        let mut c = self.lock();
        c.total += 1;
        c.inflight += 1;
        for cmd in commands {
            *c.by_command.entry((*cmd).to_string()).or_default() += 1;
        }
        Inflight {
            stats: Arc::clone(self),
            done: false,
        }
    }

    /// Zeroes the counters (in-flight requests stay counted as in flight).
    pub fn reset(&self) {
        let mut c = self.lock();
        let inflight = c.inflight;
        *c = Counters {
            inflight,
            ..Counters::default()
        };
    }

    /// The `/_stats` document.
    pub fn to_json(&self) -> Value {
        let c = self.lock();
        let by: Map<String, Value> = c
            .by_command
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect();
        serde_json::json!({
            "total": c.total,
            "by_command": by,
            "inflight": c.inflight,
            "abandoned": c.abandoned,
            "connections": c.connections,
        })
    }
}

/// One request in flight. Dropped without [`Inflight::done`] (the client left
/// while the node was waiting), it counts as abandoned.
pub struct Inflight {
    stats: Arc<Stats>,
    done: bool,
}

impl Inflight {
    /// Marks the request as answered (or deliberately closed).
    pub fn done(mut self) {
        self.done = true;
    }
}

impl Drop for Inflight {
    fn drop(&mut self) {
        let mut c = self.stats.lock();
        c.inflight = c.inflight.saturating_sub(1);
        if !self.done {
            c.abandoned += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patch_merges_and_names_bad_keys() {
        let s = State::new("a");
        let p = s.patched(&json!({"latest": 5, "hang": ["x"]})).unwrap();
        assert_eq!((p.latest, p.solid, p.hang.len()), (5, 1000, 1));
        let e = s.patched(&json!({"latest": 5, "bogus": 1})).unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = s.patched(&json!({"latest": "x"})).unwrap_err();
        assert!(e.contains("latest"), "{e}");
        assert!(s.patched(&json!({"status": {"*": 42}})).is_err());
        assert!(s.patched(&json!([1])).is_err());
        assert!(s.patched(&json!({"name": "a b"})).is_err());
    }

    #[test]
    fn knob_precedence_and_star() {
        let s = State::new("a")
            .patched(
                &json!({"status": {"*": 503, "eth_call": 500}, "garbage": ["getNodeInfo"],
                              "delay_ms": {"*": 5, "slow": 50}}),
            )
            .unwrap();
        assert_eq!(s.knob(&["eth_call"]), Knob::Status(500));
        assert_eq!(s.knob(&["getNodeInfo"]), Knob::Status(503));
        assert_eq!(s.delay_ms(&["x", "slow"]), 50);
        assert_eq!(s.delay_ms(&["x"]), 5);
        let s = s.patched(&json!({"status": {}, "hang": ["*"]})).unwrap();
        assert_eq!(s.knob(&[]), Knob::Hang);
    }

    #[test]
    fn abandoned_counts_undone_guards() {
        let stats = Arc::new(Stats::default());
        stats.begin(&["a"]).done();
        drop(stats.begin(&["a", "b"]));
        let j = stats.to_json();
        assert_eq!(j["total"], 2);
        assert_eq!(j["by_command"]["a"], 2);
        assert_eq!(j["abandoned"], 1);
        assert_eq!(j["inflight"], 0);
    }
}

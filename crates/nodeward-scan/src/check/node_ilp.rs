//! `check node --kind ilp`: an Interledger connector's admin API — every
//! account connected, at least `--min-peers` of them, and each tracked
//! balance inside `--balance-warn`/`--balance-crit` (standard ranges).

use crate::nagios::{PerfData, PluginOutput, Range, State};
use nodeward_probe::node::{self, ConnectorStatus, NodeTarget};

/// What the ILP kind needs from the command line.
pub(super) struct IlpOptions<'a> {
    /// CRITICAL when fewer accounts are connected.
    pub min_connected: u64,
    /// WARNING range for each balance.
    pub balance_warn: Option<&'a Range>,
    /// CRITICAL range for each balance.
    pub balance_crit: Option<&'a Range>,
    /// Accounts left out of the connection and balance verdicts.
    pub ignore: &'a [String],
}

/// A perfdata label for an account's balance (`balance_ID`).
fn balance_label(id: &str) -> String {
    format!("balance_{id}")
}

/// Judges a connector's status.
pub(super) fn judge(st: &ConnectorStatus, o: &IlpOptions) -> PluginOutput {
    const S: &str = "NODE";
    let watched: Vec<_> = st
        .accounts
        .iter()
        .filter(|a| !o.ignore.iter().any(|i| i == &a.id))
        .collect();
    let total = st.accounts.len();
    let connected = st.connected();
    let mut state = State::Ok;
    let mut notes = vec![format!(
        "{}{connected}/{total} accounts connected",
        st.address
            .as_deref()
            .map(|a| format!("{a}: "))
            .unwrap_or_default()
    )];
    let down: Vec<String> = watched
        .iter()
        .filter(|a| !a.connected)
        .map(|a| match &a.relation {
            Some(r) => format!("{} ({r})", a.id),
            None => a.id.clone(),
        })
        .collect();
    if !down.is_empty() {
        state = State::Critical;
        notes.push(format!("disconnected: {}", down.join(", ")));
    }
    if (connected as u64) < o.min_connected {
        state = State::Critical;
        notes.push(format!("fewer than {} connected", o.min_connected));
    }
    let mut perf = vec![
        PerfData::new("connected", connected as f64, "").bounds(Some(0.0), Some(total as f64)),
        PerfData::new("accounts", total as f64, "").bounds(Some(0.0), None),
    ];
    let thresholds = o.balance_warn.is_some() || o.balance_crit.is_some();
    let mut judged = 0;
    let mut out_of_range = Vec::new();
    let mut shown = Vec::new();
    for a in &watched {
        let Some(b) = &a.balance else { continue };
        judged += 1;
        let s = State::from_thresholds(b.value, o.balance_warn, o.balance_crit);
        if s != State::Ok {
            out_of_range.push(format!("{} {} ({})", a.id, b.text, s.label()));
        }
        state = state.worst(s);
        shown.push(format!("{} {}", a.id, b.text));
        let finite = |t: &Option<String>| {
            t.as_deref()
                .and_then(|t| t.parse::<f64>().ok())
                .filter(|f| f.is_finite())
        };
        perf.push(
            PerfData::new(&balance_label(&a.id), b.value, "")
                .thresholds(o.balance_warn, o.balance_crit)
                .bounds(finite(&b.minimum), finite(&b.maximum)),
        );
    }
    if !out_of_range.is_empty() {
        notes.push(format!("balance out of range: {}", out_of_range.join(", ")));
    } else if !shown.is_empty() {
        notes.push(format!("balances {}", shown.join(", ")));
    }
    if thresholds && judged == 0 {
        state = state.worst(State::Unknown);
        notes.push(if st.balances_tracked {
            "no watched account has a balance to judge".into()
        } else {
            "balance thresholds given but the connector tracks no balance (its balance middleware is off)".into()
        });
    }
    PluginOutput {
        service: S,
        state,
        summary: notes.join("; "),
        perf,
    }
}

/// Probes the admin API at `target` and judges it.
pub(super) async fn run(
    target: &NodeTarget,
    o: &IlpOptions<'_>,
) -> Result<PluginOutput, node::NodeError> {
    let st = node::connector_status(target).await?;
    Ok(judge(&st, o))
}

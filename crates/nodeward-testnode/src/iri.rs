//! Answers to IOTA IRI API calls (`{"command": "..."}`): enough of `getNodeInfo`
//! for health checks to judge milestone lag, and the 401 an IRI node gives for a
//! restricted command, so the gateway's command policy can be tested end to end.

use serde_json::{json, Value};

use crate::state::State;

/// The HTTP status and JSON body a node in state `st` gives for `command`.
pub fn answer(command: &str, st: &State) -> (u16, Value) {
    if command == "getNodeInfo" {
        return (
            200,
            json!({
                "appName": "IRI",
                "appVersion": st.version,
                "latestMilestoneIndex": st.latest,
                "latestSolidSubtangleMilestoneIndex": st.solid,
                "neighbors": st.neighbors,
                "node": st.name,
                "duration": 0,
            }),
        );
    }
    if st.restricted_commands.iter().any(|c| c == command) {
        if st.restricted {
            return (
                401,
                json!({"error": format!("COMMAND {command} is not available on this node")}),
            );
        }
        return (200, json!({"node": st.name, "duration": 0}));
    }
    (
        200,
        json!({"node": st.name, "command": command, "duration": 0}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_info_restricted_and_echo() {
        let mut st = State::new("n1");
        let (code, v) = answer("getNodeInfo", &st);
        assert_eq!(
            (code, v["latestMilestoneIndex"].as_u64()),
            (200, Some(1000))
        );
        let (code, v) = answer("addNeighbors", &st);
        assert_eq!(code, 401);
        assert_eq!(
            v["error"],
            "COMMAND addNeighbors is not available on this node"
        );
        st.restricted = false;
        assert_eq!(answer("addNeighbors", &st).0, 200);
        assert_eq!(answer("getTips", &st).1["command"], "getTips");
    }
}

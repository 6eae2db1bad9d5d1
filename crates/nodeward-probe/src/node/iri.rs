//! IOTA IRI (and Hornet's legacy API): `getNodeInfo` for milestone lag,
//! neighbours and version, and the "API is limited" test that asks the node
//! for its sensitive commands and lists the ones it answers.

use super::{clip, post, post_json, NodeError, NodeTarget};
use serde_json::{json, Map, Value};

/// What `getNodeInfo` says about a node's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// `appName` (`IRI`, `HORNET`), at most ~100 bytes, when given as a string.
    pub app_name: Option<String>,
    /// `appVersion`, at most ~100 bytes, when given as a string.
    pub app_version: Option<String>,
    /// `latestMilestoneIndex`: the newest milestone the node has heard of.
    pub latest_milestone: u64,
    /// `latestSolidSubtangleMilestoneIndex`: the newest milestone it has solidified.
    pub solid_milestone: u64,
    /// `neighbors`, when given as a non-negative integer.
    pub neighbors: Option<u64>,
}

impl NodeInfo {
    /// Milestones behind: latest - solid, saturating at 0.
    pub fn lag(&self) -> u64 {
        self.latest_milestone.saturating_sub(self.solid_milestone)
    }

    /// Reads a `getNodeInfo` answer.
    fn from_json(v: &Value) -> Result<NodeInfo, NodeError> {
        const LATEST: &str = "latestMilestoneIndex";
        const SOLID: &str = "latestSolidSubtangleMilestoneIndex";
        let Some(o) = v.as_object() else {
            return Err(NodeError::Invalid(
                "getNodeInfo answer is not a JSON object".into(),
            ));
        };
        match (o.get(LATEST), o.get(SOLID)) {
            (None, None) => {
                return Err(NodeError::Invalid(format!(
                    "getNodeInfo lacks {LATEST}/{SOLID}"
                )))
            }
            (None, _) => return Err(NodeError::Invalid(format!("getNodeInfo lacks {LATEST}"))),
            (_, None) => return Err(NodeError::Invalid(format!("getNodeInfo lacks {SOLID}"))),
            _ => {}
        }
        let index = |field: &str| {
            o.get(field).and_then(Value::as_u64).ok_or_else(|| {
                NodeError::Invalid(format!(
                    "getNodeInfo: {field} is not a non-negative integer"
                ))
            })
        };
        let text =
            |o: &Map<String, Value>, field: &str| o.get(field).and_then(Value::as_str).map(clip);
        Ok(NodeInfo {
            app_name: text(o, "appName"),
            app_version: text(o, "appVersion"),
            latest_milestone: index(LATEST)?,
            solid_milestone: index(SOLID)?,
            neighbors: o.get("neighbors").and_then(Value::as_u64),
        })
    }
}

/// Asks the node `{"command":"getNodeInfo"}` (with `X-IOTA-API-Version: 1`)
/// and reads the answer. A missing or ill-typed `latestMilestoneIndex` or
/// `latestSolidSubtangleMilestoneIndex` is a [`NodeError::Invalid`] naming the field.
pub async fn node_info(target: &NodeTarget) -> Result<NodeInfo, NodeError> {
    let v = post_json(target, r#"{"command":"getNodeInfo"}"#).await?;
    NodeInfo::from_json(&v)
}

/// Statuses that mean the command was refused.
fn refused_status(status: u16) -> bool {
    matches!(status, 401 | 403 | 404 | 405 | 429) || status >= 500
}

/// Words in an answer that mean the command was refused (matched lower-case).
const REFUSAL_WORDS: &[&str] = &[
    "not available on this node",
    "forbidden",
    "not allowed",
    "denied",
    "unauthorized",
];

/// The seed's "API is limited" test: asks the node directly for each command,
/// in harmless forms (`addNeighbors`/`removeNeighbors` with `"uris":[]`, the
/// others with just the command), and returns the commands it ANSWERED instead
/// of refusing, in the order given. Refused means a 401/403/404/405/429/5xx
/// status, or a body containing "not available on this node", "forbidden",
/// "not allowed", "denied" or "unauthorized" (any case). Any other answer,
/// a 400 for missing parameters included, counts as answered: the command
/// reached the node. An unreachable node is an error.
pub async fn unrestricted_commands(
    target: &NodeTarget,
    commands: &[String],
) -> Result<Vec<String>, NodeError> {
    let mut answered = Vec::new();
    for command in commands {
        let body = match command.as_str() {
            "addNeighbors" | "removeNeighbors" => json!({"command": command, "uris": []}),
            _ => json!({"command": command}),
        };
        let resp = post(target, &body.to_string()).await?;
        let text = String::from_utf8_lossy(&resp.body).to_lowercase();
        let refused = refused_status(resp.status) || REFUSAL_WORDS.iter().any(|w| text.contains(w));
        if !refused {
            answered.push(command.clone());
        }
    }
    Ok(answered)
}

#[cfg(test)]
mod tests {
    use super::super::test_server::{closed_port, target, Server};
    use super::*;
    use crate::http::Url;

    fn good_body() -> String {
        r#"{"appName":"IRI","appVersion":"1.8.6-RELEASE","latestMilestoneIndex":1010,"latestSolidSubtangleMilestoneIndex":1007,"neighbors":4}"#.into()
    }

    #[tokio::test]
    async fn a_good_answer() {
        let s = Server::start(|_| (200, good_body())).await;
        let info = node_info(&target(s.url())).await.unwrap();
        assert_eq!(
            info,
            NodeInfo {
                app_name: Some("IRI".into()),
                app_version: Some("1.8.6-RELEASE".into()),
                latest_milestone: 1010,
                solid_milestone: 1007,
                neighbors: Some(4),
            }
        );
        assert_eq!(info.lag(), 3);
        let seen = s.seen();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].head.starts_with("POST / HTTP/1.1\r\n"),
            "{}",
            seen[0].head
        );
        assert!(
            seen[0].head.contains("X-IOTA-API-Version: 1\r\n"),
            "{}",
            seen[0].head
        );
        assert_eq!(seen[0].body, r#"{"command":"getNodeInfo"}"#);
    }

    #[tokio::test]
    async fn solid_ahead_of_latest_is_no_lag_and_extras_are_optional() {
        let s = Server::start(|_| {
            (200, r#"{"latestMilestoneIndex":5,"latestSolidSubtangleMilestoneIndex":9,"neighbors":-1,"appVersion":7}"#.into())
        })
        .await;
        let info = node_info(&target(s.url())).await.unwrap();
        assert_eq!(info.lag(), 0);
        assert_eq!(
            (info.neighbors, info.app_version, info.app_name),
            (None, None, None)
        );
    }

    #[tokio::test]
    async fn missing_or_ill_typed_fields_are_named() {
        for (body, want) in [
            (
                "{}",
                "lacks latestMilestoneIndex/latestSolidSubtangleMilestoneIndex",
            ),
            (
                r#"{"latestMilestoneIndex":5}"#,
                "lacks latestSolidSubtangleMilestoneIndex",
            ),
            (
                r#"{"latestSolidSubtangleMilestoneIndex":5}"#,
                "lacks latestMilestoneIndex",
            ),
            (
                r#"{"latestMilestoneIndex":"5","latestSolidSubtangleMilestoneIndex":5}"#,
                "latestMilestoneIndex is not a non-negative integer",
            ),
            (
                r#"{"latestMilestoneIndex":5,"latestSolidSubtangleMilestoneIndex":-1}"#,
                "latestSolidSubtangleMilestoneIndex is not",
            ),
            (
                r#"{"latestMilestoneIndex":1e400,"latestSolidSubtangleMilestoneIndex":1}"#,
                "invalid JSON",
            ),
            (
                r#"{"latestMilestoneIndex":99999999999999999999999,"latestSolidSubtangleMilestoneIndex":1}"#,
                "latestMilestoneIndex is not",
            ),
            ("[1,2]", "not a JSON object"),
        ] {
            let s = Server::start(move |_| (200, body.to_string())).await;
            let err = node_info(&target(s.url())).await.unwrap_err();
            assert!(matches!(err, NodeError::Invalid(_)), "{body}: {err:?}");
            assert!(err.to_string().contains(want), "{body}: {err}");
        }
    }

    #[tokio::test]
    async fn not_json_is_invalid_and_says_so() {
        let s = Server::start(|_| (200, "<html>welcome</html>".into())).await;
        let err = node_info(&target(s.url())).await.unwrap_err();
        assert!(err.is_not_json(), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("invalid answer: invalid JSON: "),
            "{err}"
        );
        assert!(!err.to_string().contains("welcome"), "{err}");
    }

    #[tokio::test]
    async fn a_body_over_the_cap_is_invalid() {
        let s = Server::start(|_| (200, format!("[{}1]", "1,".repeat(512 * 1024)))).await;
        let err = node_info(&target(s.url())).await.unwrap_err();
        assert!(err.is_not_json(), "{err:?}");
        assert!(err.to_string().contains("larger than 65536 bytes"), "{err}");
    }

    #[tokio::test]
    async fn a_500_is_a_status_error() {
        let s = Server::start(|_| (500, good_body())).await;
        let err = node_info(&target(s.url())).await.unwrap_err();
        assert!(matches!(err, NodeError::Status(500)), "{err:?}");
        assert_eq!(err.to_string(), "answered HTTP 500");
    }

    #[tokio::test]
    async fn nothing_listening_is_unreachable() {
        let url = Url::parse(&format!("http://127.0.0.1:{}/", closed_port().await)).unwrap();
        let err = node_info(&target(url)).await.unwrap_err();
        assert!(matches!(err, NodeError::Unreachable(_)), "{err:?}");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }

    #[tokio::test]
    async fn unrestricted_lists_what_the_node_answers() {
        let s = Server::start(|req| {
            let v: Value = match serde_json::from_str(&req.body) {
                Ok(v) => v,
                Err(_) => return (500, "bad json".into()),
            };
            let has_uris = v.get("uris") == Some(&json!([]));
            match v.get("command").and_then(Value::as_str).unwrap_or("") {
                "addNeighbors" if has_uris => (200, r#"{"addedNeighbors":0,"duration":1}"#.into()),
                "removeNeighbors" if has_uris => (
                    400,
                    r#"{"error":"COMMAND removeNeighbors is not available on this node"}"#.into(),
                ),
                "getNeighbors" => (200, r#"{"neighbors":[]}"#.into()),
                "attachToTangle" => (400, r#"{"error":"Invalid trytes input"}"#.into()),
                "interruptAttachingToTangle" => (401, "{}".into()),
                "getTips" => (200, r#"{"error":"Access FORBIDDEN"}"#.into()),
                "checkConsistency" => (429, "{}".into()),
                "getTransactionsToApprove" => (503, "{}".into()),
                "storeTransactions" => (200, r#"{"error":"Permission Denied"}"#.into()),
                "broadcastTransactions" => (200, r#"{"error":"Unauthorized"}"#.into()),
                "getTrytes" => (200, r#"{"error":"command not allowed"}"#.into()),
                "a\"b" => (200, "{}".into()),
                _ => (404, "{}".into()),
            }
        })
        .await;
        let commands: Vec<String> = [
            "addNeighbors",
            "removeNeighbors",
            "getNeighbors",
            "attachToTangle",
            "interruptAttachingToTangle",
            "getTips",
            "checkConsistency",
            "getTransactionsToApprove",
            "storeTransactions",
            "broadcastTransactions",
            "getTrytes",
            "a\"b",
            "nope",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        let answered = unrestricted_commands(&target(s.url()), &commands)
            .await
            .unwrap();
        assert_eq!(
            answered,
            ["addNeighbors", "getNeighbors", "attachToTangle", "a\"b"]
        );
        let seen = s.seen();
        assert_eq!(seen.len(), commands.len());
        let bodies: Vec<&str> = seen.iter().map(|r| r.body.as_str()).collect();
        assert!(
            bodies.contains(&r#"{"command":"removeNeighbors","uris":[]}"#),
            "{bodies:?}"
        );
        assert!(
            bodies.contains(&r#"{"command":"getNeighbors"}"#),
            "{bodies:?}"
        );
        assert!(seen
            .iter()
            .all(|r| r.head.contains("X-IOTA-API-Version: 1\r\n")));
    }

    proptest::proptest! {
        #[test]
        fn any_answer_reads_without_panicking(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = NodeInfo::from_json(&v);
            }
        }

        #[test]
        fn any_numbers_read_without_panicking(latest in proptest::prelude::any::<i128>(), solid in proptest::prelude::any::<f64>()) {
            let body = format!(r#"{{"latestMilestoneIndex":{latest},"latestSolidSubtangleMilestoneIndex":{solid},"neighbors":{latest}}}"#);
            if let Ok(v) = serde_json::from_str::<Value>(&body) {
                if let Ok(info) = NodeInfo::from_json(&v) {
                    proptest::prop_assert!(info.lag() <= info.latest_milestone);
                }
            }
        }
    }

    #[tokio::test]
    async fn unrestricted_on_an_unreachable_node_is_an_error() {
        let url = Url::parse(&format!("http://127.0.0.1:{}/", closed_port().await)).unwrap();
        let err = unrestricted_commands(&target(url), &["getNeighbors".into()])
            .await
            .unwrap_err();
        assert!(matches!(err, NodeError::Unreachable(_)), "{err:?}");
    }
}

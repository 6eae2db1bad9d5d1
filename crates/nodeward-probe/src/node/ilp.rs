//! Interledger connector admin API: which accounts (peers, parents, children)
//! are connected and what each account's balance is, read from ilp-connector's
//! `GET /accounts` and `GET /balance` (ilp-connector 23,
//! `src/services/admin-api.ts`: `/accounts` answers `accounts.getStatus()` =
//! `{"address": "...", "accounts": {"ID": {"info": {...}, "connected": bool,
//! "adminInfo": bool}}}`; `/balance` answers the balance middleware's
//! `getStatus()` = `{"accounts": {"ID": {"balance": "N", "minimum": "N",
//! "maximum": "N"}}}`, numbers as strings, or `{}` when the balance
//! middleware is disabled). The admin API has no authentication of its own.

use super::{clip, parse_json, NodeError, NodeTarget};
use crate::http::{self, Request, Url};
use serde_json::{Map, Value};

/// One account of the connector.
#[derive(Debug, Clone, PartialEq)]
pub struct IlpAccount {
    /// Account ID (at most ~100 bytes, control characters flattened).
    pub id: String,
    /// `info.relation` (`parent`, `peer`, `child`), when given.
    pub relation: Option<String>,
    /// Whether the account's plugin is connected.
    pub connected: bool,
    /// The balance, when the balance middleware tracks this account.
    pub balance: Option<IlpBalance>,
}

/// An account balance as the connector reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct IlpBalance {
    /// The balance as a number (for thresholds and perfdata).
    pub value: f64,
    /// The balance as the connector wrote it (exact, for the summary).
    pub text: String,
    /// The configured minimum (`-Infinity` when unlimited), as written.
    pub minimum: Option<String>,
    /// The configured maximum (`Infinity` when unlimited), as written.
    pub maximum: Option<String>,
}

/// What the admin API says about the connector.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorStatus {
    /// The connector's ILP address, when given.
    pub address: Option<String>,
    /// Accounts, sorted by ID.
    pub accounts: Vec<IlpAccount>,
    /// False when `/balance` answered `{}`: the balance middleware is off.
    pub balances_tracked: bool,
}

impl ConnectorStatus {
    /// How many accounts are connected.
    pub fn connected(&self) -> usize {
        self.accounts.iter().filter(|a| a.connected).count()
    }
}

/// `route` appended to the target URL's path (query dropped, no double `/`).
fn route(url: &Url, route: &str) -> Url {
    let path = url.path.split('?').next().unwrap_or("");
    Url {
        path: format!("{}{route}", path.trim_end_matches('/')),
        ..url.clone()
    }
}

/// GETs `path` below the target and parses a 2xx answer as JSON.
async fn get_json(target: &NodeTarget, path: &str) -> Result<Value, NodeError> {
    let req = Request::get(route(&target.url, path));
    let resp = http::fetch(&req, target.tls.clone(), &target.limits).await?;
    if !(200..300).contains(&resp.status) {
        return Err(NodeError::Status(resp.status));
    }
    parse_json(&resp, target.limits.max_body_bytes)
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, NodeError> {
    v.as_object()
        .ok_or_else(|| NodeError::Invalid(format!("{what} is not a JSON object")))
}

/// A balance field: a decimal string (as bignumber.js writes it) or a number.
fn number(v: &Value) -> Option<(f64, String)> {
    match v {
        Value::String(s) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|f| !f.is_nan())
            .map(|f| (f, clip(s))),
        Value::Number(n) => n.as_f64().map(|f| (f, n.to_string())),
        _ => None,
    }
}

/// Reads the `/accounts` and `/balance` answers.
fn from_json(accounts: &Value, balances: &Value) -> Result<ConnectorStatus, NodeError> {
    let top = object(accounts, "/accounts answer")?;
    let Some(list) = top.get("accounts") else {
        return Err(NodeError::Invalid(
            "/accounts answer lacks \"accounts\"".into(),
        ));
    };
    let list = object(list, "/accounts \"accounts\"")?;
    let btop = object(balances, "/balance answer")?;
    let blist = match btop.get("accounts") {
        None => None,
        Some(b) => Some(object(b, "/balance \"accounts\"")?),
    };
    let mut out = Vec::with_capacity(list.len());
    for (id, a) in list {
        let shown = clip(id);
        let a = object(a, &format!("/accounts account {shown:?}"))?;
        let connected = a.get("connected").and_then(Value::as_bool).ok_or_else(|| {
            NodeError::Invalid(format!(
                "/accounts account {shown:?}: \"connected\" is missing or not true/false"
            ))
        })?;
        let relation = a
            .get("info")
            .and_then(|i| i.get("relation"))
            .and_then(Value::as_str)
            .map(clip);
        let balance = match blist.and_then(|b| b.get(id)) {
            None => None,
            Some(b) => {
                let b = object(b, &format!("/balance account {shown:?}"))?;
                let (value, text) = b.get("balance").and_then(number).ok_or_else(|| {
                    NodeError::Invalid(format!(
                        "/balance account {shown:?}: \"balance\" is missing or not a number"
                    ))
                })?;
                let limit = |k: &str| b.get(k).and_then(Value::as_str).map(clip);
                Some(IlpBalance {
                    value,
                    text,
                    minimum: limit("minimum"),
                    maximum: limit("maximum"),
                })
            }
        };
        out.push(IlpAccount {
            id: shown,
            relation,
            connected,
            balance,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ConnectorStatus {
        address: top.get("address").and_then(Value::as_str).map(clip),
        accounts: out,
        balances_tracked: blist.is_some(),
    })
}

/// Asks the connector's admin API for its accounts (`GET /accounts`) and
/// balances (`GET /balance`). Answers that are not the JSON the connector
/// writes are a [`NodeError::Invalid`] naming the field.
pub async fn connector_status(target: &NodeTarget) -> Result<ConnectorStatus, NodeError> {
    let accounts = get_json(target, "/accounts").await?;
    let balances = get_json(target, "/balance").await?;
    from_json(&accounts, &balances)
}

#[cfg(test)]
mod tests {
    use super::super::test_server::{closed_port, target, Server};
    use super::*;

    const ACCOUNTS: &str = r#"{"address":"test.nodeward","accounts":{"bob":{"info":{"relation":"peer","assetCode":"XRP","assetScale":9,"plugin":"ilp-plugin-btp"},"connected":true,"adminInfo":false},"alice":{"info":{"relation":"child"},"connected":false,"adminInfo":false}}}"#;
    const BALANCES: &str =
        r#"{"accounts":{"alice":{"balance":"-250","minimum":"-1000","maximum":"1000"}}}"#;

    fn routed(
        accounts: &'static str,
        balances: &'static str,
    ) -> impl Fn(&super::super::test_server::Seen) -> (u16, String) {
        move |s| {
            if s.head.starts_with("GET /accounts ") {
                (200, accounts.to_string())
            } else if s.head.starts_with("GET /balance ") {
                (200, balances.to_string())
            } else {
                (404, "Not Found".into())
            }
        }
    }

    #[tokio::test]
    async fn reads_accounts_and_balances() {
        let s = Server::start(routed(ACCOUNTS, BALANCES)).await;
        let st = connector_status(&target(s.url())).await.unwrap();
        assert_eq!(st.address.as_deref(), Some("test.nodeward"));
        assert_eq!(st.connected(), 1);
        assert!(st.balances_tracked);
        assert_eq!(st.accounts[0].id, "alice");
        assert!(!st.accounts[0].connected);
        let b = st.accounts[0].balance.as_ref().unwrap();
        assert_eq!((b.value, b.text.as_str()), (-250.0, "-250"));
        assert_eq!(b.minimum.as_deref(), Some("-1000"));
        assert_eq!(st.accounts[1].relation.as_deref(), Some("peer"));
        assert_eq!(st.accounts[1].balance, None);
    }

    #[tokio::test]
    async fn balance_middleware_off_and_bad_answers() {
        let s = Server::start(routed(ACCOUNTS, "{}")).await;
        let st = connector_status(&target(s.url())).await.unwrap();
        assert!(!st.balances_tracked);

        for (accounts, balances, want) in [
            ("[]", "{}", "/accounts answer is not a JSON object"),
            ("{}", "{}", "lacks \"accounts\""),
            (
                r#"{"accounts":{"a":{"connected":"yes"}}}"#,
                "{}",
                "\"connected\" is missing",
            ),
            (
                r#"{"accounts":{"a":{"connected":true}}}"#,
                r#"{"accounts":{"a":{"balance":"lots"}}}"#,
                "\"balance\" is missing or not a number",
            ),
        ] {
            let s = Server::start(routed(accounts, balances)).await;
            let e = connector_status(&target(s.url())).await.unwrap_err();
            assert!(e.to_string().contains(want), "{e}");
            assert!(!e.is_not_json());
        }
        let s = Server::start(routed("<html>", "{}")).await;
        let e = connector_status(&target(s.url())).await.unwrap_err();
        assert!(e.is_not_json(), "{e}");
        let port = closed_port().await;
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert!(matches!(
            connector_status(&target(url)).await,
            Err(NodeError::Unreachable(_))
        ));
    }

    #[test]
    fn routes_keep_a_proxy_prefix() {
        let u = Url::parse("http://127.0.0.1:7769/ilp/?x=1").unwrap();
        assert_eq!(route(&u, "/accounts").path, "/ilp/accounts");
        let u = Url::parse("http://127.0.0.1:7769").unwrap();
        assert_eq!(route(&u, "/balance").path, "/balance");
    }
}

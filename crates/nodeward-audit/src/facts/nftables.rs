//! Reading what an nftables ruleset (`nft list ruleset` output or an
//! /etc/nftables.conf) does with incoming traffic, and the same for
//! iptables-save files.

/// The verdict of the input hook for one address family.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InputPolicy {
    /// An input filter chain exists for IPv4.
    pub v4_chain: bool,
    /// An input filter chain exists for IPv6.
    pub v6_chain: bool,
    /// IPv4 input ends in drop/reject (policy or final rule).
    pub v4_deny: bool,
    /// IPv6 input ends in drop/reject.
    pub v6_deny: bool,
    /// Human-readable description of the input chains found.
    pub chains: Vec<String>,
    /// Every table declared, as `FAMILY NAME` (`inet nodeward`).
    pub tables: Vec<String>,
}

fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = match line.find('#') {
            Some(i) => &line[..i],
            None => line,
        };
        let mut cur = String::new();
        let mut in_quote = false;
        for c in line.chars() {
            if c == '"' {
                in_quote = !in_quote;
                cur.push(c);
            } else if !in_quote && (c == '{' || c == '}' || c == ';') {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                out.push(c.to_string());
            } else if !in_quote && c.is_whitespace() {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out.push(";".into()); // a newline ends a statement
    }
    out
}

#[derive(Debug, PartialEq)]
enum Block {
    /// Family and `FAMILY NAME`.
    Table(String, String),
    Chain,
    Other,
}

/// Analyses an nftables ruleset text.
pub fn analyse_nft(text: &str) -> InputPolicy {
    let toks = tokens(text);
    let mut result = InputPolicy::default();
    let mut stack: Vec<Block> = Vec::new();
    let mut stmt: Vec<String> = Vec::new();
    // Per chain being read: ((family, table), name, is_input, policy_drop, last_statement)
    #[allow(clippy::type_complexity)]
    let mut chain: Option<((String, String), String, bool, bool, Vec<String>)> = None;
    let mut pending_chain_name: Option<String> = None;
    let family = |stack: &Vec<Block>| {
        stack.iter().rev().find_map(|b| match b {
            Block::Table(f, t) => Some((f.clone(), t.clone())),
            _ => None,
        })
    };
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i].as_str();
        match t {
            "{" => {
                let block = match stmt.first().map(String::as_str) {
                    Some("table") | Some("add") if stmt.iter().any(|s| s == "table") => {
                        let rest: Vec<&str> = stmt
                            .iter()
                            .map(String::as_str)
                            .skip_while(|s| *s != "table")
                            .skip(1)
                            .collect();
                        let (fam, name) = match rest.first() {
                            Some(
                                f @ (&"ip" | &"ip6" | &"inet" | &"arp" | &"bridge" | &"netdev"),
                            ) if rest.len() > 1 => (f.to_string(), rest[1]),
                            _ => ("ip".to_string(), rest.first().copied().unwrap_or("")),
                        };
                        let table = format!("{fam} {name}");
                        if !result.tables.contains(&table) {
                            result.tables.push(table.clone());
                        }
                        Block::Table(fam, table)
                    }
                    Some("chain") if matches!(stack.last(), Some(Block::Table(..))) => {
                        pending_chain_name = stmt.get(1).cloned();
                        Block::Chain
                    }
                    _ => Block::Other,
                };
                if block == Block::Chain {
                    chain = Some((
                        family(&stack).unwrap_or_else(|| ("ip".into(), "ip ?".into())),
                        pending_chain_name.take().unwrap_or_default(),
                        false,
                        false,
                        Vec::new(),
                    ));
                }
                stack.push(block);
                stmt.clear();
            }
            ";" | "}" => {
                if let Some(c) = chain.as_mut() {
                    if matches!(stack.last(), Some(Block::Chain)) && !stmt.is_empty() {
                        let words: Vec<&str> = stmt.iter().map(String::as_str).collect();
                        if words.contains(&"hook") {
                            if let Some(p) = words.iter().position(|w| *w == "hook") {
                                c.2 =
                                    words.get(p + 1) == Some(&"input") && words.contains(&"filter");
                            }
                        } else if words.first() == Some(&"policy") {
                            c.3 = words.get(1) == Some(&"drop");
                        } else {
                            c.4 = stmt.clone();
                        }
                    }
                }
                stmt.clear();
                if t == "}" {
                    if let Some(Block::Chain) = stack.pop() {
                        if let Some(((fam, table), name, is_input, policy_drop, last)) =
                            chain.take()
                        {
                            if is_input {
                                let last_denies = last.iter().any(|w| w == "drop" || w == "reject")
                                    && !last.iter().any(|w| {
                                        w == "ct"
                                            || w == "saddr"
                                            || w == "daddr"
                                            || w == "dport"
                                            || w == "iifname"
                                            || w == "iif"
                                    });
                                let deny = policy_drop || last_denies;
                                let (v4, v6) = match fam.as_str() {
                                    "inet" => (true, true),
                                    "ip" => (true, false),
                                    "ip6" => (false, true),
                                    _ => (false, false),
                                };
                                result.v4_chain |= v4;
                                result.v6_chain |= v6;
                                if deny {
                                    result.v4_deny |= v4;
                                    result.v6_deny |= v6;
                                }
                                result.chains.push(format!(
                                    "table {table} chain {name}: hook input, {}",
                                    if policy_drop {
                                        "policy drop"
                                    } else if last_denies {
                                        "policy accept, final rule drops"
                                    } else {
                                        "policy accept"
                                    }
                                ));
                            }
                        }
                    }
                }
            }
            _ => stmt.push(t.to_string()),
        }
        i += 1;
    }
    result
}

/// Analyses iptables-save output (`:INPUT DROP`, or a final `-A INPUT -j DROP`).
pub fn analyse_iptables_save(text: &str) -> (bool, bool, String) {
    let mut in_filter = false;
    let mut policy_drop = false;
    let mut has_chain = false;
    let mut last_input_rule: Option<&str> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('*') {
            in_filter = line == "*filter";
        } else if in_filter {
            if let Some(rest) = line.strip_prefix(":INPUT ") {
                has_chain = true;
                policy_drop = rest.starts_with("DROP");
            } else if line.starts_with("-A INPUT ") {
                last_input_rule = Some(line);
            }
        }
    }
    let last_denies = last_input_rule.is_some_and(|r| {
        (r.ends_with("-j DROP") || r.contains("-j REJECT")) && r.split_whitespace().count() <= 6
    });
    let desc = format!(
        "INPUT policy {}{}",
        if policy_drop { "DROP" } else { "ACCEPT" },
        if last_denies {
            ", final rule drops"
        } else {
            ""
        }
    );
    (has_chain, policy_drop || last_denies, desc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inet_policy_drop_covers_both_families() {
        let text = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\ttcp dport 22 accept\n\t}\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n}\n";
        let p = analyse_nft(text);
        assert!(p.v4_chain && p.v6_chain && p.v4_deny && p.v6_deny, "{p:?}");
        assert_eq!(p.tables, vec!["inet filter".to_string()]);
    }

    #[test]
    fn nodeward_script_names_its_table() {
        // The shape `nodeward firewall plan` writes (and confirm persists).
        let text = "add table inet nodeward\ndelete table inet nodeward\ntable inet nodeward {\n\tset ban4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n\tchain ban_input {\n\t\ttype filter hook input priority -10; policy accept;\n\t\tip saddr @ban4 drop\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t\tiif \"lo\" accept\n\t\ttcp dport 2222 accept\n\t}\n}\n";
        let p = analyse_nft(text);
        assert_eq!(p.tables, vec!["inet nodeward".to_string()]);
        assert!(p.v4_deny && p.v6_deny, "{p:?}");
        assert_eq!(
            analyse_nft("table f {\n}\n").tables,
            vec!["ip f".to_string()]
        );
    }

    #[test]
    fn ip_only_accept_policy_and_one_line_chains() {
        let p = analyse_nft("flush ruleset\ntable ip f { chain input { type filter hook input priority 0; policy accept; } }\n");
        assert!(p.v4_chain && !p.v6_chain && !p.v4_deny, "{p:?}");
        let p = analyse_nft("table ip6 f {\n chain in {\n type filter hook input priority 0; policy accept;\n tcp dport 22 accept\n counter drop\n }\n}\n");
        assert!(p.v6_chain && p.v6_deny && !p.v4_chain, "{p:?}");
        // A final rule that drops only some traffic is not a default deny.
        let p = analyse_nft("table ip f {\n chain in {\n type filter hook input priority 0;\n tcp dport 23 drop\n }\n}\n");
        assert!(!p.v4_deny, "{p:?}");
    }

    #[test]
    fn iptables_save() {
        let (chain, deny, _) = analyse_iptables_save(
            "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n",
        );
        assert!(chain && deny);
        let (chain, deny, _) = analyse_iptables_save("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
        assert!(chain && !deny);
    }
}

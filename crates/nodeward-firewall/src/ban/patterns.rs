//! Failure patterns from the config (`[ban] patterns`), with `<HOST>` marking the address.

use super::sshd::{Failure, Kind};
use regex::{Regex, RegexBuilder};

/// Compiled extra patterns.
#[derive(Debug, Clone, Default)]
pub struct Patterns(Vec<Regex>);

impl Patterns {
    /// Compiles `patterns`; each must contain `<HOST>` exactly once.
    pub fn compile(patterns: &[String]) -> Result<Self, (usize, String)> {
        let mut out = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            if p.matches("<HOST>").count() != 1 {
                return Err((i, format!("pattern {p:?} must contain <HOST> exactly once")));
            }
            let re = p.replace("<HOST>", r"(?P<host>[0-9A-Fa-f:.]{2,45})");
            let re = RegexBuilder::new(&re)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| (i, format!("pattern {p:?}: {e}")))?;
            out.push(re);
        }
        Ok(Patterns(out))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first pattern matching `message` with a valid address.
    pub fn parse(&self, message: &str) -> Option<Failure> {
        self.0.iter().find_map(|re| {
            let caps = re.captures(message)?;
            let addr = caps
                .name("host")?
                .as_str()
                .parse()
                .ok()
                .map(crate::addr::canonical)?;
            Some(Failure {
                addr,
                kind: Kind::Custom,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_placeholder() {
        let p = Patterns::compile(&["^Auth failed for .* from <HOST>$".into()]).unwrap();
        assert_eq!(
            p.parse("Auth failed for bob from 192.0.2.4")
                .unwrap()
                .addr
                .to_string(),
            "192.0.2.4"
        );
        assert!(p.parse("Auth failed for bob from 192.0.2.999").is_none());
        assert!(Patterns::compile(&["no host".into()]).is_err());
        assert!(Patterns::compile(&["(<HOST>".into()]).is_err());
    }
}

//! `--only ID,AREA` and `--skip ID,AREA`: which checks run.

use crate::checks::Check;

/// An unknown check ID or area in `--only`/`--skip`.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: unknown check ID or area {name:?} (see `nodeward audit --list-checks`)")]
pub struct UnknownSelector {
    /// The flag.
    pub flag: &'static str,
    /// The name given.
    pub name: String,
}

fn matches(check: &Check, selector: &str) -> bool {
    check.id.eq_ignore_ascii_case(selector) || check.area.eq_ignore_ascii_case(selector)
}

fn validate(all: &[Check], flag: &'static str, list: &[String]) -> Result<(), UnknownSelector> {
    for s in list {
        if !all.iter().any(|c| matches(c, s)) {
            return Err(UnknownSelector {
                flag,
                name: s.clone(),
            });
        }
    }
    Ok(())
}

/// The checks of `all` selected by `only` (empty = all) minus `skip`.
pub fn select(
    all: Vec<Check>,
    only: &[String],
    skip: &[String],
) -> Result<Vec<Check>, UnknownSelector> {
    validate(&all, "--only", only)?;
    validate(&all, "--skip", skip)?;
    Ok(all
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|s| matches(c, s)))
        .filter(|c| !skip.iter().any(|s| matches(c, s)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::catalogue;

    #[test]
    fn only_by_id_and_area_skip_and_unknown() {
        let picked = select(
            catalogue(),
            &["ssh".into(), "krn-001".into()],
            &["SSH-005".into()],
        )
        .unwrap();
        assert!(picked.iter().all(|c| c.area == "ssh" || c.id == "KRN-001"));
        assert!(picked.iter().any(|c| c.id == "KRN-001"));
        assert!(!picked.iter().any(|c| c.id == "SSH-005"));
        let e = select(catalogue(), &["nope".into()], &[]).unwrap_err();
        assert!(e.to_string().contains("nope"));
    }
}

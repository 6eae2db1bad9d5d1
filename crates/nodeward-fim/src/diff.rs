//! Compares the baseline with the current state: added, removed and changed
//! entries, and for a change exactly which attributes moved (old → new), among
//! those the path's rule selects.

use crate::entry::{display_path, Attr, Content, Entry, Kind};
use crate::rules::RuleSet;
use crate::scan::rule_of;

/// One attribute that changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrChange {
    /// Which attribute.
    pub attr: Attr,
    /// Old value, for people.
    pub old: String,
    /// New value, for people.
    pub new: String,
}

/// One difference between the baseline and now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the baseline.
    Added(Entry),
    /// In the baseline, gone now.
    Removed(Entry),
    /// Present in both with differences.
    Changed {
        /// The baseline's entry.
        old: Box<Entry>,
        /// The current entry.
        new: Box<Entry>,
        /// What differs.
        attrs: Vec<AttrChange>,
    },
    /// Present, but its content could not be verified now.
    Unverified {
        /// The current entry (content says why).
        entry: Entry,
    },
}

impl Change {
    /// The path concerned.
    pub fn path(&self) -> &[u8] {
        match self {
            Change::Added(e) | Change::Removed(e) | Change::Unverified { entry: e } => &e.path,
            Change::Changed { new, .. } => &new.path,
        }
    }
}

fn mode_text(m: u32) -> String {
    format!("{m:04o}")
}

fn time_text(ns: i128) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    format!("{secs}.{frac:09}")
}

/// A content state for people.
pub fn content_text(c: &Content) -> String {
    match c {
        Content::NotHashed => "not hashed".into(),
        Content::Hashed(d) => d.to_string(),
        Content::TooLarge => "not hashed (over max_hash_size)".into(),
        Content::Unreadable(r) => format!("unreadable ({r})"),
        Content::ChangedWhileReading => "changed while being read".into(),
    }
}

fn xattr_text(x: &[(Vec<u8>, Vec<u8>)]) -> String {
    if x.is_empty() {
        return "none".into();
    }
    x.iter()
        .map(|(n, v)| format!("{}={}", display_path(n), display_path(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The attributes of `old` and `new` that differ, among `wanted`.
pub fn attr_changes(old: &Entry, new: &Entry, wanted: &[Attr]) -> Vec<AttrChange> {
    let mut out = Vec::new();
    let mut push = |attr: Attr, o: String, n: String| {
        if wanted.contains(&attr) && o != n {
            out.push(AttrChange {
                attr,
                old: o,
                new: n,
            });
        }
    };
    push(
        Attr::Type,
        old.kind.as_str().into(),
        new.kind.as_str().into(),
    );
    if old.kind != new.kind {
        // A different kind of object: the other attributes compare unlike things.
        push(Attr::Mode, mode_text(old.mode), mode_text(new.mode));
        push(
            Attr::Owner,
            format!("{}:{}", old.uid, old.gid),
            format!("{}:{}", new.uid, new.gid),
        );
        return out;
    }
    push(Attr::Mode, mode_text(old.mode), mode_text(new.mode));
    push(
        Attr::Owner,
        format!("{}:{}", old.uid, old.gid),
        format!("{}:{}", new.uid, new.gid),
    );
    // A directory's size and times move whenever an entry is added or removed,
    // which is reported on its own.
    if new.kind != Kind::Dir {
        push(Attr::Size, old.size.to_string(), new.size.to_string());
        push(
            Attr::Mtime,
            time_text(old.mtime_ns),
            time_text(new.mtime_ns),
        );
        push(
            Attr::Ctime,
            time_text(old.ctime_ns),
            time_text(new.ctime_ns),
        );
    }
    push(
        Attr::Inode,
        format!("{}@{}", old.inode, old.device),
        format!("{}@{}", new.inode, new.device),
    );
    push(
        Attr::Target,
        old.link_target
            .as_deref()
            .map(display_path)
            .unwrap_or_default(),
        new.link_target
            .as_deref()
            .map(display_path)
            .unwrap_or_default(),
    );
    push(
        Attr::Xattrs,
        xattr_text(&old.xattrs),
        xattr_text(&new.xattrs),
    );
    push(
        Attr::Caps,
        old.capabilities.clone().unwrap_or_else(|| "none".into()),
        new.capabilities.clone().unwrap_or_else(|| "none".into()),
    );
    match (&old.content, &new.content) {
        (Content::Hashed(a), Content::Hashed(b)) => {
            push(Attr::Content, a.to_string(), b.to_string())
        }
        // The rule stopped hashing: nothing to compare.
        (_, Content::NotHashed) => {}
        // Unreadable or torn now: the content cannot be vouched for, and a
        // change hidden behind it must not pass as "times only".
        (a, b) if a != b => push(Attr::Content, content_text(a), content_text(b)),
        _ => {}
    }
    out
}

/// Every difference between `old` (sorted by path) and `new` (sorted by path).
pub fn diff(old: &[Entry], new: &[Entry], rules: &RuleSet) -> Vec<Change> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => a.path.cmp(&b.path),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, _) => std::cmp::Ordering::Greater,
        };
        match order {
            std::cmp::Ordering::Less => {
                out.push(Change::Removed(old[i].clone()));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(Change::Added(new[j].clone()));
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                let (a, b) = (&old[i], &new[j]);
                let wanted: &[Attr] = match rule_of(rules, &b.path) {
                    Some(r) => &rules.rules[r].attributes,
                    None => &Attr::ALL,
                };
                let attrs = attr_changes(a, b, wanted);
                if !attrs.is_empty() {
                    out.push(Change::Changed {
                        old: Box::new(a.clone()),
                        new: Box::new(b.clone()),
                        attrs,
                    });
                } else if wanted.contains(&Attr::Content)
                    && matches!(
                        b.content,
                        Content::Unreadable(_) | Content::ChangedWhileReading
                    )
                {
                    out.push(Change::Unverified { entry: b.clone() });
                }
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// One attribute change as `name: old → new`.
pub fn describe(c: &AttrChange) -> String {
    format!("{}: {} → {}", c.attr.as_str(), c.old, c.new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FimConfig;
    use crate::entry::Digest;

    fn entry(path: &str) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind: Kind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 3,
            mtime_ns: 10,
            ctime_ns: 10,
            inode: 5,
            device: 1,
            link_target: None,
            xattrs: vec![],
            capabilities: None,
            content: Content::Hashed(Digest::Blake3([1; 32])),
        }
    }

    #[test]
    fn each_kind_of_difference_is_named_with_old_and_new() {
        let rules = RuleSet::from_config(&FimConfig {
            defaults: false,
            ..FimConfig::default()
        });
        let a = entry("/a");
        let mut b = entry("/b");
        let c = entry("/c");
        let old = vec![a.clone(), b.clone()];
        b.mode = 0o4755;
        b.content = Content::Hashed(Digest::Blake3([2; 32]));
        let new = vec![b.clone(), c.clone()];
        let changes = diff(&old, &new, &rules);
        assert_eq!(changes.len(), 3);
        assert_eq!(changes[0], Change::Removed(a));
        let Change::Changed { attrs, .. } = &changes[1] else {
            panic!()
        };
        let names: Vec<&str> = attrs.iter().map(|c| c.attr.as_str()).collect();
        assert_eq!(names, vec!["mode", "content"]);
        assert_eq!(describe(&attrs[0]), "mode: 0644 → 4755");
        assert_eq!(changes[2], Change::Added(c));
    }
}

//! audit rule files (/etc/audit/rules.d/*.rules, /etc/audit/audit.rules):
//! how many lines are real rules (`-a`, `-A`, `-w`) rather than control lines
//! (`-D`, `-b`, `-f`, `-e`, `--backlog_wait_time`) that load nothing.

/// The number of rule lines in `text`.
pub fn count_rules(text: &str) -> usize {
    text.lines()
        .map(str::trim)
        .filter(|l| {
            let word = l.split_whitespace().next().unwrap_or("");
            matches!(word, "-a" | "-A" | "-w")
                || word.starts_with("-a")
                || word.starts_with("-w")
                || word.starts_with("-A")
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_lines_are_not_rules() {
        assert_eq!(
            count_rules("## c\n-D\n-b 8192\n-f 1\n--backlog_wait_time 60000\n-e 2\n"),
            0
        );
        assert_eq!(
            count_rules(
                "-w /etc/passwd -p wa -k identity\n-a always,exit -F arch=b64 -S execve\n# -w /x\n"
            ),
            2
        );
    }
}

//! JQL the engine writes: string literals, escaped.

/// The clause that selects the issues of these projects: `project = "SEC"`
/// for one, `project in ("SEC", "OPS")` for several (every project a
/// route may create in, so a finding's issue is found wherever it is).
pub(crate) fn projects_clause(keys: &[&str]) -> String {
    match keys {
        [one] => format!("project = {}", jql_string(one)),
        many => format!(
            "project in ({})",
            many.iter()
                .map(|k| jql_string(k))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// A JQL string literal.
pub(crate) fn jql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jql_strings_are_escaped() {
        assert_eq!(jql_string("SEC"), "\"SEC\"");
        assert_eq!(jql_string("a\"b\\c\nd"), "\"a\\\"b\\\\c d\"");
    }
}

//! JQL the engine writes: string literals, escaped.

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

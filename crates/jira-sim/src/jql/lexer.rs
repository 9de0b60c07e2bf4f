//! JQL tokens.

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    NotEq,
    Contains,
    NotContains,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "!=",
            CmpOp::Contains => "~",
            CmpOp::NotContains => "!~",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// An unquoted word: field name, keyword, value, number.
    Word(String),
    /// A quoted string, unescaped.
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Bang,
    Op(CmpOp),
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => s.clone(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::LBracket => "[".into(),
            Tok::RBracket => "]".into(),
            Tok::Comma => ",".into(),
            Tok::Bang => "!".into(),
            Tok::Op(o) => o.as_str().into(),
        }
    }
}

/// A token and the 1-based character where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: usize,
}

/// Characters JQL reserves outside quotes.
const RESERVED: &[char] = &[
    '{', '}', '*', '%', '?', '+', '^', '$', '#', '@', ';', '|', '&', '`',
];

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()[],=!~<>\"'".contains(c) && !RESERVED.contains(&c)
}

/// Splits a query into tokens.
///
/// # Errors
/// The message (without the "Error in the JQL Query" prefix) for an
/// unterminated string or a reserved character.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            '=' => Some(Tok::Op(CmpOp::Eq)),
            '~' => Some(Tok::Op(CmpOp::Contains)),
            _ => None,
        };
        if c.is_whitespace() {
            i += 1;
        } else if let Some(t) = single {
            out.push(Token { tok: t, pos });
            i += 1;
        } else if matches!(c, '!' | '<' | '>') {
            let next = chars.get(i + 1).copied();
            let (tok, len) = match (c, next) {
                ('!', Some('=')) => (Tok::Op(CmpOp::NotEq), 2),
                ('!', Some('~')) => (Tok::Op(CmpOp::NotContains), 2),
                ('!', _) => (Tok::Bang, 1),
                ('<', Some('=')) => (Tok::Op(CmpOp::Le), 2),
                ('<', _) => (Tok::Op(CmpOp::Lt), 1),
                ('>', Some('=')) => (Tok::Op(CmpOp::Ge), 2),
                _ => (Tok::Op(CmpOp::Gt), 1),
            };
            out.push(Token { tok, pos });
            i += len;
        } else if c == '"' || c == '\'' {
            let mut s = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => {
                        let shown: String = chars[i..].iter().collect();
                        return Err(format!(
                            "The quoted string '{shown}' has not been completed. (line 1, character {pos})"
                        ));
                    }
                    Some(&q) if q == c => break,
                    Some('\\') => {
                        match chars.get(j + 1) {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(&e) => s.push(e),
                            None => {
                                return Err(format!(
                                    "The escape sequence at the end of the query is incomplete. (line 1, character {})",
                                    j + 1
                                ));
                            }
                        }
                        j += 2;
                        continue;
                    }
                    Some(&other) => s.push(other),
                }
                j += 1;
            }
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
            i = j + 1;
        } else if RESERVED.contains(&c) {
            return Err(format!(
                "The character '{c}' is a reserved JQL character. You must enclose it in a string \
                 or use the escape '\\u{:04x}' instead. (line 1, character {pos})",
                c as u32
            ));
        } else {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Word(chars[start..i].iter().collect()),
                pos,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            toks(
                r#"project=SEC AND cf[10031] ~ "fnd \"1\"" OR key in (SEC-1,'SEC-2') AND updated >= -5d"#
            ),
            vec![
                Tok::Word("project".into()),
                Tok::Op(CmpOp::Eq),
                Tok::Word("SEC".into()),
                Tok::Word("AND".into()),
                Tok::Word("cf".into()),
                Tok::LBracket,
                Tok::Word("10031".into()),
                Tok::RBracket,
                Tok::Op(CmpOp::Contains),
                Tok::Str("fnd \"1\"".into()),
                Tok::Word("OR".into()),
                Tok::Word("key".into()),
                Tok::Word("in".into()),
                Tok::LParen,
                Tok::Word("SEC-1".into()),
                Tok::Comma,
                Tok::Str("SEC-2".into()),
                Tok::RParen,
                Tok::Word("AND".into()),
                Tok::Word("updated".into()),
                Tok::Op(CmpOp::Ge),
                Tok::Word("-5d".into()),
            ]
        );
        assert_eq!(
            toks("a!=b !~ c < d <= e > f ! g"),
            vec![
                Tok::Word("a".into()),
                Tok::Op(CmpOp::NotEq),
                Tok::Word("b".into()),
                Tok::Op(CmpOp::NotContains),
                Tok::Word("c".into()),
                Tok::Op(CmpOp::Lt),
                Tok::Word("d".into()),
                Tok::Op(CmpOp::Le),
                Tok::Word("e".into()),
                Tok::Op(CmpOp::Gt),
                Tok::Word("f".into()),
                Tok::Bang,
                Tok::Word("g".into()),
            ]
        );
    }

    #[test]
    fn errors() {
        assert!(
            tokenize(r#"summary ~ "open"#)
                .unwrap_err()
                .contains("has not been completed")
        );
        assert!(
            tokenize("summary ~ fnd*")
                .unwrap_err()
                .contains("reserved JQL character")
        );
        assert!(tokenize("a = \"x\\").unwrap_err().contains("incomplete"));
    }
}

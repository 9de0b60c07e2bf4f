//! A recursive-descent parser for the JQL subset.
//!
//! ```text
//! query    := [or_expr] [ORDER BY sort ("," sort)*]
//! or_expr  := and_expr (OR and_expr)*
//! and_expr := not_expr (AND not_expr)*
//! not_expr := (NOT | "!") not_expr | "(" or_expr ")" | clause
//! clause   := field op operand
//! field    := word | string | cf "[" number "]"
//! op       := = | != | ~ | !~ | > | >= | < | <= | IN | NOT IN | IS | IS NOT
//! operand  := value | EMPTY | NULL | "(" value ("," value)* ")"
//! sort     := field [ASC | DESC]
//! ```

use super::lexer::{CmpOp, Tok, Token};

/// A field as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldRef {
    /// A name: `project`, `"Penaxtra Finding ID"`.
    Named(String),
    /// `cf[10031]`.
    Custom(u64),
}

impl FieldRef {
    pub fn display(&self) -> String {
        match self {
            FieldRef::Named(n) => n.clone(),
            FieldRef::Custom(n) => format!("cf[{n}]"),
        }
    }
}

/// An operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Cmp(CmpOp),
    In,
    NotIn,
    Is,
    IsNot,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Cmp(c) => c.as_str(),
            Op::In => "in",
            Op::NotIn => "not in",
            Op::Is => "is",
            Op::IsNot => "is not",
        }
    }
}

/// The right-hand side of a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operand {
    Value(String),
    Empty,
    List(Vec<String>),
}

/// One `field op operand`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clause {
    pub field: FieldRef,
    pub op: Op,
    pub operand: Operand,
}

/// A boolean expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Clause(Clause),
}

/// A sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sort {
    pub field: FieldRef,
    pub descending: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    pub filter: Option<Expr>,
    pub order: Vec<Sort>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    len_chars: usize,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc", "was", "changed",
];

fn is_kw(t: Option<&Token>, kw: &str) -> bool {
    matches!(t, Some(Token { tok: Tok::Word(w), .. }) if w.eq_ignore_ascii_case(kw))
}

/// Parses tokens of `input` (whose length in characters is `len_chars`).
///
/// # Errors
/// A Jira-style message with the character position of the problem.
pub(crate) fn parse(tokens: Vec<Token>, len_chars: usize) -> Result<Query, String> {
    let mut p = Parser {
        tokens,
        at: 0,
        len_chars,
    };
    let filter = if p.peek().is_none() || p.at_order_by() {
        None
    } else {
        Some(p.or_expr()?)
    };
    let mut order = Vec::new();
    if p.at_order_by() {
        p.at += 2;
        loop {
            let field = p.field()?;
            let descending = if is_kw(p.peek(), "desc") {
                p.at += 1;
                true
            } else {
                if is_kw(p.peek(), "asc") {
                    p.at += 1;
                }
                false
            };
            order.push(Sort { field, descending });
            if matches!(p.peek().map(|t| &t.tok), Some(Tok::Comma)) {
                p.at += 1;
            } else {
                break;
            }
        }
    }
    if let Some(t) = p.peek() {
        let expected = if order.is_empty() {
            "Expecting either 'OR' or 'AND'"
        } else {
            "Expecting ',' or the end of the query"
        };
        return Err(format!(
            "{expected} but got '{}'. (line 1, character {})",
            t.tok.describe(),
            t.pos
        ));
    }
    Ok(Query { filter, order })
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn at_order_by(&self) -> bool {
        is_kw(self.peek(), "order") && is_kw(self.tokens.get(self.at + 1), "by")
    }

    fn err_here(&self, expected: &str) -> String {
        match self.peek() {
            Some(t) => format!(
                "Expecting {expected} but got '{}'. (line 1, character {})",
                t.tok.describe(),
                t.pos
            ),
            None => format!(
                "Expecting {expected} before the end of the query. (line 1, character {})",
                self.len_chars + 1
            ),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.and_expr()?;
        while is_kw(self.peek(), "or") {
            self.at += 1;
            let right = self.and_expr()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, String> {
        let mut left = self.not_expr()?;
        while is_kw(self.peek(), "and") {
            self.at += 1;
            let right = self.not_expr()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, String> {
        if is_kw(self.peek(), "not") || matches!(self.peek().map(|t| &t.tok), Some(Tok::Bang)) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not_expr()?)));
        }
        if matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) {
            self.at += 1;
            let e = self.or_expr()?;
            if !matches!(self.peek().map(|t| &t.tok), Some(Tok::RParen)) {
                return Err(self.err_here("')'"));
            }
            self.at += 1;
            return Ok(e);
        }
        self.clause()
    }

    fn field(&mut self) -> Result<FieldRef, String> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here("a field name"));
        };
        match t.tok {
            Tok::Word(w)
                if w.eq_ignore_ascii_case("cf")
                    && matches!(
                        self.tokens.get(self.at + 1).map(|t| &t.tok),
                        Some(Tok::LBracket)
                    ) =>
            {
                self.at += 2;
                let n = match self.peek().map(|t| &t.tok) {
                    Some(Tok::Word(n)) => n.parse::<u64>().ok(),
                    _ => None,
                };
                let Some(n) = n else {
                    return Err(self.err_here("a custom field id"));
                };
                self.at += 1;
                if !matches!(self.peek().map(|t| &t.tok), Some(Tok::RBracket)) {
                    return Err(self.err_here("']'"));
                }
                self.at += 1;
                Ok(FieldRef::Custom(n))
            }
            Tok::Word(w) if !KEYWORDS.contains(&w.to_ascii_lowercase().as_str()) => {
                self.at += 1;
                Ok(FieldRef::Named(w))
            }
            Tok::Str(s) => {
                self.at += 1;
                Ok(FieldRef::Named(s))
            }
            _ => Err(self.err_here("a field name")),
        }
    }

    fn op(&mut self) -> Result<Op, String> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here("an operator"));
        };
        let op = match &t.tok {
            Tok::Op(c) => Op::Cmp(*c),
            Tok::Word(w) if w.eq_ignore_ascii_case("in") => Op::In,
            Tok::Word(w)
                if w.eq_ignore_ascii_case("not") && is_kw(self.tokens.get(self.at + 1), "in") =>
            {
                self.at += 1;
                Op::NotIn
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("is") => {
                if is_kw(self.tokens.get(self.at + 1), "not") {
                    self.at += 1;
                    Op::IsNot
                } else {
                    Op::Is
                }
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("was") || w.eq_ignore_ascii_case("changed") => {
                return Err(format!(
                    "jira-sim does not support the history operator '{w}'. (line 1, character {})",
                    t.pos
                ));
            }
            _ => {
                return Err(format!(
                    "Expecting operator but got '{}'. Valid operators are '=', '!=', '~', '!~', \
                     '>', '>=', '<', '<=', 'in', 'not in', 'is' and 'is not'. (line 1, character {})",
                    t.tok.describe(),
                    t.pos
                ));
            }
        };
        self.at += 1;
        Ok(op)
    }

    fn value(&mut self) -> Result<Operand, String> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.err_here("a value"));
        };
        match t.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("empty") || w.eq_ignore_ascii_case("null") => {
                self.at += 1;
                Ok(Operand::Empty)
            }
            Tok::Word(w) if KEYWORDS.contains(&w.to_ascii_lowercase().as_str()) => Err(format!(
                "Expecting a value but got the reserved word '{w}'. (line 1, character {})",
                t.pos
            )),
            Tok::Word(w) => {
                if matches!(
                    self.tokens.get(self.at + 1).map(|t| &t.tok),
                    Some(Tok::LParen)
                ) {
                    return Err(format!(
                        "jira-sim does not support the JQL function '{w}()'. (line 1, character {})",
                        t.pos
                    ));
                }
                self.at += 1;
                Ok(Operand::Value(w))
            }
            Tok::Str(s) => {
                self.at += 1;
                Ok(Operand::Value(s))
            }
            _ => Err(self.err_here("a value")),
        }
    }

    fn clause(&mut self) -> Result<Expr, String> {
        let field = self.field()?;
        let op = self.op()?;
        let operand = match op {
            Op::In | Op::NotIn => {
                if !matches!(self.peek().map(|t| &t.tok), Some(Tok::LParen)) {
                    return Err(self.err_here("'('"));
                }
                self.at += 1;
                let mut values = Vec::new();
                loop {
                    match self.value()? {
                        Operand::Value(v) => values.push(v),
                        _ => return Err(self.err_here("a value")),
                    }
                    match self.peek().map(|t| &t.tok) {
                        Some(Tok::Comma) => self.at += 1,
                        Some(Tok::RParen) => {
                            self.at += 1;
                            break;
                        }
                        _ => return Err(self.err_here("',' or ')'")),
                    }
                }
                Operand::List(values)
            }
            Op::Is | Op::IsNot => match self.value()? {
                Operand::Empty => Operand::Empty,
                _ => {
                    self.at -= 1;
                    return Err(self.err_here("'EMPTY' or 'NULL'"));
                }
            },
            Op::Cmp(_) => self.value()?,
        };
        Ok(Expr::Clause(Clause { field, op, operand }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexer::tokenize;
    use super::*;

    fn q(s: &str) -> Result<Query, String> {
        parse(tokenize(s)?, s.chars().count())
    }

    fn clause(f: &str, op: Op, operand: Operand) -> Expr {
        Expr::Clause(Clause {
            field: FieldRef::Named(f.into()),
            op,
            operand,
        })
    }

    #[test]
    fn precedence_and_parentheses() {
        let a = clause("a", Op::Cmp(CmpOp::Eq), Operand::Value("1".into()));
        let b = clause("b", Op::Cmp(CmpOp::Eq), Operand::Value("2".into()));
        let c = clause("c", Op::Cmp(CmpOp::Eq), Operand::Value("3".into()));
        assert_eq!(
            q("a = 1 OR b = 2 and c = 3").unwrap().filter.unwrap(),
            Expr::Or(
                Box::new(a.clone()),
                Box::new(Expr::And(Box::new(b.clone()), Box::new(c.clone())))
            )
        );
        assert_eq!(
            q("(a = 1 OR b = 2) AND NOT c = 3").unwrap().filter.unwrap(),
            Expr::And(
                Box::new(Expr::Or(Box::new(a), Box::new(b))),
                Box::new(Expr::Not(Box::new(c)))
            )
        );
    }

    #[test]
    fn operators_and_order() {
        let query = q(r#"cf[10031] ~ "x" AND labels not in (a, "b c") AND resolution IS NOT EMPTY ORDER BY updated DESC, key"#).unwrap();
        let Expr::And(left, right) = query.filter.unwrap() else {
            panic!()
        };
        assert_eq!(*right, clause("resolution", Op::IsNot, Operand::Empty));
        let Expr::And(first, second) = *left else {
            panic!()
        };
        assert_eq!(
            *first,
            Expr::Clause(Clause {
                field: FieldRef::Custom(10031),
                op: Op::Cmp(CmpOp::Contains),
                operand: Operand::Value("x".into())
            })
        );
        assert_eq!(
            *second,
            clause(
                "labels",
                Op::NotIn,
                Operand::List(vec!["a".into(), "b c".into()])
            )
        );
        assert_eq!(query.order.len(), 2);
        assert!(query.order[0].descending && !query.order[1].descending);
        let only_order = q("order by key").unwrap();
        assert!(only_order.filter.is_none());
        assert!(q("").unwrap().filter.is_none());
    }

    #[test]
    fn errors_name_the_place() {
        for (bad, needle) in [
            ("project = SEC foo", "character 15"),
            ("project SEC", "Expecting operator"),
            ("project = ", "a value"),
            ("key in (SEC-1", "',' or ')'"),
            ("key in SEC-1", "'('"),
            ("(project = SEC", "')'"),
            (
                "assignee = currentUser()",
                "does not support the JQL function",
            ),
            ("status was Open", "history operator"),
            ("labels is x", "'EMPTY' or 'NULL'"),
            ("cf[abc] ~ x", "custom field id"),
            ("project = SEC ORDER BY", "field name"),
            ("= SEC", "field name"),
        ] {
            let e = q(bad).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
        }
    }
}

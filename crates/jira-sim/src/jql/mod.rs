//! The JQL subset the simulator understands: a tokenizer, a
//! recursive-descent parser, and a checker/evaluator over the world.
//!
//! Supported: `project`, `key`/`issuekey`, `id`, `labels`, `status`,
//! `statusCategory`, `resolution`, `issuetype`, `priority`, `summary`,
//! `description`, `text`, `created`, `updated`, `cf[10031]` /
//! `"Penaxtra Finding ID"` (text: `~`, `!~`, `is`), `cf[10032]` /
//! `"Framework references"`; operators `= != ~ !~ > >= < <= in, not in,
//! is, is not`; `AND`, `OR`, `NOT`, parentheses; `ORDER BY`. Anything else
//! is a 400 with Jira's error shape.

mod eval;
mod lexer;
mod parser;

pub(crate) use eval::{Compiled, When};

use crate::world::World;
#[cfg(test)]
use chrono::{DateTime, Utc};

/// Parses and checks `jql` against the world.
///
/// # Errors
/// The full message for Jira's `errorMessages`
/// (`Error in the JQL Query: ...` for syntax, Jira's wording for unknown
/// fields, operators and values).
#[cfg(test)]
pub(crate) fn compile(jql: &str, world: &World, now: DateTime<Utc>) -> Result<Compiled, String> {
    compile_for(
        jql,
        world,
        When {
            now,
            offset_minutes: 0,
        },
    )
}

/// [`compile`] for a searcher whose profile time zone is `when.offset_minutes`
/// from UTC: absolute dates are read in it.
///
/// # Errors
/// As [`compile`].
pub(crate) fn compile_for(jql: &str, world: &World, when: When) -> Result<Compiled, String> {
    let tokens = lexer::tokenize(jql).map_err(|e| format!("Error in the JQL Query: {e}"))?;
    let query = parser::parse(tokens, jql.chars().count())
        .map_err(|e| format!("Error in the JQL Query: {e}"))?;
    eval::check(query, world, when)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameworksFieldKind, Workflow};
    use jira_model::Flavor;
    use proptest::prelude::*;

    fn world() -> World {
        World::new(
            Flavor::Cloud,
            FrameworksFieldKind::MultiSelect,
            Workflow::default(),
        )
    }

    proptest! {
        /// Any text compiles or yields an error message; it never panics.
        #[test]
        fn never_panics(jql in "\\PC{0,80}") {
            let _ = compile(&jql, &world(), chrono::Utc::now());
        }

        /// Queries built from the grammar's own pieces never panic either,
        /// and every error names the problem.
        #[test]
        fn grammar_soup_never_panics(parts in proptest::collection::vec(
            prop_oneof![
                Just("project"), Just("labels"), Just("cf[10031]"), Just("status"), Just("updated"),
                Just("="), Just("!="), Just("~"), Just(">="), Just("in"), Just("not"), Just("is"),
                Just("EMPTY"), Just("("), Just(")"), Just(","), Just("AND"), Just("OR"),
                Just("ORDER"), Just("BY"), Just("DESC"), Just("SEC"), Just("\"x y\""), Just("-5d"),
            ],
            0..14,
        )) {
            let jql = parts.join(" ");
            if let Err(e) = compile(&jql, &world(), chrono::Utc::now()) {
                prop_assert!(!e.is_empty());
            }
        }
    }
}

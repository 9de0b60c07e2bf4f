//! Checking a parsed query against the world, and running it.

use super::lexer::CmpOp;
use super::parser::{Clause, Expr, FieldRef, Op, Operand, Query};
use crate::FrameworksFieldKind;
use crate::world::{ISSUE_TYPES, PRIORITIES, PROJECTS, SimIssue, World, render};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use jira_model::{IssueKey, StatusCategory, StatusCategoryKey};
use std::cmp::Ordering;

/// The fields the subset knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Project,
    Key,
    Id,
    Labels,
    Status,
    Category,
    Resolution,
    IssueType,
    Priority,
    Summary,
    Description,
    Text,
    Created,
    Updated,
    FindingId,
    Frameworks,
}

fn resolve(f: &FieldRef) -> Result<Kind, String> {
    let kind = match f {
        FieldRef::Custom(10031) => Some(Kind::FindingId),
        FieldRef::Custom(10032) => Some(Kind::Frameworks),
        FieldRef::Custom(_) => None,
        FieldRef::Named(n) => match n.to_ascii_lowercase().as_str() {
            "project" => Some(Kind::Project),
            "key" | "issuekey" | "issue" => Some(Kind::Key),
            "id" => Some(Kind::Id),
            "labels" => Some(Kind::Labels),
            "status" => Some(Kind::Status),
            "statuscategory" | "category" => Some(Kind::Category),
            "resolution" => Some(Kind::Resolution),
            "issuetype" | "type" => Some(Kind::IssueType),
            "priority" => Some(Kind::Priority),
            "summary" => Some(Kind::Summary),
            "description" => Some(Kind::Description),
            "text" => Some(Kind::Text),
            "created" | "createddate" => Some(Kind::Created),
            "updated" | "updateddate" => Some(Kind::Updated),
            "penaxtra finding id" => Some(Kind::FindingId),
            "framework references" => Some(Kind::Frameworks),
            _ => None,
        },
    };
    kind.ok_or_else(|| {
        format!(
            "Field '{}' does not exist or you do not have permission to view it.",
            f.display()
        )
    })
}

fn allowed(kind: Kind, op: Op) -> bool {
    use CmpOp::*;
    let list = matches!(op, Op::In | Op::NotIn | Op::Cmp(Eq) | Op::Cmp(NotEq));
    let empty = matches!(op, Op::Is | Op::IsNot);
    let text = matches!(op, Op::Cmp(Contains) | Op::Cmp(NotContains));
    let range = matches!(op, Op::Cmp(Gt) | Op::Cmp(Ge) | Op::Cmp(Lt) | Op::Cmp(Le));
    match kind {
        Kind::Project | Kind::Status | Kind::Category | Kind::IssueType | Kind::Priority => list,
        Kind::Key | Kind::Id => list || range,
        Kind::Labels | Kind::Frameworks | Kind::Resolution => list || empty,
        Kind::Summary | Kind::Description | Kind::Text | Kind::FindingId => text || empty,
        Kind::Created | Kind::Updated => {
            range || empty || matches!(op, Op::Cmp(Eq) | Op::Cmp(NotEq))
        }
    }
}

/// A checked clause, values resolved to canonical ones.
#[derive(Debug, Clone)]
enum Test {
    /// Canonical names the field must (not) hold one of; `empty` matches an
    /// empty field.
    OneOf {
        kind: Kind,
        values: Vec<String>,
        empty: bool,
        negate: bool,
    },
    /// Text search.
    Contains {
        kind: Kind,
        query: String,
        negate: bool,
    },
    /// Empty or not.
    Empty { kind: Kind, negate: bool },
    /// A date comparison.
    Date {
        kind: Kind,
        op: CmpOp,
        at: DateTime<Utc>,
    },
    /// A key or id comparison by number.
    Number { op: CmpOp, n: u64 },
}

#[derive(Debug, Clone)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Test(Test),
}

/// A sort key.
#[derive(Debug, Clone, Copy)]
enum SortKey {
    Key,
    Created,
    Updated,
    Summary,
    Status,
    Priority,
}

/// A query ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    filter: Option<Node>,
    order: Vec<(SortKey, bool)>,
}

impl Compiled {
    /// Whether the query restricts the search (Cloud refuses unbounded ones).
    pub fn is_bounded(&self) -> bool {
        self.filter.is_some()
    }

    /// The live issues of `issues` (the versions search sees) that match,
    /// sorted.
    pub fn run<'a>(&self, issues: impl IntoIterator<Item = &'a SimIssue>) -> Vec<&'a SimIssue> {
        let mut out: Vec<&SimIssue> = issues
            .into_iter()
            .filter(|i| !i.deleted)
            .filter(|i| self.filter.as_ref().is_none_or(|f| matches(f, i)))
            .collect();
        out.sort_by(|a, b| {
            for (key, desc) in &self.order {
                let o = compare(*key, a, b);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            b.number().cmp(&a.number())
        });
        out
    }
}

/// Checks a parsed query against the world.
/// When a query runs, and in which time zone its absolute dates are read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct When {
    /// Now, for relative dates.
    pub now: DateTime<Utc>,
    /// The searching account's offset from UTC, in minutes.
    pub offset_minutes: i32,
}

pub(crate) fn check(q: Query, world: &World, now: When) -> Result<Compiled, String> {
    let filter = q.filter.map(|e| node(e, world, now)).transpose()?;
    let mut order = Vec::new();
    for s in q.order {
        let kind = resolve(&s.field)?;
        let key = match kind {
            Kind::Key | Kind::Id => SortKey::Key,
            Kind::Created => SortKey::Created,
            Kind::Updated => SortKey::Updated,
            Kind::Summary => SortKey::Summary,
            Kind::Status => SortKey::Status,
            Kind::Priority => SortKey::Priority,
            _ => {
                return Err(format!(
                    "Field '{}' does not support sorting in jira-sim.",
                    s.field.display()
                ));
            }
        };
        order.push((key, s.descending));
    }
    if order.len() > 7 {
        return Err("The ORDER BY clause can contain at most 7 fields.".into());
    }
    Ok(Compiled { filter, order })
}

fn node(e: Expr, world: &World, now: When) -> Result<Node, String> {
    Ok(match e {
        Expr::And(a, b) => Node::And(
            Box::new(node(*a, world, now)?),
            Box::new(node(*b, world, now)?),
        ),
        Expr::Or(a, b) => Node::Or(
            Box::new(node(*a, world, now)?),
            Box::new(node(*b, world, now)?),
        ),
        Expr::Not(a) => Node::Not(Box::new(node(*a, world, now)?)),
        Expr::Clause(c) => Node::Test(test(c, world, now)?),
    })
}

fn test(c: Clause, world: &World, now: When) -> Result<Test, String> {
    let kind = resolve(&c.field)?;
    let name = c.field.display();
    if !allowed(kind, c.op) {
        return Err(format!(
            "The operator '{}' is not supported by the '{name}' field.",
            c.op.as_str()
        ));
    }
    let negate = matches!(
        c.op,
        Op::NotIn | Op::IsNot | Op::Cmp(CmpOp::NotEq) | Op::Cmp(CmpOp::NotContains)
    );
    match (c.op, c.operand) {
        (Op::Is | Op::IsNot, _) | (_, Operand::Empty) => {
            if !matches!(
                c.op,
                Op::Is | Op::IsNot | Op::Cmp(CmpOp::Eq) | Op::Cmp(CmpOp::NotEq)
            ) || !matches!(
                kind,
                Kind::Labels
                    | Kind::Frameworks
                    | Kind::Resolution
                    | Kind::FindingId
                    | Kind::Summary
                    | Kind::Description
                    | Kind::Created
                    | Kind::Updated
            ) {
                return Err(format!(
                    "The field '{name}' does not support searching for EMPTY values with '{}'.",
                    c.op.as_str()
                ));
            }
            Ok(Test::Empty { kind, negate })
        }
        (Op::Cmp(CmpOp::Contains | CmpOp::NotContains), Operand::Value(v)) => {
            if words(&v).is_empty() {
                return Err(format!(
                    "The value '{v}' is not a valid text search for the field '{name}'."
                ));
            }
            Ok(Test::Contains {
                kind,
                query: v,
                negate,
            })
        }
        (Op::Cmp(op), Operand::Value(v)) if matches!(kind, Kind::Created | Kind::Updated) => {
            let at = parse_date(&v, now).ok_or_else(|| {
                format!(
                    "Date value '{v}' for field '{name}' is invalid. Valid formats include: \
                     'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a \
                     period format e.g. '-5d', '4w 2d'."
                )
            })?;
            Ok(Test::Date { kind, op, at })
        }
        (Op::Cmp(op @ (CmpOp::Gt | CmpOp::Ge | CmpOp::Lt | CmpOp::Le)), Operand::Value(v)) => {
            let n = key_number(kind, &v, world, &name)?;
            Ok(Test::Number { op, n })
        }
        (_, Operand::Value(v)) => one_of(kind, vec![v], negate, world, &name),
        (_, Operand::List(vs)) => one_of(kind, vs, negate, world, &name),
    }
}

fn key_number(kind: Kind, v: &str, world: &World, name: &str) -> Result<u64, String> {
    let key = canonical(kind, v, world, name)?;
    Ok(key
        .rsplit_once('-')
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or(0))
}

fn one_of(
    kind: Kind,
    vs: Vec<String>,
    negate: bool,
    world: &World,
    name: &str,
) -> Result<Test, String> {
    let values = vs
        .iter()
        .map(|v| canonical(kind, v, world, name))
        .collect::<Result<Vec<_>, _>>()?;
    let empty = kind == Kind::Resolution && values.iter().any(|v| v == "Unresolved");
    Ok(Test::OneOf {
        kind,
        values,
        empty,
        negate,
    })
}

/// The canonical form of a value of `kind`, or Jira's error for it.
fn canonical(kind: Kind, v: &str, world: &World, name: &str) -> Result<String, String> {
    let missing = || format!("The value '{v}' does not exist for the field '{name}'.");
    let pick = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .find(|(id, n)| n.eq_ignore_ascii_case(v) || *id == v)
            .map(|(_, n)| n.to_string())
            .ok_or_else(missing)
    };
    match kind {
        Kind::Project => PROJECTS
            .iter()
            .find(|p| {
                [p.key, p.id, p.name]
                    .iter()
                    .any(|x| x.eq_ignore_ascii_case(v))
            })
            .map(|p| p.key.to_string())
            .ok_or_else(missing),
        Kind::Key => {
            let key = IssueKey::new(v.to_ascii_uppercase())
                .map_err(|_| format!("The issue key '{v}' for field '{name}' is invalid."))?;
            if world.key_exists(key.as_str()) {
                Ok(key.to_string())
            } else {
                Err(format!(
                    "An issue with key '{v}' does not exist for field '{name}'."
                ))
            }
        }
        Kind::Id => world
            .find(v)
            .filter(|i| i.id == v)
            .map(|i| i.key.clone())
            .ok_or_else(|| format!("An issue with key '{v}' does not exist for field '{name}'.")),
        Kind::Status => world
            .workflow
            .status_by_name_or_id(v)
            .map(|s| s.name.clone())
            .ok_or_else(missing),
        Kind::Category => [
            StatusCategoryKey::New,
            StatusCategoryKey::Indeterminate,
            StatusCategoryKey::Done,
        ]
        .into_iter()
        .find(|k| {
            let stock = StatusCategory::stock(k.clone());
            k.as_str().eq_ignore_ascii_case(v)
                || stock.name.eq_ignore_ascii_case(v)
                || (stock.id.as_u64().is_some() && v.parse::<u64>().ok() == stock.id.as_u64())
        })
        .map(|k| k.as_str().to_string())
        .ok_or_else(missing),
        Kind::Resolution if v.eq_ignore_ascii_case("unresolved") => Ok("Unresolved".into()),
        Kind::Resolution => world
            .workflow
            .resolution(v)
            .map(|r| r.name.clone())
            .ok_or_else(missing),
        Kind::IssueType => pick(&ISSUE_TYPES),
        Kind::Priority => pick(&PRIORITIES),
        Kind::Frameworks if world.kind == FrameworksFieldKind::MultiSelect => world
            .options
            .iter()
            .find(|(id, ov)| ov == v || id == v)
            .map(|(_, ov)| ov.clone())
            .ok_or_else(|| format!("The option '{v}' for field '{name}' does not exist.")),
        _ => Ok(v.to_string()),
    }
}

fn matches(n: &Node, i: &SimIssue) -> bool {
    match n {
        Node::And(a, b) => matches(a, i) && matches(b, i),
        Node::Or(a, b) => matches(a, i) || matches(b, i),
        Node::Not(a) => !matches(a, i),
        Node::Test(t) => test_matches(t, i),
    }
}

fn held(kind: Kind, i: &SimIssue) -> Vec<String> {
    match kind {
        Kind::Project => vec![i.project_key.clone()],
        Kind::Key | Kind::Id => vec![i.key.clone()],
        Kind::Labels => i.labels.clone(),
        Kind::Frameworks => i.framework_values(),
        Kind::Status => vec![i.status.clone()],
        Kind::Category => vec![i.status_category.as_str().to_string()],
        Kind::Resolution => i.resolution.iter().cloned().collect(),
        Kind::IssueType => vec![i.issue_type.clone()],
        Kind::Priority => vec![i.priority.clone()],
        Kind::Summary => vec![i.summary.clone()],
        Kind::Description => i
            .description
            .iter()
            .map(render::plain_description)
            .collect(),
        Kind::Text => {
            let mut v = vec![i.summary.clone()];
            v.extend(i.description.iter().map(render::plain_description));
            v.extend(i.finding_id().map(str::to_string));
            v
        }
        Kind::FindingId => i.finding_id().map(str::to_string).into_iter().collect(),
        Kind::Created => vec![render::fmt_time(i.created)],
        Kind::Updated => vec![render::fmt_time(i.updated)],
    }
}

fn test_matches(t: &Test, i: &SimIssue) -> bool {
    match t {
        Test::OneOf {
            kind,
            values,
            empty,
            negate,
        } => {
            let have = held(*kind, i);
            let hit = (*empty && have.is_empty())
                || have.iter().any(|h| {
                    values.iter().any(|v| {
                        if matches!(kind, Kind::Labels | Kind::Frameworks) {
                            h == v
                        } else {
                            h.eq_ignore_ascii_case(v)
                        }
                    })
                });
            hit != *negate
        }
        Test::Contains {
            kind,
            query,
            negate,
        } => {
            let hit = held(*kind, i).iter().any(|text| text_matches(query, text));
            hit != *negate
        }
        Test::Empty { kind, negate } => held(*kind, i).is_empty() != *negate,
        Test::Date { kind, op, at } => {
            let t = if *kind == Kind::Created {
                i.created
            } else {
                i.updated
            };
            cmp_op(*op, t.cmp(at))
        }
        Test::Number { op, n } => cmp_op(*op, i.number().cmp(n)),
    }
}

fn cmp_op(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::NotEq => o != Ordering::Equal,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Contains | CmpOp::NotContains => false,
    }
}

/// Lower-case words, split at every character that is not a letter or a
/// digit (a `*` ending a word is kept, as a prefix wildcard).
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '*')
        .filter(|w| !w.is_empty() && *w != "*")
        .map(str::to_lowercase)
        .collect()
}

/// Jira-like text search: every word of the query appears among the words
/// of the text, in any order. It can match more than the exact value.
fn text_matches(query: &str, text: &str) -> bool {
    let have = words(&text.replace('*', " "));
    words(query).iter().all(|q| match q.strip_suffix('*') {
        Some(prefix) => have.iter().any(|h| h.starts_with(prefix)),
        None => have.iter().any(|h| h == q),
    })
}

/// A JQL date: absolute (`yyyy-MM-dd[ HH:mm]`, `/` also: minute
/// precision, read in the searching account's time zone, as Jira reads
/// them), epoch milliseconds (`1769853600000`), or relative to now (`-5d`,
/// `4w 2d`, `-30m`, `1h`).
fn parse_date(v: &str, when: When) -> Option<DateTime<Utc>> {
    let v = v.trim();
    let zone = chrono::FixedOffset::east_opt(when.offset_minutes * 60)?;
    let local = |t: NaiveDateTime| t.and_local_timezone(zone).single().map(|t| t.to_utc());
    for fmt in ["%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(v, fmt) {
            return local(t);
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(v, fmt) {
            return local(d.and_time(NaiveTime::MIN));
        }
    }
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis);
    }
    let now = when.now;
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, v.strip_prefix('+').unwrap_or(v)),
    };
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut any = false;
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
        } else if c.is_whitespace() && num.is_empty() {
            continue;
        } else {
            let n: i64 = num.parse().ok()?;
            num.clear();
            total += match c {
                'w' => Duration::weeks(n),
                'd' => Duration::days(n),
                'h' => Duration::hours(n),
                'm' => Duration::minutes(n),
                _ => return None,
            };
            any = true;
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(now + total * sign)
}

fn compare(key: SortKey, a: &SimIssue, b: &SimIssue) -> Ordering {
    match key {
        SortKey::Key => a.number().cmp(&b.number()),
        SortKey::Created => a.created.cmp(&b.created),
        SortKey::Updated => a.updated.cmp(&b.updated),
        SortKey::Summary => a.summary.to_lowercase().cmp(&b.summary.to_lowercase()),
        SortKey::Status => a.status.cmp(&b.status),
        SortKey::Priority => {
            let rank = |p: &str| {
                PRIORITIES
                    .iter()
                    .position(|(_, n)| *n == p)
                    .unwrap_or(usize::MAX)
            };
            rank(&a.priority).cmp(&rank(&b.priority))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::compile;
    use super::*;
    use crate::Workflow;
    use crate::accounts::ALL;
    use crate::world::{ApiVersion, Ctx};
    use chrono::TimeZone;
    use jira_model::Flavor;
    use serde_json::json;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 31, h, m, 0).unwrap()
    }

    fn world() -> World {
        let mut w = World::new(
            Flavor::Cloud,
            FrameworksFieldKind::MultiSelect,
            Workflow::default(),
        );
        let mk = |summary: &str, fid: &str, labels: &[&str], fw: &[&str]| {
            json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":summary,
                "labels":labels,"customfield_10031":fid,
                "customfield_10032":fw.iter().map(|f| json!({"value":f})).collect::<Vec<_>>()}})
        };
        let ctx = |now| Ctx {
            api: ApiVersion::V2,
            account: &ALL[0],
            now,
        };
        for (n, (s, f, l, fw)) in [
            (
                "Prompt injection",
                "fnd_1",
                vec!["penaxtra", "llm"],
                vec!["OWASP_LLM01"],
            ),
            (
                "Data leak",
                "fnd_10",
                vec!["penaxtra"],
                vec!["OWASP_LLM06", "OWASP_LLM01"],
            ),
            ("Jailbreak", "fnd_1_b", vec![], vec![]),
        ]
        .into_iter()
        .enumerate()
        {
            w.create(&ctx(t(10, n as u32 * 10)), &mk(s, f, &l, &fw))
                .unwrap();
        }
        w.transition(
            &ctx(t(11, 0)),
            "SEC-2",
            &json!({"transition":{"id":"21"},"fields":{"resolution":{"name":"Done"}}}),
        )
        .unwrap();
        w
    }

    fn keys(jql: &str) -> Vec<String> {
        let w = world();
        compile(jql, &w, t(12, 0))
            .unwrap_or_else(|e| panic!("{jql}: {e}"))
            .run(w.all())
            .into_iter()
            .map(|i| i.key.clone())
            .collect()
    }

    fn error(jql: &str) -> String {
        compile(jql, &world(), t(12, 0)).unwrap_err()
    }

    #[test]
    fn clauses() {
        assert_eq!(keys("project = SEC"), ["SEC-3", "SEC-2", "SEC-1"]);
        assert_eq!(
            keys("project in (SEC, 10000) ORDER BY key ASC"),
            ["SEC-1", "SEC-2", "SEC-3"]
        );
        assert_eq!(keys("key in (SEC-1, sec-3)"), ["SEC-3", "SEC-1"]);
        assert_eq!(keys("labels = penaxtra AND labels != llm"), ["SEC-2"]);
        assert_eq!(keys("labels in (llm, nothing)"), ["SEC-1"]);
        assert_eq!(keys("labels is EMPTY"), ["SEC-3"]);
        assert_eq!(keys("cf[10032] = OWASP_LLM01"), ["SEC-2", "SEC-1"]);
        assert_eq!(
            keys("\"Framework references\" not in (OWASP_LLM06)"),
            ["SEC-3", "SEC-1"]
        );
        assert_eq!(keys("status = Done"), ["SEC-2"]);
        assert_eq!(
            keys("status in ('open', \"In Progress\")"),
            ["SEC-3", "SEC-1"]
        );
        assert_eq!(keys("statusCategory = Done"), ["SEC-2"]);
        assert_eq!(
            keys("statusCategory != done AND statusCategory in (new, 4)"),
            ["SEC-3", "SEC-1"]
        );
        assert_eq!(keys("resolution = Unresolved"), ["SEC-3", "SEC-1"]);
        assert_eq!(keys("resolution is not EMPTY"), ["SEC-2"]);
        assert_eq!(
            keys("issuetype = Bug AND priority = Medium AND summary ~ leak"),
            ["SEC-2"]
        );
        assert_eq!(keys("NOT (key = SEC-1 OR key = SEC-2)"), ["SEC-3"]);
        assert_eq!(
            keys("key > SEC-1 AND key <= SEC-3 ORDER BY key"),
            ["SEC-2", "SEC-3"]
        );
    }

    #[test]
    fn text_search_overmatches_like_jira() {
        // fnd_1 matches fnd_1 and fnd_1_b (word-wise), not fnd_10.
        assert_eq!(
            keys("cf[10031] ~ \"fnd_1\" ORDER BY key"),
            ["SEC-1", "SEC-3"]
        );
        assert_eq!(keys("\"Penaxtra Finding ID\" ~ \"fnd_10\""), ["SEC-2"]);
        assert_eq!(keys("cf[10031] ~ \"fnd*\"").len(), 3);
        assert_eq!(keys("cf[10031] !~ b"), ["SEC-2", "SEC-1"]);
        assert_eq!(keys("cf[10031] is EMPTY"), Vec::<String>::new());
    }

    #[test]
    fn dates_and_order() {
        assert_eq!(keys("updated >= \"2026-01-31 10:10\""), ["SEC-3", "SEC-2"]);
        assert_eq!(
            keys("updated >= \"2026/01/31 10:10\" ORDER BY updated ASC"),
            ["SEC-3", "SEC-2"]
        );
        assert_eq!(keys("created < \"2026-01-31 10:10\""), ["SEC-1"]);
        assert_eq!(keys("updated >= -61m ORDER BY updated DESC"), ["SEC-2"]);
        assert_eq!(keys("created >= 2026-01-31"), ["SEC-3", "SEC-2", "SEC-1"]);
        assert_eq!(keys("created > \"-1w 2d\""), ["SEC-3", "SEC-2", "SEC-1"]);
        assert_eq!(
            keys("project = SEC ORDER BY summary"),
            ["SEC-2", "SEC-3", "SEC-1"]
        );
    }

    #[test]
    fn errors_in_jira_words() {
        assert_eq!(
            error("foo = 1"),
            "Field 'foo' does not exist or you do not have permission to view it."
        );
        assert_eq!(
            error("project = NOPE"),
            "The value 'NOPE' does not exist for the field 'project'."
        );
        assert_eq!(
            error("key = SEC-99"),
            "An issue with key 'SEC-99' does not exist for field 'key'."
        );
        assert_eq!(
            error("key = 12"),
            "The issue key '12' for field 'key' is invalid."
        );
        assert_eq!(
            error("cf[10031] = fnd_1"),
            "The operator '=' is not supported by the 'cf[10031]' field."
        );
        assert_eq!(
            error("status ~ Open"),
            "The operator '~' is not supported by the 'status' field."
        );
        assert!(error("status = Nope").contains("does not exist for the field 'status'"));
        assert!(error("cf[10032] = NEVER_SEEN").contains("option 'NEVER_SEEN'"));
        assert!(error("updated >= yesterday").starts_with("Date value 'yesterday'"));
        assert!(error("cf[99] ~ x").contains("cf[99]"));
        assert!(error("project = SEC ORDER BY labels").contains("sorting"));
        assert!(
            error("project = SEC AND")
                .starts_with("Error in the JQL Query: Expecting a field name")
        );
        assert!(error("status is EMPTY").contains("operator 'is'"));
        assert!(error("cf[10031] ~ EMPTY").contains("EMPTY values"));
    }

    #[test]
    fn bounded() {
        let w = world();
        assert!(
            !compile("order by key desc", &w, t(12, 0))
                .unwrap()
                .is_bounded()
        );
        assert!(compile("project = SEC", &w, t(12, 0)).unwrap().is_bounded());
    }

    #[test]
    fn relative_dates() {
        let now = When {
            now: t(12, 0),
            offset_minutes: 0,
        };
        assert_eq!(parse_date("-5m", now), Some(t(11, 55)));
        assert_eq!(parse_date("1h", now), Some(t(13, 0)));
        assert_eq!(
            parse_date("-1d 2h", now),
            Some(now.now - Duration::hours(26))
        );
        for bad in ["", "-", "5x", "d", "2026-13-01", "2026-01-31 10:00:30"] {
            assert_eq!(parse_date(bad, now), None, "{bad}");
        }
    }

    #[test]
    fn absolute_dates_are_read_in_the_searchers_zone_and_epoch_ms_in_none() {
        let kolkata = When {
            now: t(12, 0),
            offset_minutes: 330,
        };
        // 10:00 in Kolkata is 04:30 UTC.
        assert_eq!(parse_date("2026-01-31 10:00", kolkata), Some(t(4, 30)));
        assert_eq!(
            parse_date("2026/01/31", kolkata),
            Some(t(0, 0) - Duration::minutes(330))
        );
        let ms = t(10, 0).timestamp_millis().to_string();
        assert_eq!(parse_date(&ms, kolkata), Some(t(10, 0)));
        assert_eq!(parse_date("5", kolkata), DateTime::from_timestamp_millis(5));
    }
}

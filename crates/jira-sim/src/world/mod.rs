//! The simulated Jira's state: the project `SEC`, its issues, the options of
//! the frameworks field, and the operations REST calls perform on them.
//!
//! Every operation validates completely before it changes anything, and
//! returns the webhook events it caused.

pub(crate) mod adf;
pub(crate) mod api_error;
mod comments;
pub(crate) mod fields;
mod history;
mod issue;
pub(crate) mod render;

pub use comments::SimVisibility;
pub(crate) use comments::{CommentOrder, visible_to};
pub use history::SimHistory;
pub use issue::{SimComment, SimIssue};

use crate::accounts::Account;
use crate::{FrameworksFieldKind, Workflow};
use api_error::{ApiError, cannot_set};
use chrono::{DateTime, Utc};
use fields::{Checker, Draft, Mode};
use jira_model::webhook::{ChangelogItem, WebhookEventKind};
use jira_model::{Flavor, StatusCategoryKey};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// A project of the simulated Jira: its components, and whether its
/// create screen has `duedate` (Jira refuses a field not on the screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SimProject {
    pub key: &'static str,
    pub id: &'static str,
    pub name: &'static str,
    /// Components: (id, name).
    pub components: &'static [(&'static str, &'static str)],
    pub due_date_on_screen: bool,
}

/// The projects: `SEC` (no due date on its screen) and `OPS`.
pub(crate) const PROJECTS: [SimProject; 2] = [
    SimProject {
        key: "SEC",
        id: "10000",
        name: "Security",
        components: &[("10300", "Gateway"), ("10301", "RAG Pipeline")],
        due_date_on_screen: false,
    },
    SimProject {
        key: "OPS",
        id: "10001",
        name: "Platform Operations",
        components: &[("10310", "Model Serving"), ("10311", "Agents")],
        due_date_on_screen: true,
    },
];

/// The project a key (any case) or id names.
pub(crate) fn sim_project(p: &str) -> Option<&'static SimProject> {
    PROJECTS
        .iter()
        .find(|x| x.key.eq_ignore_ascii_case(p) || x.id == p)
}

/// The project an issue belongs to.
pub(crate) fn project_of(i: &SimIssue) -> &'static SimProject {
    sim_project(&i.project_key).unwrap_or(&PROJECTS[0])
}

/// Key of the first project.
pub(crate) const PROJECT_KEY: &str = PROJECTS[0].key;
/// Issue types: (id, name).
pub(crate) const ISSUE_TYPES: [(&str, &str); 2] = [("10004", "Bug"), ("10005", "Security")];
/// Priorities: (id, name); `Medium` is the default.
pub(crate) const PRIORITIES: [(&str, &str); 5] = [
    ("1", "Highest"),
    ("2", "High"),
    ("3", "Medium"),
    ("4", "Low"),
    ("5", "Lowest"),
];
/// "Penaxtra Finding ID", a single-line text field.
pub(crate) const FINDING_FIELD: &str = "customfield_10031";
/// "Framework references", multi-select or labels.
pub(crate) const FRAMEWORKS_FIELD: &str = "customfield_10032";
/// "Finding Severity", a single select (`{"value":"High"}`).
pub(crate) const SEVERITY_FIELD: &str = "customfield_10033";
/// The options of [`SEVERITY_FIELD`]: (id, value).
pub(crate) const SEVERITY_OPTIONS: [(&str, &str); 5] = [
    ("10200", "Critical"),
    ("10201", "High"),
    ("10202", "Medium"),
    ("10203", "Low"),
    ("10204", "Info"),
];
/// Id of the first option of the frameworks field.
const FIRST_OPTION_ID: u64 = 10100;

/// REST API version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApiVersion {
    V2,
    V3,
}

impl ApiVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiVersion::V2 => "2",
            ApiVersion::V3 => "3",
        }
    }
}

/// Who acts, through which API, and when.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub api: ApiVersion,
    pub account: &'static Account,
    pub now: DateTime<Utc>,
}

/// A change webhooks report.
#[derive(Debug, Clone)]
pub(crate) struct SimEvent {
    pub kind: WebhookEventKind,
    pub type_name: &'static str,
    pub actor: &'static Account,
    pub issue: SimIssue,
    pub changelog_id: Option<String>,
    pub items: Vec<ChangelogItem>,
    pub comment: Option<SimComment>,
    /// The comment webhook (`comment_created`, …) sent beside this event.
    pub comment_event: Option<WebhookEventKind>,
    pub at: DateTime<Utc>,
}

/// What the search index holds of one issue: Jira Cloud's search (and a
/// Data Center cluster's other nodes) sees a change only a while after it
/// was made.
#[derive(Debug, Clone)]
struct Indexed {
    /// From when search sees the issue's current version.
    current_from: DateTime<Utc>,
    /// Earlier versions search may still see, oldest first, each with the
    /// time from which search sees it. Only versions a search at a time not
    /// yet passed could need are kept.
    older: VecDeque<(DateTime<Utc>, SimIssue)>,
}

impl Indexed {
    /// The version search sees at `now`, if any.
    fn at<'a>(&'a self, current: &'a SimIssue, now: DateTime<Utc>) -> Option<&'a SimIssue> {
        if self.current_from <= now {
            return Some(current);
        }
        self.older
            .iter()
            .rev()
            .find(|(from, _)| *from <= now)
            .map(|(_, v)| v)
    }

    /// Forgets versions no search from `now` on can see.
    fn prune(&mut self, now: DateTime<Utc>) {
        if self.current_from <= now {
            self.older.clear();
            return;
        }
        while self.older.get(1).is_some_and(|(from, _)| *from <= now) {
            self.older.pop_front();
        }
    }
}

/// From when search sees a version written at `now` under `lag`; a zero lag
/// means at once, whatever the clock does.
fn visible_from(now: DateTime<Utc>, lag: Duration) -> DateTime<Utc> {
    if lag.is_zero() {
        return DateTime::<Utc>::MIN_UTC;
    }
    chrono::Duration::from_std(lag)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The world.
#[derive(Debug)]
pub(crate) struct World {
    pub flavor: Flavor,
    pub kind: FrameworksFieldKind,
    pub workflow: Workflow,
    issues: Vec<SimIssue>,
    /// The search index's view of `issues`, index for index.
    indexed: Vec<Indexed>,
    /// How long a change takes to reach search.
    search_lag: Duration,
    next_number: u64,
    next_id: u64,
    next_comment: u64,
    next_changelog: u64,
    /// Frameworks options: (id, value).
    pub options: Vec<(String, String)>,
    /// Whether a new frameworks value becomes a new option (an admin who
    /// keeps up) or is refused as Jira refuses it.
    pub options_grow: bool,
}

impl World {
    pub fn new(flavor: Flavor, kind: FrameworksFieldKind, workflow: Workflow) -> Self {
        Self {
            flavor,
            kind,
            workflow,
            issues: Vec::new(),
            indexed: Vec::new(),
            search_lag: Duration::ZERO,
            next_number: 1,
            next_id: 10000,
            next_comment: 10000,
            next_changelog: 10000,
            options: Vec::new(),
            options_grow: true,
        }
    }

    /// Fixes the frameworks options to `values` (ids from 10100): other
    /// values are refused with Jira's `Option value 'X' is not valid`.
    pub fn fix_options(&mut self, values: &[String]) {
        self.options = values
            .iter()
            .enumerate()
            .map(|(n, v)| ((FIRST_OPTION_ID + n as u64).to_string(), v.clone()))
            .collect();
        self.options_grow = false;
    }

    /// Back to the empty world (the search lag and fixed options stay).
    pub fn reset(&mut self) {
        let lag = self.search_lag;
        let fixed = (!self.options_grow).then(|| self.options.clone());
        *self = Self::new(self.flavor, self.kind, self.workflow.clone());
        self.search_lag = lag;
        if let Some(fixed) = fixed {
            self.options = fixed;
            self.options_grow = false;
        }
    }

    /// How long a change takes to reach search.
    pub fn search_lag(&self) -> Duration {
        self.search_lag
    }

    /// Sets the search lag for changes made from now on (changes already
    /// made reach search when the lag in force when they were made says).
    pub fn set_search_lag(&mut self, lag: Duration) {
        self.search_lag = lag;
    }

    /// Every issue as the search index sees it at `now`: the version written
    /// at least the search lag ago (deleted ones included, to be filtered
    /// like live ones), issues created less than the lag ago left out.
    /// Issues whose id is in `reconcile` are seen at their current version,
    /// as Jira Cloud's `reconcileIssues` asks.
    pub fn indexed<'a>(
        &'a self,
        now: DateTime<Utc>,
        reconcile: &'a [String],
    ) -> impl Iterator<Item = &'a SimIssue> + 'a {
        self.issues
            .iter()
            .zip(&self.indexed)
            .filter_map(move |(current, ix)| {
                if ix.current_from <= now || reconcile.contains(&current.id) {
                    Some(current)
                } else {
                    ix.at(current, now)
                }
            })
    }

    /// Replaces issue `i` with `issue`, a version written at `now`; search
    /// keeps seeing the one before until the lag has passed.
    fn commit(&mut self, i: usize, issue: SimIssue, now: DateTime<Utc>) {
        let old = std::mem::replace(&mut self.issues[i], issue);
        let from = visible_from(now, self.search_lag);
        let ix = &mut self.indexed[i];
        if from > now {
            let before = std::mem::replace(&mut ix.current_from, from);
            ix.older.push_back((before, old));
        } else {
            ix.current_from = from;
        }
        ix.prune(now);
    }

    /// Every issue, deleted ones included, in creation order.
    pub fn all(&self) -> &[SimIssue] {
        &self.issues
    }

    /// A live issue by key (any case) or id.
    pub fn find(&self, key_or_id: &str) -> Option<&SimIssue> {
        self.index(key_or_id).map(|i| &self.issues[i])
    }

    fn index(&self, key_or_id: &str) -> Option<usize> {
        self.issues.iter().position(|i| {
            !i.deleted && (i.key.eq_ignore_ascii_case(key_or_id) || i.id == key_or_id)
        })
    }

    /// Whether `key` names an issue of this world that exists now.
    pub fn key_exists(&self, key: &str) -> bool {
        self.issues
            .iter()
            .any(|i| !i.deleted && i.key.eq_ignore_ascii_case(key))
    }

    fn checker(&self, ctx: &Ctx, mode: Mode, project: &'static SimProject) -> Checker<'_> {
        Checker {
            project,
            api: ctx.api,
            flavor: self.flavor,
            kind: self.kind,
            options: &self.options,
            options_grow: self.options_grow,
            mode,
        }
    }

    /// Validates one create request without changing anything.
    fn check_create(&self, ctx: &Ctx, body: &Value) -> Result<Draft, ApiError> {
        let Some(obj) = body.as_object() else {
            return Err(ApiError::bad_json("the body must be a JSON object"));
        };
        let empty = Map::new();
        let fields = match obj.get("fields") {
            None => &empty,
            Some(Value::Object(f)) => f,
            Some(_) => return Err(ApiError::bad_json("\"fields\" must be an object")),
        };
        let project = fields.get("project").and_then(|p| {
            let by_key = p.get("key").and_then(Value::as_str);
            let by_id = p.get("id").and_then(Value::as_str);
            PROJECTS
                .iter()
                .find(|x| by_key == Some(x.key) || by_id == Some(x.id))
        });
        let Some(project) = project else {
            return Err(ApiError::field(
                "project",
                "Specify a valid project ID or key",
            ));
        };
        if !ctx.account.can_write {
            return Err(ApiError::message(
                403,
                "You do not have permission to create issues in this project.",
            ));
        }
        let update = match obj.get("update") {
            None => None,
            Some(Value::Object(u)) if u.is_empty() => None,
            Some(Value::Object(u)) => {
                let errors: BTreeMap<String, String> =
                    u.keys().map(|k| (k.clone(), cannot_set(k))).collect();
                return Err(ApiError::fields(errors));
            }
            Some(_) => return Err(ApiError::bad_json("\"update\" must be an object")),
        };
        let mut draft = self
            .checker(ctx, Mode::Create, project)
            .check(fields, update, None)?;
        draft.project = Some(project.key);
        Ok(draft)
    }

    /// Creates an issue.
    pub fn create(&mut self, ctx: &Ctx, body: &Value) -> Result<SimEvent, ApiError> {
        let draft = match self.check_create(ctx, body) {
            Ok(d) => d,
            Err(e) => {
                // Jira finds a too-long text only after it has taken the
                // issue's number: the next issue's key skips one
                // (JRACLOUD-78553). Keys are never promised contiguous.
                if e.is_content_limit() {
                    self.next_number += 1;
                    self.next_id += 1;
                }
                return Err(e);
            }
        };
        let initial = self
            .workflow
            .initial()
            .cloned()
            .ok_or_else(|| ApiError::message(500, "The workflow has no initial status."))?;
        let number = self.next_number;
        let id = self.next_id;
        self.next_number += 1;
        self.next_id += 1;
        let mut issue = SimIssue {
            id: id.to_string(),
            key: format!("{}-{number}", draft.project.unwrap_or(PROJECT_KEY)),
            project_key: draft.project.unwrap_or(PROJECT_KEY).into(),
            issue_type: draft.issue_type.clone().unwrap_or_else(|| "Bug".into()),
            summary: String::new(),
            description: None,
            labels: Vec::new(),
            custom_fields: BTreeMap::new(),
            priority: "Medium".into(),
            components: Vec::new(),
            assignee: None,
            due_date: None,
            status: initial.name.clone(),
            status_id: initial.id.clone(),
            status_category: initial.category.clone(),
            resolution: None,
            resolution_date: None,
            created: ctx.now,
            updated: ctx.now,
            creator: ctx.account.name.into(),
            deleted: false,
            comments: Vec::new(),
            history: Vec::new(),
        };
        self.apply(&mut issue, draft);
        self.issues.push(issue.clone());
        self.indexed.push(Indexed {
            current_from: visible_from(ctx.now, self.search_lag),
            older: VecDeque::new(),
        });
        Ok(self.event(
            ctx,
            WebhookEventKind::IssueCreated,
            "issue_created",
            issue,
            Vec::new(),
        ))
    }

    /// Creates each element it can; per element, the created issue's event
    /// or the element's error.
    pub fn bulk_create(&mut self, ctx: &Ctx, items: &[Value]) -> Vec<Result<SimEvent, ApiError>> {
        items.iter().map(|item| self.create(ctx, item)).collect()
    }

    /// Applies a validated draft, returning the changelog items.
    fn apply(&mut self, issue: &mut SimIssue, d: Draft) -> Vec<ChangelogItem> {
        let mut items = Vec::new();
        let text = |s: &Option<String>| s.clone().map(|v| (v.clone(), v));
        if let Some(t) = d.issue_type
            && t != issue.issue_type
        {
            items.push(item("issuetype", Some(&issue.issue_type), Some(&t)));
            issue.issue_type = t;
        }
        if let Some(s) = d.summary
            && s != issue.summary
        {
            items.push(item("summary", Some(&issue.summary), Some(&s)));
            issue.summary = s;
        }
        if let Some(desc) = d.description
            && desc != issue.description
        {
            let show = |v: &Option<Value>| v.as_ref().map(render::plain_description);
            items.push(item(
                "description",
                show(&issue.description).as_deref(),
                show(&desc).as_deref(),
            ));
            issue.description = desc;
        }
        if let Some(l) = d.labels
            && l != issue.labels
        {
            items.push(item(
                "labels",
                Some(&issue.labels.join(" ")),
                Some(&l.join(" ")),
            ));
            issue.labels = l;
        }
        if let Some(p) = d.priority
            && p != issue.priority
        {
            items.push(item("priority", Some(&issue.priority), Some(&p)));
            issue.priority = p;
        }
        if let Some(c) = d.components
            && c != issue.components
        {
            items.push(item(
                "Component",
                Some(&issue.components.join(", ")),
                Some(&c.join(", ")),
            ));
            issue.components = c;
        }
        if let Some(a) = d.assignee
            && a != issue.assignee
        {
            items.push(item("assignee", issue.assignee.as_deref(), a.as_deref()));
            issue.assignee = a;
        }
        if let Some(due) = d.due_date
            && due != issue.due_date
        {
            items.push(item("duedate", issue.due_date.as_deref(), due.as_deref()));
            issue.due_date = due;
        }
        if let Some(f) = d.finding_id {
            let old = issue.finding_id().map(str::to_string);
            if f != old {
                let mut it = ChangelogItem::new("Penaxtra Finding ID", text(&old), text(&f));
                it.fieldtype = "custom".into();
                it.field_id = Some(FINDING_FIELD.into());
                items.push(it);
                match f {
                    Some(v) => issue
                        .custom_fields
                        .insert(FINDING_FIELD.into(), Value::String(v)),
                    None => issue.custom_fields.remove(FINDING_FIELD),
                };
            }
        }
        if let Some(sev) = d.severity {
            let old = issue.severity().map(str::to_string);
            if sev != old {
                let mut it = ChangelogItem::new("Finding Severity", None, None);
                it.from_string = old;
                it.to_string = sev.clone();
                it.fieldtype = "custom".into();
                it.field_id = Some(SEVERITY_FIELD.into());
                items.push(it);
                let option = sev.as_ref().and_then(|v| {
                    SEVERITY_OPTIONS
                        .iter()
                        .find(|(_, o)| o == v)
                        .map(|(id, o)| json!({"value": o, "id": id}))
                });
                match option {
                    Some(o) => issue.custom_fields.insert(SEVERITY_FIELD.into(), o),
                    None => issue.custom_fields.remove(SEVERITY_FIELD),
                };
            }
        }
        if let Some(values) = d.frameworks {
            let old = issue.framework_values();
            if values != old {
                let stored = self.store_frameworks(&values);
                let mut it = ChangelogItem::new("Framework references", None, None);
                it.from_string = Some(old.join(","));
                it.to_string = Some(values.join(","));
                it.fieldtype = "custom".into();
                it.field_id = Some(FRAMEWORKS_FIELD.into());
                items.push(it);
                if values.is_empty() {
                    issue.custom_fields.remove(FRAMEWORKS_FIELD);
                } else {
                    issue.custom_fields.insert(FRAMEWORKS_FIELD.into(), stored);
                }
            }
        }
        items
    }

    /// The stored shape of framework values, creating options as needed.
    fn store_frameworks(&mut self, values: &[String]) -> Value {
        match self.kind {
            FrameworksFieldKind::Labels => json!(values),
            FrameworksFieldKind::MultiSelect => {
                let mut out = Vec::new();
                for v in values {
                    let id = match self.options.iter().find(|(_, ov)| ov == v) {
                        Some((id, _)) => id.clone(),
                        None => {
                            let id = (FIRST_OPTION_ID + self.options.len() as u64).to_string();
                            self.options.push((id.clone(), v.clone()));
                            id
                        }
                    };
                    out.push(json!({"value": v, "id": id}));
                }
                Value::Array(out)
            }
        }
    }

    fn event(
        &mut self,
        ctx: &Ctx,
        kind: WebhookEventKind,
        type_name: &'static str,
        issue: SimIssue,
        items: Vec<ChangelogItem>,
    ) -> SimEvent {
        let changelog_id = if items.is_empty() {
            None
        } else {
            self.next_changelog += 1;
            let id = self.next_changelog.to_string();
            // Kept for `expand=changelog` and `GET issue/{key}/changelog`.
            if let Some(live) = self.issues.iter_mut().find(|i| i.id == issue.id) {
                live.history.push(SimHistory {
                    id: id.clone(),
                    author: ctx.account.name.into(),
                    created: ctx.now,
                    items: items.clone(),
                });
            }
            Some(id)
        };
        SimEvent {
            kind,
            type_name,
            actor: ctx.account,
            issue,
            changelog_id,
            items,
            comment: None,
            comment_event: None,
            at: ctx.now,
        }
    }

    fn writable(&self, ctx: &Ctx, key: &str, denied: &str) -> Result<usize, ApiError> {
        let i = self.index(key).ok_or_else(ApiError::issue_not_found)?;
        if !ctx.account.can_write {
            return Err(ApiError::message(403, denied));
        }
        Ok(i)
    }

    /// Edits an issue; `None` when nothing changed.
    pub fn edit(
        &mut self,
        ctx: &Ctx,
        key: &str,
        body: &Value,
    ) -> Result<Option<SimEvent>, ApiError> {
        let i = self.writable(
            ctx,
            key,
            "You do not have permission to edit issues in this project.",
        )?;
        let Some(obj) = body.as_object() else {
            return Err(ApiError::bad_json("the body must be a JSON object"));
        };
        let empty = Map::new();
        let fields = match obj.get("fields") {
            None => &empty,
            Some(Value::Object(f)) => f,
            Some(_) => return Err(ApiError::bad_json("\"fields\" must be an object")),
        };
        let update = match obj.get("update") {
            None => None,
            Some(Value::Object(u)) => Some(u),
            Some(_) => return Err(ApiError::bad_json("\"update\" must be an object")),
        };
        let draft = self
            .checker(ctx, Mode::Edit, project_of(&self.issues[i]))
            .check(fields, update, Some(&self.issues[i]))?;
        let mut issue = self.issues[i].clone();
        let items = self.apply(&mut issue, draft);
        if items.is_empty() {
            return Ok(None);
        }
        issue.updated = ctx.now;
        self.commit(i, issue.clone(), ctx.now);
        Ok(Some(self.event(
            ctx,
            WebhookEventKind::IssueUpdated,
            "issue_updated",
            issue,
            items,
        )))
    }

    /// Deletes an issue.
    pub fn delete(&mut self, ctx: &Ctx, key: &str) -> Result<SimEvent, ApiError> {
        let i = self.writable(
            ctx,
            key,
            "You do not have permission to delete issues in this project.",
        )?;
        let mut issue = self.issues[i].clone();
        issue.deleted = true;
        self.commit(i, issue.clone(), ctx.now);
        Ok(self.event(
            ctx,
            WebhookEventKind::IssueDeleted,
            "issue_deleted",
            issue,
            Vec::new(),
        ))
    }

    /// Performs a transition.
    pub fn transition(
        &mut self,
        ctx: &Ctx,
        key: &str,
        body: &Value,
    ) -> Result<Vec<SimEvent>, ApiError> {
        let i = self.index(key).ok_or_else(ApiError::issue_not_found)?;
        if !ctx.account.can_write {
            return Err(ApiError::message(
                403,
                "You do not have permission to transition this issue.",
            ));
        }
        let Some(tid) = body.pointer("/transition/id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }) else {
            return Err(ApiError::message(400, "Missing 'transition' identifier"));
        };
        let current = &self.issues[i];
        let Some(t) = self
            .workflow
            .available(&current.status_id)
            .find(|t| t.id == tid)
            .cloned()
        else {
            return Err(ApiError::message(
                400,
                &format!("Transition id '{tid}' is not valid for this issue."),
            ));
        };
        let target = self
            .workflow
            .status(&t.to)
            .cloned()
            .ok_or_else(|| ApiError::message(500, "The workflow names an unknown status."))?;
        let mut errors = BTreeMap::new();
        let mut given = None;
        if let Some(fields) = body.get("fields") {
            let Some(fields) = fields.as_object() else {
                return Err(ApiError::bad_json("\"fields\" must be an object"));
            };
            for (id, v) in fields {
                if id == "resolution" && t.resolution_on_screen {
                    match fields::ref_name(v, &self.resolution_pairs()) {
                        Some(r) => given = Some(r),
                        None => {
                            errors.insert(
                                id.clone(),
                                "Could not find valid 'id' or 'name' in resolution object.".into(),
                            );
                        }
                    }
                } else {
                    errors.insert(id.clone(), cannot_set(id));
                }
            }
        }
        let done = target.category == StatusCategoryKey::Done;
        // A required screen field left out is a validator's message, in
        // `errorMessages` rather than `errors` (mozilla/jira-bugzilla-integration#294).
        let mut messages = Vec::new();
        if done
            && t.resolution_on_screen
            && t.resolution_required
            && given.is_none()
            && !errors.contains_key("resolution")
        {
            messages.push("Field Resolution is required.");
        }
        let mut comment = None;
        if let Some(update) = body.get("update").and_then(Value::as_object) {
            for (id, ops) in update {
                let add = (id == "comment")
                    .then(|| ops.as_array())
                    .flatten()
                    .and_then(|ops| ops.first())
                    .and_then(|op| op.get("add"));
                match add {
                    Some(add) => {
                        match self
                            .checker(ctx, Mode::Edit, &PROJECTS[0])
                            .comment_body(add.get("body"))
                        {
                            Ok(b) => comment = Some(b),
                            Err(e) => return Err(e),
                        }
                    }
                    None => {
                        errors.insert(id.clone(), cannot_set(id));
                    }
                }
            }
        }
        if !errors.is_empty() || !messages.is_empty() {
            return Err(ApiError::new(400, &messages, errors));
        }
        let resolution = if done {
            given.or_else(|| {
                self.workflow
                    .default_resolution(&target)
                    .map(|r| r.name.clone())
            })
        } else {
            None
        };
        let mut issue = self.issues[i].clone();
        let mut items = Vec::new();
        if resolution != issue.resolution {
            let pair = |name: &Option<String>| {
                name.as_ref().map(|n| {
                    let id = self
                        .workflow
                        .resolution(n)
                        .map_or_else(String::new, |r| r.id.clone());
                    (id, n.clone())
                })
            };
            items.push(ChangelogItem::new(
                "resolution",
                pair(&issue.resolution),
                pair(&resolution),
            ));
            issue.resolution_date = resolution.as_ref().map(|_| ctx.now);
            issue.resolution = resolution;
        }
        let from_category = issue.status_category.clone();
        items.push(ChangelogItem::new(
            "status",
            Some((issue.status_id.clone(), issue.status.clone())),
            Some((target.id.clone(), target.name.clone())),
        ));
        issue.status = target.name.clone();
        issue.status_id = target.id.clone();
        issue.status_category = target.category.clone();
        issue.updated = ctx.now;
        self.commit(i, issue.clone(), ctx.now);
        let type_name = match (&from_category, &target.category) {
            (StatusCategoryKey::Done, c) if *c != StatusCategoryKey::Done => "issue_reopened",
            (_, StatusCategoryKey::Done) => "issue_resolved",
            (_, StatusCategoryKey::Indeterminate) => "issue_work_started",
            (StatusCategoryKey::Indeterminate, StatusCategoryKey::New) => "issue_work_stopped",
            _ => "issue_generic",
        };
        let mut events =
            vec![self.event(ctx, WebhookEventKind::IssueUpdated, type_name, issue, items)];
        if let Some(body) = comment {
            events.push(self.add_comment(ctx, i, body, None));
        }
        Ok(events)
    }

    fn resolution_pairs(&self) -> Vec<(&str, &str)> {
        self.workflow
            .resolutions
            .iter()
            .map(|r| (r.id.as_str(), r.name.as_str()))
            .collect()
    }
}

fn item(field: &str, from: Option<&str>, to: Option<&str>) -> ChangelogItem {
    let mut it = ChangelogItem::new(field, None, None);
    it.from_string = from.map(str::to_string);
    it.to_string = to.map(str::to_string);
    it
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::ALL;
    use chrono::TimeZone;

    fn ctx(account: usize) -> Ctx {
        Ctx {
            api: ApiVersion::V2,
            account: &ALL[account],
            now: Utc.with_ymd_and_hms(2026, 1, 31, 10, 0, 0).unwrap(),
        }
    }

    fn world() -> World {
        World::new(
            Flavor::DataCenter,
            FrameworksFieldKind::MultiSelect,
            Workflow::default(),
        )
    }

    fn create(w: &mut World, summary: &str, frameworks: &[&str]) -> SimIssue {
        let fw: Vec<Value> = frameworks.iter().map(|f| json!({"value": f})).collect();
        w.create(
            &ctx(0),
            &json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},
            "summary":summary,"customfield_10032":fw}}),
        )
        .unwrap()
        .issue
    }

    #[test]
    fn create_numbers_and_grows_options() {
        let mut w = world();
        let a = create(&mut w, "a", &["A", "B"]);
        let b = create(&mut w, "b", &["B", "C"]);
        assert_eq!((a.key.as_str(), a.id.as_str()), ("SEC-1", "10000"));
        assert_eq!(b.key, "SEC-2");
        assert_eq!(w.options.len(), 3);
        assert_eq!(
            b.custom_fields[FRAMEWORKS_FIELD][0],
            json!({"value":"B","id":"10101"})
        );
        assert_eq!(a.status, "Open");
        assert_eq!(a.creator, "penaxtra-bot");
    }

    #[test]
    fn bad_create_changes_nothing() {
        let mut w = world();
        let before = w.options.clone();
        let r = w.create(
            &ctx(0),
            &json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},
            "summary":"s","labels":["a b"],"customfield_10032":[{"value":"NEW"}]}}),
        );
        assert_eq!(r.unwrap_err().status, 400);
        assert!(w.all().is_empty());
        assert_eq!(w.options, before);
        let r = w.create(
            &ctx(2),
            &json!({"fields":{"project":{"key":"SEC"},"issuetype":{"name":"Bug"},"summary":"s"}}),
        );
        assert_eq!(r.unwrap_err().status, 403);
        let r = w.create(&ctx(0), &json!({"fields":{"project":{"key":"NOPE"}}}));
        assert_eq!(
            r.unwrap_err().body["errors"]["project"],
            "Specify a valid project ID or key"
        );
        assert!(w.all().is_empty());
    }

    #[test]
    fn transitions_set_and_clear_resolution() {
        let mut w = world();
        let key = create(&mut w, "a", &[]).key;
        let err = w
            .transition(&ctx(0), &key, &json!({"transition":{"id":"31"}}))
            .unwrap_err();
        assert_eq!(
            err.body["errorMessages"],
            json!(["Field Resolution is required."])
        );
        assert_eq!(err.body["errors"], json!({}));
        let err = w
            .transition(&ctx(0), &key, &json!({"transition":{"id":"61"}}))
            .unwrap_err();
        assert!(
            err.body["errorMessages"][0]
                .as_str()
                .unwrap()
                .contains("not valid")
        );
        let ev = w
            .transition(
                &ctx(1),
                &key,
                &json!({"transition":{"id":"31"},"fields":{"resolution":{"name":"Won't Do"}}}),
            )
            .unwrap();
        let i = w.find(&key).unwrap();
        assert_eq!(
            (i.status.as_str(), i.resolution.as_deref()),
            ("Won't Do", Some("Won't Do"))
        );
        assert_eq!(ev[0].type_name, "issue_resolved");
        assert_eq!(ev[0].actor.name, "alex");
        assert!(
            ev[0]
                .items
                .iter()
                .any(|it| it.field == "resolution" && it.to.as_deref() == Some("10001"))
        );
        let ev = w
            .transition(&ctx(1), &key, &json!({"transition":{"id":"61"}}))
            .unwrap();
        let i = w.find(&key).unwrap();
        assert_eq!((i.status.as_str(), i.resolution.as_deref()), ("Open", None));
        assert_eq!(ev[0].type_name, "issue_reopened");
        let res = ev[0]
            .items
            .iter()
            .find(|it| it.field == "resolution")
            .unwrap();
        assert_eq!(
            (res.from.as_deref(), res.to.as_deref()),
            (Some("10001"), None)
        );
    }

    #[test]
    fn no_screen_means_post_function_resolution_and_field_refused() {
        let mut w = World::new(
            Flavor::Cloud,
            FrameworksFieldKind::Labels,
            Workflow::without_resolution_screen(),
        );
        let key = create_labels(&mut w);
        let err = w
            .transition(
                &ctx(0),
                &key,
                &json!({"transition":{"id":"41"},"fields":{"resolution":{"name":"Cancelled"}}}),
            )
            .unwrap_err();
        assert_eq!(err.body["errors"]["resolution"], cannot_set("resolution"));
        assert_eq!(w.find(&key).unwrap().status, "Open");
        w.transition(&ctx(0), &key, &json!({"transition":{"id":"41"}}))
            .unwrap();
        assert_eq!(
            w.find(&key).unwrap().resolution.as_deref(),
            Some("Cancelled")
        );
    }

    fn create_labels(w: &mut World) -> String {
        w.create(
            &ctx(0),
            &json!({"fields":{"project":{"id":"10000"},"issuetype":{"id":"10005"},
            "summary":"s","customfield_10032":["X"]}}),
        )
        .unwrap()
        .issue
        .key
    }

    fn at(w: &World, now: DateTime<Utc>) -> Vec<(String, String, bool)> {
        w.indexed(now, &[])
            .map(|i| (i.key.clone(), i.summary.clone(), i.deleted))
            .collect()
    }

    #[test]
    fn search_sees_versions_only_after_the_lag() {
        let mut w = world();
        w.set_search_lag(std::time::Duration::from_secs(10));
        let t0 = ctx(0).now;
        let secs = |s: i64| t0 + chrono::Duration::seconds(s);
        let key = create(&mut w, "a", &[]).key;
        assert!(at(&w, t0).is_empty(), "a create is not indexed at once");
        assert!(at(&w, secs(9)).is_empty());
        assert_eq!(at(&w, secs(10)), [(key.clone(), "a".into(), false)]);
        let mut later = ctx(0);
        later.now = secs(5);
        w.edit(&later, &key, &json!({"fields":{"summary":"b"}}))
            .unwrap();
        later.now = secs(7);
        w.edit(&later, &key, &json!({"fields":{"summary":"c"}}))
            .unwrap();
        assert_eq!(w.find(&key).unwrap().summary, "c", "the record is fresh");
        assert!(at(&w, secs(9)).is_empty());
        assert_eq!(at(&w, secs(14))[0].1, "a");
        assert_eq!(at(&w, secs(15))[0].1, "b");
        assert_eq!(at(&w, secs(17))[0].1, "c");
        let ids = [w.all()[0].id.clone()];
        let fresh: Vec<_> = w.indexed(t0, &ids).map(|i| i.summary.clone()).collect();
        assert_eq!(fresh, ["c"], "reconciled ids are read fresh");

        later.now = secs(30);
        w.delete(&later, &key).unwrap();
        assert_eq!(at(&w, secs(39)), [(key.clone(), "c".into(), false)]);
        assert!(at(&w, secs(40))[0].2, "the delete reaches search too");
    }

    #[test]
    fn old_versions_are_pruned_and_zero_lag_keeps_none() {
        let mut w = world();
        let key = create(&mut w, "a", &[]).key;
        let mut c = ctx(0);
        for n in 0..20 {
            c.now += chrono::Duration::seconds(1);
            w.edit(&c, &key, &json!({"fields":{"summary":format!("s{n}")}}))
                .unwrap();
        }
        assert!(w.indexed[0].older.is_empty());
        assert_eq!(at(&w, c.now - chrono::Duration::days(1))[0].1, "s19");
        w.set_search_lag(std::time::Duration::from_secs(3));
        for n in 0..20 {
            c.now += chrono::Duration::seconds(1);
            w.edit(&c, &key, &json!({"fields":{"summary":format!("t{n}")}}))
                .unwrap();
        }
        assert!(
            w.indexed[0].older.len() <= 3,
            "{:?}",
            w.indexed[0].older.len()
        );
        assert_eq!(at(&w, c.now)[0].1, "t16");
        w.reset();
        assert_eq!(w.search_lag(), std::time::Duration::from_secs(3));
    }

    #[test]
    fn edit_delete_comment() {
        let mut w = world();
        let key = create(&mut w, "a", &["A"]).key;
        assert!(
            w.edit(&ctx(0), &key, &json!({"fields":{"summary":"a"}}))
                .unwrap()
                .is_none()
        );
        let ev = w
            .edit(
                &ctx(0),
                &key,
                &json!({"fields":{"summary":"b"},"update":{"labels":[{"add":"x"}]}}),
            )
            .unwrap()
            .unwrap();
        assert_eq!(ev.items.len(), 2);
        assert_eq!(w.find(&key).unwrap().labels, ["x"]);
        assert_eq!(
            w.edit(&ctx(2), &key, &json!({"fields":{}}))
                .unwrap_err()
                .status,
            403
        );
        let ev = w.comment(&ctx(1), &key, &json!({"body":"hi"})).unwrap();
        assert_eq!(ev.comment_event, Some(WebhookEventKind::CommentCreated));
        assert_eq!(ev.type_name, "issue_commented");
        assert_eq!(
            w.comment(&ctx(1), &key, &json!({})).unwrap_err().status,
            400
        );
        w.delete(&ctx(0), &key).unwrap();
        assert!(w.find(&key).is_none());
        assert!(w.all()[0].deleted);
        assert_eq!(w.delete(&ctx(0), &key).unwrap_err().status, 404);
    }
}

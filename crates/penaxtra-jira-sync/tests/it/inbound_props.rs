//! Properties of webhook processing (the proptest twins of the fuzz
//! targets in `fuzz/`): arbitrary bodies, authentic or not, never panic the
//! gate or `Inbound::handle_webhook`, and a finding changes only for a
//! well-formed status event about its linked issue, to the state the state
//! table gives the new status.

use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{
    IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
};
use penaxtra_jira_sync::{Disposition, Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity, StateTable};
use proptest::prelude::*;
use secrecy::SecretString;
use serde_json::{Value, json};
use std::sync::Arc;

const URL_SECRET: &str = "props-url-secret-000000001";
const HMAC_SECRET: &str = "props-hmac-secret-00000001";
const SERVICE: &str = "5f5e1a0c0000000000000001";
const ALEX: &str = "5f5e1a0c0000000000000002";
const STATUSES: [&str; 8] = [
    "Open",
    "In Progress",
    "Done",
    "Won't Do",
    "Cancelled",
    "Reopened",
    "Blocked by legal",
    "",
];

fn gate() -> WebhookGate {
    WebhookGate::new(
        WebhookGateConfig::builder(IpAllowlist::allow_any(), SecretString::from(URL_SECRET))
            .hmac_secret(SecretString::from(HMAC_SECRET))
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A Jira-like event, well-formed or not in many small ways.
fn event() -> impl Strategy<Value = Value> {
    let kind = prop::sample::select(vec![
        "jira:issue_updated",
        "jira:issue_updated",
        "jira:issue_created",
        "jira:issue_deleted",
        "comment_created",
        "jira:worklog_updated",
        "weird",
    ]);
    let key = prop::sample::select(vec!["SEC-1", "SEC-1", "sec-1", "SEC-2", "OPS-1", "SEC", ""]);
    let status = (
        prop::sample::select(STATUSES.to_vec()),
        prop::sample::select(vec!["new", "indeterminate", "done", "undefined", "odd"]),
    );
    let item = (
        prop::sample::select(vec!["status", "resolution", "labels", "Status", "summary"]),
        prop::sample::select(STATUSES.to_vec()),
    );
    let user = prop::sample::select(vec![None, Some(ALEX), Some(SERVICE)]);
    (
        kind,
        key,
        status,
        prop::option::of(prop::sample::select(vec![
            "Done",
            "Won't Do",
            "Cancelled",
            "Cannot Reproduce",
            "",
        ])),
        prop::collection::vec(item, 0..3),
        user,
        prop::option::of(0i64..4_000_000_000_000),
        prop::option::of("[0-9]{1,6}"),
        0u8..8,
    )
        .prop_map(
            |(kind, key, (status, cat), resolution, items, user, ts, changelog, oddity)| {
                let items: Vec<Value> = items
                    .into_iter()
                    .map(|(field, to)| {
                        json!({"field": field, "fieldtype": "jira", "from": null,
                               "fromString": "Open", "to": "1", "toString": to})
                    })
                    .collect();
                let mut v = json!({
                    "webhookEvent": kind,
                    "issue": {"id": "10001", "key": key, "fields": {
                        "status": {"id": "1", "name": status,
                                   "statusCategory": {"id": 2, "key": cat, "name": cat}},
                        "resolution": resolution.map(|r| json!({"id": "1", "name": r})),
                    }},
                    "changelog": {"id": changelog, "items": items},
                });
                if let Some(u) = user {
                    v["user"] = json!({"accountId": u});
                }
                if let Some(ts) = ts {
                    v["timestamp"] = json!(ts);
                }
                // Shapes Jira never sends.
                match oddity {
                    0 => v["issue"] = json!(5),
                    1 => v["changelog"]["items"] = json!("status"),
                    2 => v["issue"]["fields"] = Value::Null,
                    3 => v["timestamp"] = json!("yesterday"),
                    _ => {}
                }
                v
            },
        )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => event().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        2 => (event(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(v, at, b)| {
            let mut bytes = serde_json::to_vec(&v).unwrap();
            let at = at.index(bytes.len());
            bytes[at] = b;
            bytes
        }),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// Whether a changelog item is about `field` (Jira's field names, in any
/// case: Data Center and older servers capitalise some).
fn is_field(item: &Value, field: &str) -> bool {
    item["field"]
        .as_str()
        .is_some_and(|f| f.eq_ignore_ascii_case(field))
}

/// What the state table says an event's issue is now, computed from the
/// raw JSON: the changelog's new status, else the status.
/// The latest webhook timestamp the receiver accepts now (a margin for
/// the time the check itself takes).
fn not_ahead_of() -> i64 {
    use penaxtra_jira_sync::Clock;
    let ahead = i64::try_from(penaxtra_jira_sync::MAX_EVENT_AHEAD.as_millis()).unwrap();
    penaxtra_jira_sync::SystemClock::new().now_ms() + ahead - 1_000
}

fn expected_state(v: &Value) -> Option<FindingState> {
    let items = v["changelog"]["items"].as_array()?;
    let status_item = items.iter().find(|i| is_field(i, "status"));
    let fields = &v["issue"]["fields"];
    let current = fields["status"]["name"].as_str().unwrap_or_default();
    let name = status_item
        .and_then(|i| i["toString"].as_str())
        .unwrap_or(current);
    let category = if name.eq_ignore_ascii_case(current) {
        jira_model::StatusCategoryKey::parse(
            fields["status"]["statusCategory"]["key"]
                .as_str()
                .unwrap_or_default(),
        )
    } else {
        jira_model::StatusCategoryKey::Undefined
    };
    StateTable::default().from_jira(name, fields["resolution"]["name"].as_str(), &category)
}

struct Case {
    host: Arc<MemoryFindings>,
    store: Arc<MemoryStore>,
    inbound: Inbound,
    link: Link,
}

async fn case() -> Case {
    let id = FindingId::new("fnd_props_1").unwrap();
    let host = Arc::new(MemoryFindings::with([Finding::new(
        id.clone(),
        "Prompt injection",
        Severity::High,
        FindingState::Open,
    )
    .unwrap()]));
    let store = Arc::new(MemoryStore::new());
    let link = Link::new(
        id,
        crate::support::key("SEC-1"),
        "10001",
        FindingState::Open,
        0,
    );
    store.insert_link(&link, None).await.unwrap();
    let inbound = Inbound::new(
        Arc::clone(&store) as Arc<dyn SyncStore>,
        Arc::clone(&host) as _,
        "SEC",
    )
    .policy(InboundPolicy::All)
    .service_account(Some(SERVICE.into()));
    Case {
        host,
        store,
        inbound,
        link,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The harness itself applies a well-formed event (so the properties below
/// are not vacuous) and drops the service account's own.
#[test]
fn the_harness_applies_a_well_formed_event_and_drops_echoes() {
    for (user, applied) in [(ALEX, true), (SERVICE, false)] {
        let c = runtime().block_on(case());
        let body = serde_json::to_vec(&json!({
            "webhookEvent": "jira:issue_updated", "timestamp": 5, "user": {"accountId": user},
            "issue": {"id": "10001", "key": "SEC-1", "fields": {
                "status": {"id": "3", "name": "Won't Do", "statusCategory": {"id": 3, "key": "done", "name": "Done"}},
                "resolution": {"id": "2", "name": "Won't Do"}}},
            "changelog": {"id": "9", "items": [{"field": "status", "fieldtype": "jira", "toString": "Won't Do"}]}
        }))
        .unwrap();
        let sig = format!(
            "sha256={}",
            sign_body(&SecretString::from(HMAC_SECRET), &body)
        );
        let headers = [("X-Hub-Signature", sig.as_bytes())];
        let request = WebhookRequest::new("198.51.100.7".parse().unwrap(), &body)
            .url_secret(Some(URL_SECRET))
            .headers(&headers);
        let verified = gate().check(&request).unwrap();
        let outcome = runtime().block_on(c.inbound.handle_webhook(&verified));
        assert_eq!(
            outcome.disposition == Disposition::Applied,
            applied,
            "{outcome:?}"
        );
        let state = c.host.get(&c.link.finding_id).unwrap().state;
        let want = if applied {
            FindingState::Accepted
        } else {
            FindingState::Open
        };
        assert_eq!(state, want);
        assert_eq!(
            expected_state(&serde_json::from_slice(&body).unwrap()),
            Some(FindingState::Accepted)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Authentic (signed) arbitrary bodies: processing never panics, and a
    /// change happens only for an update of the linked issue that names a
    /// status or resolution change by someone else, to the state its status
    /// means; every such event with a mapped status is applied.
    #[test]
    fn authentic_bodies_change_findings_only_for_linked_status_events(body in body()) {
        let c = runtime().block_on(case());
        let sig = format!("sha256={}", sign_body(&SecretString::from(HMAC_SECRET), &body));
        let headers = [("X-Hub-Signature", sig.as_bytes())];
        let request = WebhookRequest::new("198.51.100.7".parse().unwrap(), &body)
            .url_secret(Some(URL_SECRET))
            .headers(&headers);
        let Ok(verified) = gate().check(&request) else {
            // Refused (not JSON, not an event): nothing to process.
            prop_assert!(serde_json::from_slice::<Value>(&body)
                .map_or(true, |v| v.get("webhookEvent").and_then(Value::as_str).is_none_or(str::is_empty)
                    || serde_json::from_value::<jira_model::webhook::WebhookEvent>(v).is_err()));
            return Ok(());
        };
        let outcome = runtime().block_on(c.inbound.handle_webhook(&verified));
        let v: Value = serde_json::from_slice(&body).unwrap();
        let changes = c.host.changes();

        let items = v["changelog"]["items"].as_array().cloned().unwrap_or_default();
        let names_state = items.iter().any(|i| is_field(i, "status") || is_field(i, "resolution"));
        let well_formed = v["webhookEvent"] == "jira:issue_updated"
            // Issue keys ignore case, as in Jira: `sec-1` is the linked `SEC-1`.
            && v["issue"]["key"].as_str().is_some_and(|k| k.eq_ignore_ascii_case("SEC-1"))
            && names_state
            && v["user"]["accountId"] != SERVICE
            // Time is bounded: an event from further ahead than any clock
            // difference explains is refused.
            && v["timestamp"].as_i64().is_none_or(|t| t <= not_ahead_of());
        let wanted = expected_state(&v);
        if changes.is_empty() {
            prop_assert_ne!(outcome.disposition, Disposition::Applied);
            prop_assert!(
                !(well_formed && wanted.is_some_and(|s| s != FindingState::Open)),
                "a linked status event to {:?} was not applied: {:?}", wanted, outcome
            );
        } else {
            prop_assert_eq!(changes.len(), 1);
            prop_assert_eq!(outcome.disposition, Disposition::Applied);
            prop_assert!(well_formed, "applied {:?} from {}", outcome, v);
            prop_assert_eq!(Some(changes[0].1), wanted);
            prop_assert_eq!(c.host.get(&c.link.finding_id).unwrap().state, changes[0].1);
        }
    }

    /// Bodies without the right signature never reach processing, so they
    /// change nothing, however well-formed.
    #[test]
    fn unsigned_or_missigned_bodies_change_nothing(body in body(), sig in prop::option::of("sha256=[0-9a-f]{64}")) {
        let c = runtime().block_on(case());
        let headers: Vec<(&str, &[u8])> = sig.iter().map(|s| ("X-Hub-Signature", s.as_bytes())).collect();
        let request = WebhookRequest::new("198.51.100.7".parse().unwrap(), &body)
            .url_secret(Some(URL_SECRET))
            .headers(&headers);
        let decision = gate().check(&request);
        prop_assert_eq!(decision.as_ref().err().map(|r| r.status()), Some(401));
        prop_assert!(c.host.changes().is_empty());
        let link = runtime().block_on(c.store.link(&c.link.finding_id)).unwrap();
        prop_assert_eq!(link.as_ref(), Some(&c.link));
    }
}

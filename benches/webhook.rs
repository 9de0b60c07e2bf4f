//! The inbound webhook path per event: the gate (body size, source address
//! in the allowlist, URL secret, `X-Hub-Signature` HMAC), the typed parse
//! into `WebhookEvent`, and the mapping of the issue's status and
//! resolution through the state table, against the floor of
//! `serde_json::from_slice::<serde_json::Value>` of the same body.
//!
//! ```sh
//! cargo bench -p penaxtra-jira-sync --bench webhook -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! What happens after the mapping (duplicate marks in the sync store, the
//! host's finding update) depends on the host's store and is not included.
//! A forged delivery (wrong signature) is measured too: it must be turned
//! away before the body is parsed, so it costs less than the floor.

#[path = "support/paired.rs"]
mod paired;

use criterion::{BenchmarkId, Criterion, Throughput};
use jira_model::StatusCategoryKey;
use jira_model::webhook::WebhookEvent;
use penaxtra_jira_sync::webhook::{
    IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
};
use penaxtra_mapping::{FindingState, StateTable};
use secrecy::SecretString;
use std::hint::black_box;
use std::net::IpAddr;

const CLOUD_WONT_DO: &[u8] = include_bytes!(
    "../crates/penaxtra-jira-sync/tests/fixtures/webhooks/cloud_status_done_wont_do.json"
);
const DC_DONE: &[u8] =
    include_bytes!("../crates/penaxtra-jira-sync/tests/fixtures/webhooks/dc_status_done.json");
const ATLASSIAN_RANGES: &[u8] =
    include_bytes!("../crates/penaxtra-jira-sync/tests/fixtures/atlassian_ip_ranges.json");

// Bench-only secrets, of the length a deployment would generate.
const URL_SECRET: &str = "bench-url-secret-4b1d0c2e9f7a8635";
const HMAC_SECRET: &str = "bench-hmac-secret-0e5a9c3d71f2b846";

/// What the inbound path does after the gate: the finding state the event
/// asks for, by the changelog's new status (else the issue's), the issue's
/// resolution and, when the names agree, the status category, as the
/// library's inbound processing reads it.
fn map_event(states: &StateTable, event: &WebhookEvent) -> Option<FindingState> {
    let issue = event.issue.as_ref()?;
    let status = issue.fields.status.as_ref();
    let name = event
        .change_of("status")
        .and_then(|c| c.to_string.as_deref())
        .or(status.map(|s| s.name.as_str()))?;
    let category = status
        .filter(|s| s.name.eq_ignore_ascii_case(name))
        .map_or(StatusCategoryKey::Undefined, |s| s.category_key());
    let resolution = issue.fields.resolution.as_ref().map(|r| r.name.as_str());
    states.from_jira(name, resolution, &category)
}

/// Gate, parse, map: the whole per-event path.
fn handle(
    gate: &WebhookGate,
    states: &StateTable,
    request: &WebhookRequest<'_>,
) -> Option<FindingState> {
    match gate.check(request) {
        Ok(hook) => map_event(states, &hook.event),
        _ => None,
    }
}

struct Case {
    name: &'static str,
    body: &'static [u8],
    signature: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hmac = SecretString::from(HMAC_SECRET);
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(
            IpAllowlist::from_atlassian_ranges_json(ATLASSIAN_RANGES)?,
            URL_SECRET.into(),
        )
        .hmac_secret(HMAC_SECRET.into())
        .build()?,
    )?;
    let states = StateTable::default();
    let peer: IpAddr = "192.0.2.10".parse()?;
    let forged = format!("sha256={}", "0".repeat(64));

    let cases = [("cloud_wont_do", CLOUD_WONT_DO), ("dc_done", DC_DONE)].map(|(name, body)| Case {
        name,
        body,
        signature: format!("sha256={}", sign_body(&hmac, body)),
    });
    let headers_for = |sig: &str| -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("Content-Type", b"application/json".to_vec()),
            (
                "X-Atlassian-Webhook-Identifier",
                b"9b1f43c2-5d0e-4a37-bench".to_vec(),
            ),
            ("X-Hub-Signature", sig.as_bytes().to_vec()),
        ]
    };

    // Every case must pass the gate and map to a state; a forged one must not.
    for case in &cases {
        let owned = headers_for(&case.signature);
        let headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let request = WebhookRequest::new(peer, case.body)
            .url_secret(Some(URL_SECRET))
            .headers(&headers);
        let state = handle(&gate, &states, &request)
            .ok_or_else(|| format!("{}: the gate or the mapping refused the event", case.name))?;
        eprintln!(
            "webhook {}: {} bytes -> {}",
            case.name,
            case.body.len(),
            state.as_str()
        );
    }
    let forged_owned = headers_for(&forged);
    let forged_headers: Vec<(&str, &[u8])> = forged_owned
        .iter()
        .map(|(n, v)| (*n, v.as_slice()))
        .collect();
    let forged_request = WebhookRequest::new(peer, CLOUD_WONT_DO)
        .url_secret(Some(URL_SECRET))
        .headers(&forged_headers);
    if gate
        .check(&forged_request)
        .as_ref()
        .err()
        .map(|r| r.status())
        != Some(401)
    {
        return Err("a forged signature was not rejected with 401".into());
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("webhook");
    for case in &cases {
        let owned = headers_for(&case.signature);
        let headers: Vec<(&str, &[u8])> = owned.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        let request = WebhookRequest::new(peer, case.body)
            .url_secret(Some(URL_SECRET))
            .headers(&headers);
        group.throughput(Throughput::Bytes(case.body.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("gate_parse_map", case.name),
            &request,
            |b, r| b.iter(|| handle(&gate, &states, black_box(r))),
        );
        group.bench_with_input(
            BenchmarkId::new("floor_from_slice_value", case.name),
            case.body,
            |b, body| b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(body))),
        );
    }
    group.throughput(Throughput::Bytes(CLOUD_WONT_DO.len() as u64));
    group.bench_function("rejected_forged_signature/cloud_wont_do", |b| {
        b.iter(|| gate.check(black_box(&forged_request)))
    });
    group.finish();
    c.final_summary();

    if paired::bench_mode() {
        for case in &cases {
            let label = format!("webhook/gate_parse_map/{}", case.name);
            if !paired::selected(&label) {
                continue;
            }
            let owned = headers_for(&case.signature);
            let headers: Vec<(&str, &[u8])> =
                owned.iter().map(|(n, v)| (*n, v.as_slice())).collect();
            let request = WebhookRequest::new(peer, case.body)
                .url_secret(Some(URL_SECRET))
                .headers(&headers);
            let m = paired::measure(
                || handle(&gate, &states, black_box(&request)),
                || serde_json::from_slice::<serde_json::Value>(black_box(case.body)),
            );
            paired::report(&label, "from_slice::<Value>", &m);
        }
        let label = "webhook/rejected_forged_signature/cloud_wont_do";
        if paired::selected(label) {
            let m = paired::measure(
                || gate.check(black_box(&forged_request)),
                || serde_json::from_slice::<serde_json::Value>(black_box(CLOUD_WONT_DO)),
            );
            paired::report(label, "from_slice::<Value>", &m);
        }
    }
    Ok(())
}

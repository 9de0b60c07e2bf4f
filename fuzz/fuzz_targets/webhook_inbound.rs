//! Processing of authentic (signed) arbitrary bodies: `Inbound` never
//! panics, and the linked finding changes only when the outcome says it
//! was applied, to the state the outcome names.

#![no_main]

use libfuzzer_sys::fuzz_target;
use penaxtra_jira_sync::store::{Link, MemoryStore, SyncStore};
use penaxtra_jira_sync::webhook::{
    IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
};
use penaxtra_jira_sync::{Disposition, Inbound, MemoryFindings};
use penaxtra_mapping::{Finding, FindingId, FindingState, InboundPolicy, Severity};
use secrecy::SecretString;
use std::sync::Arc;

const URL_SECRET: &str = "fuzz-url-secret-0123456789";
const HMAC_SECRET: &str = "fuzz-hmac-secret-0123456789";

fuzz_target!(|body: &[u8]| {
    let gate = WebhookGate::new(
        WebhookGateConfig::builder(IpAllowlist::allow_any(), SecretString::from(URL_SECRET))
            .hmac_secret(SecretString::from(HMAC_SECRET))
            .build()
            .expect("valid configuration"),
    )
    .expect("valid gate");
    let sig = format!(
        "sha256={}",
        sign_body(&SecretString::from(HMAC_SECRET), body)
    );
    let headers: [(&str, &[u8]); 2] = [
        ("X-Hub-Signature", sig.as_bytes()),
        ("X-Atlassian-Webhook-Identifier", b"fuzz-delivery"),
    ];
    let request = WebhookRequest::new("198.51.100.1".parse().expect("an address"), body)
        .url_secret(Some(URL_SECRET))
        .headers(&headers);
    let Some(verified) = gate.check(&request).ok() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let id = FindingId::new("fnd_fuzz_1").expect("valid id");
        let finding = Finding::new(id.clone(), "Fuzzed", Severity::High, FindingState::Open)
            .expect("valid finding");
        let host = Arc::new(MemoryFindings::with([finding]));
        let store = Arc::new(MemoryStore::new());
        store
            .insert_link(
                &Link::new(
                    id.clone(),
                    jira_model::IssueKey::new("SEC-1").expect("a valid key"),
                    "10001",
                    FindingState::Open,
                    0,
                ),
                None,
            )
            .await
            .expect("memory store");
        let inbound = Inbound::new(
            store.clone() as Arc<dyn SyncStore>,
            host.clone() as _,
            "SEC",
        )
        .policy(InboundPolicy::All);
        let outcome = inbound.handle_webhook(&verified).await;
        let changes = host.changes();
        if outcome.disposition == Disposition::Applied {
            assert_eq!(changes.len(), 1);
            assert_eq!(Some(changes[0].1), outcome.to);
            assert_eq!(outcome.issue.as_ref().map(|k| k.as_str()), Some("SEC-1"));
        } else {
            assert!(changes.is_empty(), "changed without applying: {outcome:?}");
        }
        // The same delivery again never applies twice.
        let again = inbound.handle_webhook(&verified).await;
        assert_ne!(again.disposition, Disposition::Applied);
    });
});

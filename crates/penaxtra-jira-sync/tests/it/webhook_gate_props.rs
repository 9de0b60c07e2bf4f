//! Properties of the gate: arbitrary requests never panic, the decision
//! always follows the documented order, and nothing is accepted without the
//! right URL secret and signature.

// Test helpers panic on broken fixtures, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::log_capture::capture_logs;
use crate::webhook_gate::{
    HMAC_SECRET, OLD_HMAC_SECRET, OLD_URL_SECRET, URL_SECRET, gate, ip, signature, webhook,
};
use jira_model::webhook::WebhookEvent;
use penaxtra_jira_sync::webhook::{RejectReason, WebhookRequest};
use proptest::prelude::*;

const FIXTURES: [&str; 6] = [
    "cloud_status_done_wont_do.json",
    "cloud_reopened_resolution_cleared.json",
    "comment_created.json",
    "dc_status_in_progress.json",
    "server_legacy_resolved.json",
    "cloud_issue_deleted.json",
];

/// How the URL secret is presented.
#[derive(Debug, Clone)]
enum SecretChoice {
    Missing,
    Current,
    Retiring,
    Other(String),
}

/// How the body is signed.
#[derive(Debug, Clone)]
enum SigChoice {
    Missing,
    Current,
    Retiring,
    CurrentUpperHex,
    OtherBody,
    Raw(Vec<u8>),
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        (0..FIXTURES.len()).prop_map(|i| webhook(FIXTURES[i])),
        (0..FIXTURES.len(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, at, b)| {
            let mut body = webhook(FIXTURES[i]);
            let at = at.index(body.len());
            body[at] = b;
            body
        }),
        "\\{\"webhookEvent\":\"[a-z:_]{0,20}\"(,\"issue\":\\{\"key\":\"[A-Z]{1,3}-[0-9]{1,3}\"\\})?\\}"
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 64 * 1024 - 2..64 * 1024 + 3),
    ]
}

fn secret_strategy() -> impl Strategy<Value = SecretChoice> {
    prop_oneof![
        Just(SecretChoice::Missing),
        Just(SecretChoice::Current),
        Just(SecretChoice::Retiring),
        ".{0,40}".prop_map(SecretChoice::Other),
    ]
}

fn sig_strategy() -> impl Strategy<Value = SigChoice> {
    prop_oneof![
        Just(SigChoice::Missing),
        Just(SigChoice::Current),
        Just(SigChoice::Retiring),
        Just(SigChoice::CurrentUpperHex),
        Just(SigChoice::OtherBody),
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(SigChoice::Raw),
        "sha256=[0-9a-fA-F]{64}".prop_map(|s| SigChoice::Raw(s.into_bytes())),
    ]
}

fn peer_strategy() -> impl Strategy<Value = (String, Option<String>)> {
    prop_oneof![
        Just(("192.0.2.44".to_string(), None)),
        Just(("2001:db8::44".to_string(), None)),
        Just(("203.0.113.44".to_string(), None)),
        Just(("10.1.2.3".to_string(), Some("192.0.2.45".to_string()))),
        Just((
            "10.1.2.3".to_string(),
            Some("192.0.2.45, 203.0.113.1".to_string())
        )),
        ".{0,30}".prop_map(|xff| ("10.1.2.3".to_string(), Some(xff))),
        ".{0,30}".prop_map(|xff| ("203.0.113.44".to_string(), Some(xff))),
    ]
}

fn headers_strategy() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        "[A-Za-z-]{1,24}",
        Just("X-Atlassian-Webhook-Identifier".to_string()),
        Just("X-Atlassian-Webhook-Retry".to_string()),
        Just("x-forwarded-for".to_string()),
    ];
    proptest::collection::vec((name, proptest::collection::vec(any::<u8>(), 0..40)), 0..5)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    /// The decision equals a model of the documented order, and acceptance
    /// implies the exact URL secret and a valid signature.
    #[test]
    fn decision_follows_the_model(
        signed in any::<bool>(),
        (peer, xff) in peer_strategy(),
        secret in secret_strategy(),
        sig in sig_strategy(),
        body in body_strategy(),
        extra in headers_strategy(),
    ) {
        let gate = gate(signed);
        let secret_value: Option<String> = match &secret {
            SecretChoice::Missing => None,
            SecretChoice::Current => Some(URL_SECRET.into()),
            SecretChoice::Retiring => Some(OLD_URL_SECRET.into()),
            SecretChoice::Other(s) => Some(s.clone()),
        };
        let sig_value: Option<Vec<u8>> = match &sig {
            SigChoice::Missing => None,
            SigChoice::Current => Some(signature(HMAC_SECRET, &body).into_bytes()),
            SigChoice::Retiring => Some(signature(OLD_HMAC_SECRET, &body).into_bytes()),
            SigChoice::CurrentUpperHex => Some(signature(HMAC_SECRET, &body).to_uppercase().into_bytes()),
            SigChoice::OtherBody => Some(signature(HMAC_SECRET, b"another body").into_bytes()),
            SigChoice::Raw(raw) => Some(raw.clone()),
        };
        let mut headers: Vec<(&str, &[u8])> =
            extra.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        if let Some(s) = &sig_value {
            headers.push(("X-Hub-Signature", s));
        }
        let request = WebhookRequest::new(ip(&peer), &body)
            .forwarded_for(xff.as_deref())
            .url_secret(secret_value.as_deref())
            .headers(&headers);
        let decision = gate.check(&request);

        // The model, written independently of the gate's code.
        let source = if !peer.starts_with("10.") {
            Some(ip(&peer)) // not a trusted proxy: X-Forwarded-For is ignored
        } else {
            match xff.as_deref() {
                Some("192.0.2.45") => Some(ip("192.0.2.45")),
                Some("192.0.2.45, 203.0.113.1") => Some(ip("203.0.113.1")),
                _ => None, // derived from a random header
            }
        };
        let secret_ok = matches!(secret_value.as_deref(), Some(URL_SECRET | OLD_URL_SECRET));
        let sig_ok = !signed || {
            let good: Vec<String> = [HMAC_SECRET, OLD_HMAC_SECRET]
                .iter()
                .map(|s| signature(s, &body).to_lowercase())
                .collect();
            let mut sigs = request.header_values("x-hub-signature");
            let first = sigs.next();
            sigs.next().is_none()
                && first
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .is_some_and(|v| {
                        let v = v.trim_matches(|c: char| c.is_ascii_whitespace());
                        good.contains(&v.to_lowercase())
                    })
        };

        if body.len() > 64 * 1024 {
            prop_assert_eq!(decision.as_ref().err().map(|r| r.reason()), Some(RejectReason::BodyTooLarge));
            return Ok(());
        }
        match source {
            Some(addr) if !allowed(addr) => {
                prop_assert_eq!(decision.as_ref().err().map(|r| r.reason()), Some(RejectReason::IpNotAllowed));
                return Ok(());
            }
            Some(_) => {}
            None => {
                // A random X-Forwarded-For: whatever it resolves to, an
                // accepted request must come from an allowed address.
                if let Ok(v) = &decision {
                    prop_assert!(allowed(v.source_ip));
                }
                if matches!(
                    decision.as_ref().err().map(|r| r.reason()),
                    Some(RejectReason::IpNotAllowed | RejectReason::NoClientAddress)
                ) {
                    return Ok(());
                }
            }
        }
        if !secret_ok {
            prop_assert_eq!(decision.as_ref().err().map(|r| r.reason()), Some(RejectReason::UrlSecretInvalid));
            return Ok(());
        }
        if !sig_ok {
            prop_assert_eq!(decision.as_ref().err().map(|r| r.reason()), Some(RejectReason::SignatureInvalid));
            return Ok(());
        }
        // Valid JSON (UTF-8 throughout: serde would skip invalid UTF-8 in
        // ignored fields), a non-empty event name, and Jira's shape.
        let json = serde_json::from_slice::<serde_json::Value>(&body).ok();
        let named = json
            .as_ref()
            .and_then(|v| v.get("webhookEvent"))
            .and_then(|n| n.as_str())
            .is_some_and(|n| !n.is_empty());
        let event = WebhookEvent::parse(&body).ok().filter(|_| named && json.is_some());
        match (&decision, event) {
            (Ok(v), Some(event)) => prop_assert_eq!(&v.event, &event),
            (Err(r), None) => {
                let expected = if json.is_some() { RejectReason::NotJiraEvent } else { RejectReason::NotJson };
                prop_assert_eq!(r.reason(), expected);
                prop_assert_eq!(r.status(), 400);
            }
            (d, event) => prop_assert!(false, "gate {:?} but expected event {:?}", d, event.is_some()),
        }
    }

    /// Whatever is sent, the logs never carry a configured secret.
    #[test]
    fn logs_never_carry_secrets(
        secret in secret_strategy(),
        sig in sig_strategy(),
        body in body_strategy(),
    ) {
        let gate = gate(true);
        let secret_value = match secret {
            SecretChoice::Missing => None,
            SecretChoice::Current => Some(URL_SECRET.to_string()),
            SecretChoice::Retiring => Some(OLD_URL_SECRET.to_string()),
            SecretChoice::Other(s) => Some(s),
        };
        let sig_value = match sig {
            SigChoice::Raw(raw) => raw,
            _ => signature(HMAC_SECRET, &body).into_bytes(),
        };
        let headers: [(&str, &[u8]); 1] = [("X-Hub-Signature", &sig_value)];
        let logs = capture_logs(|| {
            let _ = gate.check(
                &WebhookRequest::new(ip("192.0.2.1"), &body)
                    .url_secret(secret_value.as_deref())
                    .headers(&headers),
            );
        });
        for s in [URL_SECRET, OLD_URL_SECRET, HMAC_SECRET, OLD_HMAC_SECRET] {
            prop_assert!(!logs.contains(s));
        }
        prop_assert!(!logs.is_empty());
    }
}

fn allowed(addr: std::net::IpAddr) -> bool {
    let addr = addr.to_canonical();
    ["192.0.2.0/24", "2001:db8::/32"]
        .iter()
        .any(|n| n.parse::<ipnet::IpNet>().is_ok_and(|n| n.contains(&addr)))
}

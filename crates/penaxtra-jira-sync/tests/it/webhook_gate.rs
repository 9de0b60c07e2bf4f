//! The webhook gate end to end: real-shaped payloads, the rejection matrix
//! in order, allowlists, proxies, rotation, signatures and redaction.

// Test helpers panic on broken fixtures, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::log_capture::capture_logs;
use jira_model::webhook::WebhookEventKind;
use penaxtra_jira_sync::webhook::{
    GateConfigError, GateDecision, IpAllowlist, RejectReason, SecretKind, VerifiedWebhook,
    WebhookGate, WebhookGateConfig, WebhookRequest, extract_url_secret, sign_body,
};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::path::PathBuf;

pub(crate) const URL_SECRET: &str = "url-secret-current-7f3a9c";
pub(crate) const OLD_URL_SECRET: &str = "url-secret-retiring-1b22e0";
pub(crate) const HMAC_SECRET: &str = "hmac-secret-current-55d1e8";
pub(crate) const OLD_HMAC_SECRET: &str = "hmac-secret-retiring-0c94ab";

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub(crate) fn webhook(name: &str) -> Vec<u8> {
    fixture(&format!("webhooks/{name}"))
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub(crate) fn allowlist() -> IpAllowlist {
    IpAllowlist::from_cidrs(["192.0.2.0/24", "2001:db8::/32"]).unwrap()
}

/// A gate with both URL secrets and, when `signed`, both signing secrets.
pub(crate) fn gate(signed: bool) -> WebhookGate {
    let mut b = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .url_secret(OLD_URL_SECRET.into())
        .trusted_proxy("10.0.0.0/8".parse().unwrap())
        .max_body_bytes(64 * 1024);
    if signed {
        b = b
            .hmac_secret(HMAC_SECRET.into())
            .hmac_secret(OLD_HMAC_SECRET.into());
    } else {
        b = b.unsigned();
    }
    WebhookGate::new(b.build().unwrap()).unwrap()
}

pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", sign_body(&SecretString::from(secret), body))
}

/// Sends `body` from `peer` with `secret` and optional signature header.
fn send(
    gate: &WebhookGate,
    peer: &str,
    secret: Option<&str>,
    sig: Option<&str>,
    body: &[u8],
) -> GateDecision {
    let mut headers: Vec<(&str, &[u8])> = vec![
        ("Content-Type", b"application/json".as_slice()),
        (
            "X-Atlassian-Webhook-Identifier",
            b"4f1c2a77-delivery".as_slice(),
        ),
    ];
    if let Some(sig) = sig {
        headers.push(("X-Hub-Signature", sig.as_bytes()));
    }
    gate.check(
        &WebhookRequest::new(ip(peer), body)
            .url_secret(secret)
            .headers(&headers),
    )
}

/// name, peer, URL secret, signature header, body, expected reason.
type Case<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a [u8],
    RejectReason,
);

fn accepted(d: GateDecision) -> VerifiedWebhook {
    match d {
        Ok(v) => v,
        other => panic!("expected acceptance, got {other:?}"),
    }
}

fn reason(d: &GateDecision) -> RejectReason {
    d.as_ref()
        .err()
        .unwrap_or_else(|| panic!("expected a rejection, got {d:?}"))
        .reason()
}

#[test]
fn real_shaped_payloads_of_every_flavour_are_accepted_and_parsed() {
    let gate = gate(true);
    let check = |name: &str| {
        let body = webhook(name);
        accepted(send(
            &gate,
            "192.0.2.10",
            Some(URL_SECRET),
            Some(&signature(HMAC_SECRET, &body)),
            &body,
        ))
    };

    let cloud = check("cloud_status_done_wont_do.json");
    assert_eq!(cloud.delivery_id.as_deref(), Some("4f1c2a77-delivery"));
    assert_eq!(cloud.source_ip, ip("192.0.2.10"));
    assert_eq!(
        (cloud.url_secret_slot, cloud.hmac_secret_slot),
        (0, Some(0))
    );
    let e = &cloud.event;
    assert_eq!(e.webhook_event, WebhookEventKind::IssueUpdated);
    assert_eq!(e.issue_event_type_name.as_deref(), Some("issue_generic"));
    assert_eq!(
        e.user.as_ref().unwrap().identity(),
        Some("5b10ac8d82e05b22cc7d4ef5")
    );
    let issue = e.issue.as_ref().unwrap();
    assert_eq!(issue.key, "SEC-42");
    assert_eq!(issue.fields.resolution.as_ref().unwrap().name, "Won't Do");
    assert_eq!(e.changelog.as_ref().unwrap().id.as_deref(), Some("10234"));
    assert_eq!(
        e.change_of("status").unwrap().to_string.as_deref(),
        Some("Done")
    );
    assert_eq!(e.change_of("resolution").unwrap().from, None);
    assert_eq!(e.items()[0].field_id.as_deref(), Some("resolution"));

    let reopened = check("cloud_reopened_resolution_cleared.json").event;
    assert_eq!(reopened.change_of("resolution").unwrap().to, None);
    assert_eq!(reopened.issue.unwrap().fields.resolution, None);

    let labels = check("cloud_labels_only.json").event;
    assert!(labels.change_of("status").is_none() && labels.change_of("resolution").is_none());

    let deleted = check("cloud_issue_deleted.json").event;
    assert_eq!(deleted.webhook_event, WebhookEventKind::IssueDeleted);
    assert!(deleted.items().is_empty());

    let other = check("cloud_other_project.json").event;
    assert_eq!(other.issue.unwrap().key, "OPS-7");

    let cancelled = check("cloud_status_cancelled.json").event;
    assert_eq!(
        cancelled.change_of("status").unwrap().to.as_deref(),
        Some("10003")
    );

    let comment = check("comment_created.json").event;
    assert!(comment.webhook_event.is_comment());
    assert!(comment.changelog.is_none() && comment.comment.is_some());

    let dc = check("dc_status_in_progress.json").event;
    assert_eq!(
        dc.issue_event_type_name.as_deref(),
        Some("issue_work_started")
    );
    assert_eq!(dc.user.as_ref().unwrap().identity(), Some("JIRAUSER10100"));
    let item = dc.change_of("status").unwrap();
    assert_eq!(item.field_id, None);
    assert_eq!(
        (item.from.as_deref(), item.to_string.as_deref()),
        (Some("1"), Some("In Progress"))
    );

    let dc_done = check("dc_status_done.json").event;
    assert_eq!(
        dc_done
            .change_of("resolution")
            .unwrap()
            .to_string
            .as_deref(),
        Some("Done")
    );

    let legacy = check("server_legacy_resolved.json").event;
    assert_eq!(legacy.issue_event_type_name, None);
    assert_eq!(
        legacy.changelog.as_ref().unwrap().id.as_deref(),
        Some("10700")
    );
    assert_eq!(
        legacy.change_of("status").unwrap().from.as_deref(),
        Some("3")
    );
    assert_eq!(legacy.user.unwrap().identity(), Some("admin"));
}

#[test]
fn rejection_matrix_follows_the_check_order() {
    let gate = gate(true);
    let good = webhook("cloud_status_done_wont_do.json");
    let good_sig = signature(HMAC_SECRET, &good);
    let huge = vec![b' '; 64 * 1024 + 1];
    let huge_sig = signature(HMAC_SECRET, &huge);
    let not_json = b"<html>hello</html>".to_vec();
    let not_json_sig = signature(HMAC_SECRET, &not_json);
    let no_event = br#"{"issue":{"key":"SEC-1"}}"#.to_vec();
    let no_event_sig = signature(HMAC_SECRET, &no_event);
    let array = br#"[{"webhookEvent":"jira:issue_updated"}]"#.to_vec();
    let array_sig = signature(HMAC_SECRET, &array);
    let bad_shape = br#"{"webhookEvent":"jira:issue_updated","issue":5}"#.to_vec();
    let bad_shape_sig = signature(HMAC_SECRET, &bad_shape);
    let empty_event = br#"{"webhookEvent":""}"#.to_vec();
    let empty_event_sig = signature(HMAC_SECRET, &empty_event);

    use RejectReason::*;
    let cases: Vec<Case<'_>> = vec![
        // Size comes first, whatever else is wrong.
        (
            "too large from a bad IP without secret",
            "203.0.113.1",
            None,
            None,
            &huge[..],
            BodyTooLarge,
        ),
        (
            "too large, otherwise perfect",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(huge_sig.as_str()),
            &huge[..],
            BodyTooLarge,
        ),
        // Then the source address.
        (
            "bad IP with good secret and signature",
            "203.0.113.1",
            Some(URL_SECRET),
            Some(good_sig.as_str()),
            &good[..],
            IpNotAllowed,
        ),
        (
            "bad IP, nothing else",
            "198.51.100.7",
            None,
            None,
            &b"x"[..],
            IpNotAllowed,
        ),
        // Then the URL secret: missing and wrong answer alike.
        (
            "missing secret",
            "192.0.2.1",
            None,
            Some(good_sig.as_str()),
            &good[..],
            UrlSecretInvalid,
        ),
        (
            "wrong secret",
            "192.0.2.1",
            Some("url-secret-current-7f3a9d"),
            Some(good_sig.as_str()),
            &good[..],
            UrlSecretInvalid,
        ),
        (
            "empty secret",
            "192.0.2.1",
            Some(""),
            Some(good_sig.as_str()),
            &good[..],
            UrlSecretInvalid,
        ),
        (
            "secret prefix",
            "192.0.2.1",
            Some("url-secret-current"),
            Some(good_sig.as_str()),
            &good[..],
            UrlSecretInvalid,
        ),
        (
            "wrong secret, no signature, not JSON",
            "192.0.2.1",
            Some("nope"),
            None,
            &not_json[..],
            UrlSecretInvalid,
        ),
        // Then the signature.
        (
            "missing signature",
            "192.0.2.1",
            Some(URL_SECRET),
            None,
            &good[..],
            SignatureInvalid,
        ),
        (
            "missing signature on non-JSON",
            "192.0.2.1",
            Some(URL_SECRET),
            None,
            &not_json[..],
            SignatureInvalid,
        ),
        (
            "signature of another body",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(not_json_sig.as_str()),
            &good[..],
            SignatureInvalid,
        ),
        (
            "signature without algorithm",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&good_sig[7..]),
            &good[..],
            SignatureInvalid,
        ),
        // Then the body.
        (
            "not JSON",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(not_json_sig.as_str()),
            &not_json[..],
            NotJson,
        ),
        (
            "no webhookEvent",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(no_event_sig.as_str()),
            &no_event[..],
            NotJiraEvent,
        ),
        (
            "JSON array",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(array_sig.as_str()),
            &array[..],
            NotJiraEvent,
        ),
        (
            "wrong issue shape",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(bad_shape_sig.as_str()),
            &bad_shape[..],
            NotJiraEvent,
        ),
        (
            "empty event name",
            "192.0.2.1",
            Some(URL_SECRET),
            Some(empty_event_sig.as_str()),
            &empty_event[..],
            NotJiraEvent,
        ),
    ];
    for (name, peer, secret, sig, body, expected) in cases {
        let d = send(&gate, peer, secret, sig, body);
        let r = d
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        assert_eq!(r.reason(), expected, "{name}");
        assert_eq!(r.status(), expected.status(), "{name}");
        assert_eq!(r.code(), expected.code(), "{name}");
    }

    let statuses = [
        (BodyTooLarge, 413, "body_too_large"),
        (IpNotAllowed, 403, "ip_not_allowed"),
        (NoClientAddress, 403, "no_client_address"),
        (UrlSecretInvalid, 401, "url_secret_invalid"),
        (SignatureInvalid, 401, "signature_invalid"),
        (NotJson, 400, "not_json"),
        (NotJiraEvent, 400, "not_jira_event"),
    ];
    for (r, status, code) in statuses {
        assert_eq!((r.status(), r.code()), (status, code));
    }

    // Missing and wrong secrets give identical rejections.
    let missing = send(&gate, "192.0.2.1", None, Some(&good_sig), &good);
    let wrong = send(
        &gate,
        "192.0.2.1",
        Some("guess-guess-guess-guess"),
        Some(&good_sig),
        &good,
    );
    assert_eq!(missing, wrong);
    assert_eq!(
        missing.as_ref().err().unwrap().to_string(),
        wrong.as_ref().err().unwrap().to_string()
    );
}

#[test]
fn body_limit_is_inclusive() {
    let body = webhook("dc_status_done.json");
    let at_limit = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .max_body_bytes(body.len())
        .unsigned()
        .build()
        .unwrap();
    let gate = WebhookGate::new(at_limit).unwrap();
    assert_eq!(gate.max_body_bytes(), body.len());
    accepted(send(&gate, "192.0.2.1", Some(URL_SECRET), None, &body));

    let below = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .max_body_bytes(body.len() - 1)
        .unsigned()
        .build()
        .unwrap();
    let gate = WebhookGate::new(below).unwrap();
    let d = send(&gate, "192.0.2.1", Some(URL_SECRET), None, &body);
    assert_eq!(reason(&d), RejectReason::BodyTooLarge);
    assert_eq!(d.as_ref().err().unwrap().source_ip(), None);

    let default = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .unsigned()
        .build()
        .unwrap();
    assert_eq!(
        WebhookGate::new(default).unwrap().max_body_bytes(),
        1024 * 1024
    );
}

#[test]
fn ipv4_and_ipv6_networks() {
    let gate = gate(false);
    let body = webhook("cloud_status_done_wont_do.json");
    for peer in [
        "192.0.2.0",
        "192.0.2.255",
        "2001:db8::1",
        "2001:db8:ffff:ffff::9",
        "::ffff:192.0.2.77",
    ] {
        let v = accepted(send(&gate, peer, Some(URL_SECRET), None, &body));
        assert_eq!(v.source_ip, ip(peer).to_canonical(), "{peer}");
        assert_eq!(v.hmac_secret_slot, None);
    }
    for peer in [
        "192.0.3.0",
        "192.0.1.255",
        "127.0.0.1",
        "2001:db9::1",
        "::1",
        "::ffff:198.51.100.1",
    ] {
        let d = send(&gate, peer, Some(URL_SECRET), None, &body);
        assert_eq!(reason(&d), RejectReason::IpNotAllowed, "{peer}");
        assert_eq!(
            d.as_ref().err().unwrap().source_ip(),
            Some(ip(peer).to_canonical())
        );
    }
    // A trusted proxy (10.0.0.0/8 here) without X-Forwarded-For names no
    // client, in either address family.
    for peer in ["10.0.0.1", "::ffff:10.0.0.1"] {
        let d = send(&gate, peer, Some(URL_SECRET), None, &body);
        assert_eq!(reason(&d), RejectReason::NoClientAddress, "{peer}");
        assert_eq!(d.as_ref().err().unwrap().source_ip(), None);
    }

    // From any address: signed only (unsigned from anywhere is refused
    // when the configuration is built).
    let any = WebhookGateConfig::builder(IpAllowlist::allow_any(), URL_SECRET.into())
        .hmac_secret(HMAC_SECRET.into())
        .build()
        .unwrap();
    let gate = WebhookGate::new(any).unwrap();
    let sig = signature(HMAC_SECRET, &body);
    accepted(send(
        &gate,
        "203.0.113.200",
        Some(URL_SECRET),
        Some(&sig),
        &body,
    ));
    assert_eq!(
        reason(&send(
            &gate,
            "203.0.113.200",
            Some("wrong-wrong-wrong-wrong"),
            Some(&sig),
            &body
        )),
        RejectReason::UrlSecretInvalid
    );
    assert_eq!(
        reason(&send(&gate, "203.0.113.200", Some(URL_SECRET), None, &body)),
        RejectReason::SignatureInvalid
    );
}

#[test]
fn forwarded_for_is_trusted_only_from_configured_proxies() {
    let gate = gate(false);
    let body = webhook("cloud_status_done_wont_do.json");
    let via = |peer: &str, xff: Option<&str>| {
        gate.check(
            &WebhookRequest::new(ip(peer), &body)
                .forwarded_for(xff)
                .url_secret(Some(URL_SECRET)),
        )
    };

    // Behind a trusted proxy, the client address counts.
    assert_eq!(
        accepted(via("10.0.0.5", Some("192.0.2.7"))).source_ip,
        ip("192.0.2.7")
    );
    // Several trusted hops are skipped; a spoofed left-most entry is not read.
    assert_eq!(
        accepted(via("10.0.0.5", Some("203.0.113.66, 192.0.2.7, 10.9.9.9"))).source_ip,
        ip("192.0.2.7")
    );
    assert_eq!(
        accepted(via("10.0.0.5", Some("[2001:db8::5]:443"))).source_ip,
        ip("2001:db8::5")
    );
    // The right-most untrusted address decides, even if an allowed one is further left.
    let d = via("10.0.0.5", Some("192.0.2.7, 203.0.113.66"));
    assert_eq!(reason(&d), RejectReason::IpNotAllowed);
    assert_eq!(
        d.as_ref().err().unwrap().source_ip(),
        Some(ip("203.0.113.66"))
    );
    // From an untrusted peer the header is ignored entirely.
    let d = via("198.51.100.1", Some("192.0.2.7"));
    assert_eq!(reason(&d), RejectReason::IpNotAllowed);
    assert_eq!(
        d.as_ref().err().unwrap().source_ip(),
        Some(ip("198.51.100.1"))
    );
    // An allowed peer stays allowed whatever it claims to forward.
    assert_eq!(
        accepted(via("192.0.2.9", Some("203.0.113.66"))).source_ip,
        ip("192.0.2.9")
    );
    // An unreadable entry makes the source unknown: refused.
    let d = via("10.0.0.5", Some("192.0.2.7, unknown"));
    assert_eq!(reason(&d), RejectReason::NoClientAddress);
    assert_eq!(d.as_ref().err().unwrap().source_ip(), None);
}

/// A trusted proxy that names no client fails closed, even when the proxy's
/// own address is allowed: the proxy forwards anyone's requests.
#[test]
fn a_trusted_proxy_that_names_no_client_is_refused_even_if_allowed() {
    // The proxy's network is allowed too (say, an internal Jira lives there).
    let config = WebhookGateConfig::builder(
        IpAllowlist::from_cidrs(["192.0.2.0/24", "10.0.0.0/8"]).unwrap(),
        URL_SECRET.into(),
    )
    .trusted_proxy("10.0.0.0/24".parse().unwrap())
    .unsigned()
    .build()
    .unwrap();
    let gate = WebhookGate::new(config).unwrap();
    let body = webhook("cloud_status_done_wont_do.json");
    let via = |peer: &str, xff: Option<&str>| {
        gate.check(
            &WebhookRequest::new(ip(peer), &body)
                .forwarded_for(xff)
                .url_secret(Some(URL_SECRET)),
        )
    };
    for xff in [
        None,
        Some(""),
        Some("  "),
        Some("10.0.0.7"),
        Some("10.0.0.7, 10.0.0.8"),
        Some("unknown"),
        Some(","),
    ] {
        let d = via("10.0.0.5", xff);
        let r = d
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{xff:?}: accepted"));
        assert_eq!(r.reason(), RejectReason::NoClientAddress, "{xff:?}");
        assert_eq!((r.status(), r.code()), (403, "no_client_address"));
        assert_eq!(r.source_ip(), None, "{xff:?}");
        assert!(r.to_string().contains("X-Forwarded-For"), "{r}");
    }
    // The same proxy naming an allowed client passes, and so does an allowed
    // sender that is not a proxy (it needs no header).
    assert_eq!(
        accepted(via("10.0.0.5", Some("192.0.2.7"))).source_ip,
        ip("192.0.2.7")
    );
    assert_eq!(accepted(via("10.0.1.9", None)).source_ip, ip("10.0.1.9"));
}

#[test]
fn atlassian_published_ranges_load_and_merge() {
    let ranges =
        IpAllowlist::from_atlassian_ranges_json(&fixture("atlassian_ip_ranges.json")).unwrap();
    let shown: Vec<String> = ranges.networks().iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:4000::/36"]
    );
    assert!(ranges.contains(ip("198.51.100.20")));
    assert!(ranges.contains(ip("2001:db8:4abc::1")));
    assert!(
        !ranges.contains(ip("203.0.113.5")),
        "ingress-only range loaded"
    );
    assert!(!ranges.contains(ip("2001:db8:5000::1")));

    let merged = ranges.merge(IpAllowlist::from_cidrs(["10.20.0.0/16"]).unwrap());
    assert!(merged.contains(ip("10.20.3.4")) && merged.contains(ip("198.51.100.20")));

    let config = WebhookGateConfig::builder(merged, URL_SECRET.into())
        .unsigned()
        .build()
        .unwrap();
    let gate = WebhookGate::new(config).unwrap();
    let body = webhook("cloud_status_done_wont_do.json");
    accepted(send(
        &gate,
        "2001:db8:4000::10",
        Some(URL_SECRET),
        None,
        &body,
    ));
    assert_eq!(
        reason(&send(&gate, "203.0.113.5", Some(URL_SECRET), None, &body)),
        RejectReason::IpNotAllowed
    );

    let minimal = br#"{"items":[{"cidr":"192.0.2.0/24"}]}"#;
    assert!(
        IpAllowlist::from_atlassian_ranges_json(minimal)
            .unwrap()
            .contains(ip("192.0.2.1"))
    );

    let code = |json: &[u8]| {
        IpAllowlist::from_atlassian_ranges_json(json)
            .unwrap_err()
            .code()
    };
    assert_eq!(code(b"<html>rate limited</html>"), "atlassian_ranges_json");
    assert_eq!(code(br#"{"prefixes":[]}"#), "atlassian_ranges_json");
    assert_eq!(
        code(br#"{"items":[{"network":"192.0.2.0"}]}"#),
        "atlassian_ranges_json"
    );
    assert_eq!(code(br#"{"items":[]}"#), "no_atlassian_ranges");
    assert_eq!(
        code(br#"{"items":[{"cidr":"192.0.2.0/24","direction":["ingress"]}]}"#),
        "no_atlassian_ranges"
    );
    let bad = IpAllowlist::from_atlassian_ranges_json(
        br#"{"items":[{"cidr":"192.0.2.0/24"},{"cidr":"192.0.2.0/40"}]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(bad, GateConfigError::InvalidCidr { position: 2, .. }),
        "{bad}"
    );
    assert!(bad.to_string().contains("192.0.2.0/40"));
}

#[test]
fn url_secret_rotation_accepts_both_and_nothing_else() {
    let gate = gate(false);
    let body = webhook("dc_status_in_progress.json");
    assert_eq!(
        accepted(send(&gate, "192.0.2.1", Some(URL_SECRET), None, &body)).url_secret_slot,
        0
    );
    assert_eq!(
        accepted(send(&gate, "192.0.2.1", Some(OLD_URL_SECRET), None, &body)).url_secret_slot,
        1
    );
    for wrong in [
        URL_SECRET.to_uppercase(),
        format!("{URL_SECRET} "),
        format!("{URL_SECRET}x"),
        OLD_URL_SECRET[1..].to_string(),
    ] {
        assert_eq!(
            reason(&send(&gate, "192.0.2.1", Some(&wrong), None, &body)),
            RejectReason::UrlSecretInvalid,
            "{wrong}"
        );
    }

    // After the rotation the old secret stops working.
    let rotated = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .unsigned()
        .build()
        .unwrap();
    let gate = WebhookGate::new(rotated).unwrap();
    accepted(send(&gate, "192.0.2.1", Some(URL_SECRET), None, &body));
    assert_eq!(
        reason(&send(&gate, "192.0.2.1", Some(OLD_URL_SECRET), None, &body)),
        RejectReason::UrlSecretInvalid
    );

    let three = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .url_secret(OLD_URL_SECRET.into())
        .url_secret("url-secret-third-000001".into())
        .unsigned()
        .build()
        .unwrap_err();
    assert!(matches!(
        three,
        GateConfigError::TooManySecrets {
            kind: SecretKind::Url,
            count: 3,
            max: 2
        }
    ));
}

#[test]
fn hmac_rotation_hex_case_and_tampering() {
    let gate = gate(true);
    assert!(gate.requires_signature());
    let body = webhook("cloud_status_cancelled.json");
    let by_new = signature(HMAC_SECRET, &body);
    let by_old = signature(OLD_HMAC_SECRET, &body);
    assert_eq!(
        accepted(send(
            &gate,
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&by_new),
            &body
        ))
        .hmac_secret_slot,
        Some(0)
    );
    assert_eq!(
        accepted(send(
            &gate,
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&by_old),
            &body
        ))
        .hmac_secret_slot,
        Some(1)
    );
    // Hex in upper case, and the algorithm name too, with stray whitespace.
    let upper = format!(" SHA256={} ", by_new["sha256=".len()..].to_uppercase());
    accepted(send(
        &gate,
        "192.0.2.1",
        Some(URL_SECRET),
        Some(&upper),
        &body,
    ));
    let mixed: String = by_old
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect();
    accepted(send(
        &gate,
        "192.0.2.1",
        Some(URL_SECRET),
        Some(&mixed.replacen("SHA256", "sha256", 1)),
        &body,
    ));

    // Every single-byte change of the body breaks the signature.
    for index in [0, body.len() / 2, body.len() - 1] {
        let mut tampered = body.clone();
        tampered[index] ^= 0x01;
        assert_eq!(
            reason(&send(
                &gate,
                "192.0.2.1",
                Some(URL_SECRET),
                Some(&by_new),
                &tampered
            )),
            RejectReason::SignatureInvalid,
            "byte {index}"
        );
    }
    // Signed with a secret that is not configured, or in another form.
    let by_stranger = signature("hmac-secret-of-someone-else", &body);
    let sha1 = by_new.replacen("sha256=", "sha1=", 1);
    let truncated = &by_new[..by_new.len() - 2];
    for bad in [
        by_stranger.as_str(),
        sha1.as_str(),
        truncated,
        "",
        "sha256=",
    ] {
        assert_eq!(
            reason(&send(
                &gate,
                "192.0.2.1",
                Some(URL_SECRET),
                Some(bad),
                &body
            )),
            RejectReason::SignatureInvalid,
            "{bad:?}"
        );
    }
    // Two signature headers are ambiguous.
    let twice: [(&str, &[u8]); 2] = [
        ("X-Hub-Signature", by_new.as_bytes()),
        ("x-hub-signature", by_new.as_bytes()),
    ];
    let d = gate.check(
        &WebhookRequest::new(ip("192.0.2.1"), &body)
            .url_secret(Some(URL_SECRET))
            .headers(&twice),
    );
    assert_eq!(reason(&d), RejectReason::SignatureInvalid);

    // Without signing secrets a signature is neither needed nor checked.
    let unsigned = self::gate(false);
    assert!(!unsigned.requires_signature());
    assert_eq!(
        accepted(send(
            &unsigned,
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&by_stranger),
            &body
        ))
        .hmac_secret_slot,
        None
    );
}

#[test]
fn url_secret_from_path_or_query_feeds_the_gate() {
    let gate = gate(false);
    let body = webhook("server_legacy_resolved.json");
    let prefix = "/webhooks/jira";
    let encoded_old: String =
        url::form_urlencoded::byte_serialize(OLD_URL_SECRET.as_bytes()).collect();
    let cases = [
        (format!("/webhooks/jira/{URL_SECRET}"), None, Some(0)),
        (
            "/webhooks/jira".to_string(),
            Some(format!("secret={encoded_old}")),
            Some(1),
        ),
        (
            "/webhooks/jira/".to_string(),
            Some(format!("issue=SEC-3&secret={URL_SECRET}")),
            Some(0),
        ),
        ("/webhooks/jira".to_string(), None, None),
        (format!("/webhooks/jira/{URL_SECRET}/extra"), None, None),
        (
            format!("/webhooks/jira/{URL_SECRET}"),
            Some(format!("secret={URL_SECRET}")),
            None,
        ),
        (format!("/elsewhere/{URL_SECRET}"), None, None),
    ];
    for (path, query, slot) in cases {
        let secret = extract_url_secret(&path, query.as_deref(), prefix);
        let req = WebhookRequest::new(ip("192.0.2.1"), &body)
            .url_secret(secret.as_ref().map(ExposeSecret::expose_secret));
        match (gate.check(&req), slot) {
            (Ok(v), Some(slot)) => {
                assert_eq!(v.url_secret_slot, slot, "{path}")
            }
            (Err(r), None) => {
                assert_eq!(r.reason(), RejectReason::UrlSecretInvalid, "{path}")
            }
            (d, _) => panic!("{path} {query:?}: {d:?}"),
        }
    }
}

#[test]
fn delivery_id_and_retry_headers() {
    let gate = gate(false);
    let body = webhook("cloud_status_done_wont_do.json");
    let check = |headers: &[(&str, &[u8])]| {
        accepted(
            gate.check(
                &WebhookRequest::new(ip("192.0.2.1"), &body)
                    .url_secret(Some(URL_SECRET))
                    .headers(headers),
            ),
        )
    };
    let v = check(&[
        ("x-atlassian-webhook-identifier", b" 7a1d-22 ".as_slice()),
        ("X-Atlassian-Webhook-Retry", b"2".as_slice()),
    ]);
    assert_eq!(
        (v.delivery_id.as_deref(), v.retry),
        (Some("7a1d-22"), Some(2))
    );
    assert_eq!(v.body_len, body.len());
    let long = vec![b'a'; 257];
    for bad in [
        b"".as_slice(),
        b"has space".as_slice(),
        b"caf\xc3\xa9".as_slice(),
        b"\x00\x01".as_slice(),
        long.as_slice(),
    ] {
        let v = check(&[
            ("X-Atlassian-Webhook-Identifier", bad),
            ("X-Atlassian-Webhook-Retry", b"-1".as_slice()),
        ]);
        assert_eq!((v.delivery_id, v.retry), (None, None), "{bad:?}");
    }
    let v = check(&[]);
    assert_eq!((v.delivery_id, v.retry), (None, None));
}

#[test]
fn new_rechecks_a_config_changed_after_building() {
    let built = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .unsigned()
        .build()
        .unwrap();

    let mut c = built.clone();
    c.url_secrets.clear();
    assert_eq!(WebhookGate::new(c).unwrap_err().code(), "no_url_secret");

    let mut c = built.clone();
    c.hmac_secrets = vec![
        HMAC_SECRET.into(),
        OLD_HMAC_SECRET.into(),
        "hmac-secret-third-00001".into(),
    ];
    assert!(matches!(
        WebhookGate::new(c).unwrap_err(),
        GateConfigError::TooManySecrets {
            kind: SecretKind::Hmac,
            count: 3,
            ..
        }
    ));

    let mut c = built.clone();
    c.hmac_secrets = vec!["short".into()];
    let err = WebhookGate::new(c).unwrap_err();
    assert_eq!(err.code(), "weak_secret");
    assert!(
        err.to_string().contains("HMAC signing secret number 1"),
        "{err}"
    );

    let mut c = built;
    c.max_body_bytes = 0;
    assert_eq!(WebhookGate::new(c).unwrap_err().code(), "zero_body_limit");
}

#[test]
fn config_deserialises_from_toml() {
    let config: WebhookGateConfig = toml::from_str(&format!(
        r#"
        max_body_bytes = 2048
        allowlist = ["192.0.2.0/24", "2001:db8::/32"]
        trusted_proxies = ["10.0.0.0/8"]
        url_secrets = ["{URL_SECRET}", "{OLD_URL_SECRET}"]
        hmac_secrets = ["{HMAC_SECRET}"]
        "#
    ))
    .unwrap();
    assert_eq!(config.max_body_bytes, 2048);
    let gate = WebhookGate::new(config).unwrap();
    let body = webhook("dc_status_done.json");
    assert_eq!(
        reason(&send(&gate, "192.0.2.1", Some(URL_SECRET), None, &body)),
        RejectReason::BodyTooLarge
    );

    let err = toml::from_str::<WebhookGateConfig>(&format!(
        "allowlist = \"any\"\nurl_secrets = [\"{URL_SECRET}\"]\nhmac_secrets = [\"tiny\"]\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("shorter than 16 bytes") && !err.contains("tiny"),
        "{err}"
    );
    let err = toml::from_str::<WebhookGateConfig>(&format!("url_secrets = [\"{URL_SECRET}\"]\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("allowlist"),
        "an allowlist must be chosen: {err}"
    );
}

#[test]
fn debug_and_errors_show_no_secret() {
    let config = WebhookGateConfig::builder(allowlist(), URL_SECRET.into())
        .url_secret(OLD_URL_SECRET.into())
        .hmac_secret(HMAC_SECRET.into())
        .build()
        .unwrap();
    let builder =
        WebhookGateConfig::builder(allowlist(), URL_SECRET.into()).hmac_secret(HMAC_SECRET.into());
    let gate = WebhookGate::new(config.clone()).unwrap();
    let body = webhook("cloud_status_done_wont_do.json");
    let req = WebhookRequest::new(ip("192.0.2.1"), &body).url_secret(Some(URL_SECRET));
    let weak = WebhookGateConfig::builder(allowlist(), "weak-secret".into())
        .build()
        .unwrap_err();
    let shown = [
        format!("{config:?}"),
        format!("{builder:?}"),
        format!("{gate:?}"),
        format!("{gate:#?}"),
        format!("{req:?}"),
        format!("{weak} {weak:?}"),
    ];
    for s in &shown {
        for secret in [
            URL_SECRET,
            OLD_URL_SECRET,
            HMAC_SECRET,
            "weak-secret",
            "SEC-42",
        ] {
            assert!(!s.contains(secret), "{secret} leaked in {s}");
        }
    }
    assert!(
        shown[0].contains("url_secrets: [2 redacted]")
            && shown[0].contains("hmac_secrets: [1 redacted]")
    );
    assert!(shown[2].contains("192.0.2.0/24"), "{}", shown[2]);
}

#[test]
fn rejections_are_logged_with_reason_but_without_secret_or_body() {
    let gate = gate(true);
    let body = webhook("cloud_status_done_wont_do.json");
    let sig = signature(HMAC_SECRET, &body);
    let wrong_sig = signature(OLD_URL_SECRET, &body);
    let marker = br#"{"webhookEvent":"x","issue":{"key":"BODY-MARKER-99"}, "#;
    let marker_sig = signature(HMAC_SECRET, marker);
    let logs = capture_logs(|| {
        let near_miss = format!("{URL_SECRET}0");
        let _ = send(&gate, "203.0.113.9", Some(URL_SECRET), Some(&sig), &body);
        let _ = send(&gate, "192.0.2.1", Some(&near_miss), Some(&sig), &body);
        let _ = send(&gate, "192.0.2.1", None, Some(&sig), &body);
        let _ = send(
            &gate,
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&wrong_sig),
            &body,
        );
        let _ = send(
            &gate,
            "192.0.2.1",
            Some(URL_SECRET),
            Some(&marker_sig),
            marker,
        );
        let _ = send(&gate, "192.0.2.1", Some(OLD_URL_SECRET), Some(&sig), &body);
    });
    for code in [
        "ip_not_allowed",
        "url_secret_invalid",
        "signature_invalid",
        "not_json",
        "webhook accepted",
    ] {
        assert!(logs.contains(code), "{code} not logged:\n{logs}");
    }
    assert!(
        logs.contains("203.0.113.9"),
        "the refused source is logged:\n{logs}"
    );
    assert!(logs.contains("no secret in the URL") && logs.contains("matches no configured secret"));
    let wrong_hex = &wrong_sig["sha256=".len()..];
    for secret in [
        URL_SECRET,
        OLD_URL_SECRET,
        HMAC_SECRET,
        OLD_HMAC_SECRET,
        "BODY-MARKER-99",
        "Indirect prompt",
        wrong_hex,
    ] {
        assert!(!logs.contains(secret), "{secret} logged:\n{logs}");
    }
}

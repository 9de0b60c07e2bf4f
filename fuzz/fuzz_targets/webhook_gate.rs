//! The gate on arbitrary requests: any body, signature header, URL secret,
//! `X-Forwarded-For` and delivery headers. It never panics, and it accepts
//! only requests carrying the URL secret and a valid signature of the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use penaxtra_jira_sync::webhook::{
    IpAllowlist, WebhookGate, WebhookGateConfig, WebhookRequest, sign_body,
};
use secrecy::SecretString;
use std::sync::OnceLock;

const URL_SECRET: &str = "fuzz-url-secret-0123456789";
const HMAC_SECRET: &str = "fuzz-hmac-secret-0123456789";

fn gate() -> &'static WebhookGate {
    static GATE: OnceLock<WebhookGate> = OnceLock::new();
    GATE.get_or_init(|| {
        let config = WebhookGateConfig::builder(
            IpAllowlist::from_cidrs(["192.0.2.0/24", "2001:db8::/32"]).expect("valid networks"),
            SecretString::from(URL_SECRET),
        )
        .hmac_secret(SecretString::from(HMAC_SECRET))
        .trusted_proxy("10.0.0.0/8".parse().expect("valid network"))
        .max_body_bytes(16 * 1024)
        .build()
        .expect("valid configuration");
        WebhookGate::new(config).expect("valid gate")
    })
}

/// Splits `data` at the first `0xFF` bytes into up to `N` fields.
fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut rest = data;
    for slot in out.iter_mut().take(N - 1) {
        match rest.iter().position(|&b| b == 0xFF) {
            Some(i) => {
                *slot = &rest[..i];
                rest = &rest[i + 1..];
            }
            None => break,
        }
    }
    out[N - 1] = rest;
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let [secret, forwarded, sig, delivery, body] = fields::<5>(data);
    let secret = match flags & 3 {
        0 => None,
        1 => Some(URL_SECRET.to_string()),
        _ => Some(String::from_utf8_lossy(secret).into_owned()),
    };
    let signature = if flags & 4 != 0 {
        format!("sha256={}", sign_body(&SecretString::from(HMAC_SECRET), body)).into_bytes()
    } else {
        sig.to_vec()
    };
    let forwarded = String::from_utf8_lossy(forwarded).into_owned();
    let peer = if flags & 8 != 0 { "10.1.2.3" } else { "192.0.2.9" };
    let headers: [(&str, &[u8]); 3] = [
        ("X-Hub-Signature", &signature),
        ("X-Atlassian-Webhook-Identifier", delivery),
        ("X-Atlassian-Webhook-Retry", delivery),
    ];
    let request = WebhookRequest::new(peer.parse().expect("an address"), body)
        .url_secret(secret.as_deref())
        .forwarded_for((flags & 16 != 0).then_some(forwarded.as_str()))
        .headers(&headers);
    if let Ok(verified) = gate().check(&request) {
        assert_eq!(secret.as_deref(), Some(URL_SECRET), "accepted without the URL secret");
        assert!(flags & 4 != 0 || sig == signature, "accepted without a valid signature");
        assert_eq!(verified.body_len, body.len());
        // What the gate parsed is what a plain parse gives.
        let parsed = jira_model::webhook::WebhookEvent::parse(body).expect("the gate parsed it");
        assert_eq!(parsed, verified.event);
    }
});

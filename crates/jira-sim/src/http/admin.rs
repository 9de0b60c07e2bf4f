//! The admin API under `/_sim/`, a prefix real Jira never uses. No
//! authentication, no faults, no rate limit, not counted.

use super::{App, lock, reply};
use crate::config::{WebhookTarget, check_webhook_url};
use crate::faults::{FaultConfig, FaultEngine};
use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};

fn bad(message: impl Into<String>) -> Response {
    reply::json(400, &json!({"error": message.into()}))
}

pub(crate) async fn handle(app: &App, method: &str, path: &str, body: &Bytes) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    match (method, segs.as_slice()) {
        ("GET", ["issues"]) => reply::json(200, &json!(lock(&app.world).all())),
        ("GET", ["issues", key]) => {
            let w = lock(&app.world);
            match w.all().iter().find(|i| i.key.eq_ignore_ascii_case(key)) {
                Some(i) => reply::json(200, &json!(i)),
                None => reply::json(404, &json!({"error": format!("no issue {key}")})),
            }
        }
        ("POST", ["reset"]) => {
            app.reset();
            reply::no_content()
        }
        ("GET", ["webhooks"]) => {
            let list: Vec<Value> = app
                .hub
                .targets()
                .iter()
                .map(|t| json!({"url": t.display_url(), "signed": t.is_signed()}))
                .collect();
            reply::json(200, &Value::Array(list))
        }
        ("POST", ["webhooks"]) => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return bad("body must be {\"url\": ..., \"secret\": ...}");
            };
            let Some(url) = v.get("url").and_then(Value::as_str) else {
                return bad("\"url\" is required");
            };
            if let Err(e) = check_webhook_url(url) {
                return bad(e.to_string());
            }
            let secret = v.get("secret").and_then(Value::as_str).map(str::to_string);
            app.hub.register(WebhookTarget {
                url: url.to_string(),
                secret,
            });
            reply::json(201, &json!({"registered": crate::config::redact_url(url)}))
        }
        ("DELETE", ["webhooks"]) => {
            app.hub.clear();
            reply::no_content()
        }
        ("GET", ["webhooks", "deliveries"]) => {
            let list: Vec<Value> = app
                .hub
                .deliveries()
                .iter()
                .map(|d| {
                    json!({"url": d.display_url(), "identifier": d.identifier, "event": d.event,
                        "attempt": d.attempt, "status": d.status, "error": d.error,
                        "signature": d.signature, "body": d.json()})
                })
                .collect();
            reply::json(200, &Value::Array(list))
        }
        ("POST", ["webhooks", "flush"]) => {
            app.hub.flush().await;
            reply::no_content()
        }
        ("GET", ["faults"]) => reply::json(200, &json!(lock(&app.faults).config())),
        ("PUT", ["faults"]) => match serde_json::from_slice::<FaultConfig>(body) {
            Ok(f) => match f.validate() {
                Ok(()) => {
                    *lock(&app.faults) = FaultEngine::new(f);
                    reply::no_content()
                }
                Err(e) => bad(e.to_string()),
            },
            Err(e) => bad(format!("bad fault configuration: {e}")),
        },
        ("DELETE", ["faults"]) => {
            *lock(&app.faults) = FaultEngine::new(FaultConfig::default());
            reply::no_content()
        }
        ("GET", ["search-lag"]) => {
            let lag = lock(&app.world).search_lag();
            let ms = u64::try_from(lag.as_millis()).unwrap_or(u64::MAX);
            reply::json(200, &json!({"ms": ms}))
        }
        ("PUT", ["search-lag"]) => {
            let ms = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("ms").and_then(Value::as_u64));
            let Some(ms) = ms else {
                return bad("body must be {\"ms\": <milliseconds>}");
            };
            lock(&app.world).set_search_lag(std::time::Duration::from_millis(ms));
            reply::no_content()
        }
        ("POST", ["accounts", name, "browser-login"]) => {
            if crate::accounts::by_name(name).is_none() {
                return reply::json(404, &json!({"error": format!("no account {name}")}));
            }
            lock(&app.logins).browser_login(name);
            reply::no_content()
        }
        ("GET", ["accounts", name]) => match crate::accounts::by_name(name) {
            Some(a) => reply::json(
                200,
                &json!({"name": a.name, "time_zone": a.time_zone,
                    "captcha_locked": lock(&app.logins).is_locked(a.name)}),
            ),
            None => reply::json(404, &json!({"error": format!("no account {name}")})),
        },
        ("GET", ["stats"]) => reply::json(
            200,
            &json!({"total": app.total.load(std::sync::atomic::Ordering::SeqCst),
                "rate_limited": app.rate_limited.load(std::sync::atomic::Ordering::SeqCst),
                "by_path": *lock(&app.counts)}),
        ),
        ("POST", ["clock", "advance"]) => {
            let ms = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("ms").and_then(Value::as_u64));
            let Some(ms) = ms else {
                return bad("body must be {\"ms\": <milliseconds>}");
            };
            if app.clock.advance(std::time::Duration::from_millis(ms)) {
                reply::json(
                    200,
                    &json!({"now": crate::world::render::fmt_time(app.clock.now())}),
                )
            } else {
                reply::json(
                    409,
                    &json!({"error": "the simulator runs on the system clock"}),
                )
            }
        }
        _ => reply::json(
            404,
            &json!({"error": format!("no admin route {method} {path}")}),
        ),
    }
}

//! Building answers.

use crate::world::api_error::ApiError;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON answer.
pub(crate) fn json(code: u16, v: &Value) -> Response {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    (status(code), h, Body::from(v.to_string())).into_response()
}

/// `204 No Content`.
pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// An error answer in Jira's shape.
pub(crate) fn error(e: ApiError) -> Response {
    json(e.status, &e.body)
}

/// A text answer.
pub(crate) fn text(code: u16, content_type: &'static str, body: String) -> Response {
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (status(code), h, Body::from(body)).into_response()
}

/// An HTML error page, as a proxy in front of Jira sends.
pub(crate) fn html(code: u16) -> Response {
    let reason = status(code).canonical_reason().unwrap_or("Error");
    text(
        code,
        "text/html;charset=UTF-8",
        format!(
            "<!DOCTYPE html>\n<html><head><title>{code} {reason}</title></head>\
             <body><h1>{reason}</h1><p>The server could not handle your request.</p></body></html>\n"
        ),
    )
}

/// Jersey's answer for a path no resource serves.
pub(crate) fn no_resource(base: &str, path: &str) -> Response {
    json(
        404,
        &serde_json::json!({"message": format!("null for uri: {base}{path}"), "status-code": 404}),
    )
}

/// Adds a header, ignoring values that cannot be header values.
pub(crate) fn set_header(r: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert(name, v);
    }
}

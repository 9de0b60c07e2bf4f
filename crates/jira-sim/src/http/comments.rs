//! Comment handlers: the list (paged, ordered, filtered by visibility),
//! add, and one comment's GET, PUT and DELETE.

use super::issues::{Call, find_or_404, page, publish_result};
use super::rest::param;
use super::{lock, parse_body, reply};
use crate::world::api_error::ApiError;
use crate::world::render;
use crate::world::{CommentOrder, visible_to};
use axum::response::Response;
use serde_json::{Value, json};

/// `GET issue/{key}/comment?startAt&maxResults&orderBy`.
pub(crate) fn list(c: &Call<'_>, key: &str) -> Response {
    let w = lock(&c.app.world);
    let issue = match find_or_404(&w, key) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let (start, max) = match page(c.query, 5000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(order) = CommentOrder::parse(param(c.query, "orderBy")) else {
        return reply::error(ApiError::message(
            400,
            "The value of 'orderBy' is not valid: use created, +created or -created.",
        ));
    };
    let rc = c.rc();
    let mut visible: Vec<_> = issue
        .comments
        .iter()
        .filter(|cm| visible_to(cm, Some(c.account)))
        .collect();
    if order == CommentOrder::CreatedDesc {
        visible.reverse();
    }
    let total = visible.len();
    let page: Vec<Value> = visible
        .into_iter()
        .skip(start)
        .take(max)
        .map(|cm| render::comment(&rc, issue, cm))
        .collect();
    reply::json(
        200,
        &json!({"startAt": start, "maxResults": max, "total": total, "comments": page}),
    )
}

/// `POST issue/{key}/comment`.
pub(crate) fn add(c: &Call<'_>, key: &str) -> Response {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = lock(&c.app.world)
        .comment(&c.ctx(), key, &body)
        .map(|ev| (shown(c, &ev), vec![ev]));
    match publish_result(c.app, r) {
        Ok(v) => reply::json(201, &v),
        Err(resp) => resp,
    }
}

fn shown(c: &Call<'_>, ev: &crate::world::SimEvent) -> Value {
    let rc = c.rc();
    ev.comment
        .as_ref()
        .map_or(Value::Null, |cm| render::comment(&rc, &ev.issue, cm))
}

/// `GET issue/{key}/comment/{id}`.
pub(crate) fn get(c: &Call<'_>, key: &str, id: &str) -> Response {
    let w = lock(&c.app.world);
    match w.find_comment(key, id, Some(c.account)) {
        Ok((issue, cm)) => reply::json(200, &render::comment(&c.rc(), issue, cm)),
        Err(e) => reply::error(e),
    }
}

/// `PUT issue/{key}/comment/{id}`.
pub(crate) fn update(c: &Call<'_>, key: &str, id: &str) -> Response {
    let body = match parse_body(c.body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let r = lock(&c.app.world)
        .update_comment(&c.ctx(), key, id, &body)
        .map(|ev| (shown(c, &ev), vec![ev]));
    match publish_result(c.app, r) {
        Ok(v) => reply::json(200, &v),
        Err(resp) => resp,
    }
}

/// `DELETE issue/{key}/comment/{id}`.
pub(crate) fn delete(c: &Call<'_>, key: &str, id: &str) -> Response {
    let r = lock(&c.app.world)
        .delete_comment(&c.ctx(), key, id)
        .map(|ev| ((), vec![ev]));
    match publish_result(c.app, r) {
        Ok(()) => reply::no_content(),
        Err(resp) => resp,
    }
}

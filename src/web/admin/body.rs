//! Request bodies: JSON parsing errors mapped to the admin's statuses (400 bad JSON, 413 too large, 415 not JSON),
//! and a body (with the path's values) parsed into an operation's typed input.

use actix_web::error::JsonPayloadError;
use actix_web::{web, HttpRequest};
use serde_json::Value;

use crate::ops::input::Input;
use crate::rpc::router::parse_params;
use crate::web::error::WebError;

/// Largest JSON body the admin API takes.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// The `web::Json` settings of the admin scope.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(MAX_JSON_BYTES)
        .error_handler(|err, _req: &HttpRequest| {
            let mapped = match &err {
                JsonPayloadError::ContentType => {
                    WebError::UnsupportedMediaType("the body must be JSON (Content-Type: application/json)".into())
                }
                JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                    WebError::TooLarge(MAX_JSON_BYTES)
                }
                other => WebError::BadRequest(format!("the body is not valid JSON: {other}")),
            };
            mapped.into()
        })
}

/// The query-string settings: a value of the wrong type is a 400 naming it.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _req: &HttpRequest| WebError::BadRequest(format!("bad query string: {err}")).into())
}

/// The path settings: a malformed segment is a 400.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|err, _req: &HttpRequest| WebError::BadRequest(format!("bad path: {err}")).into())
}

/// A body that may be empty (`{}` then) or JSON.
pub fn optional_json(body: &[u8]) -> Result<Value, WebError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| WebError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// A body parsed into an operation's typed input and checked, as JSON-RPC parses its params (422 naming the field).
pub fn input<T: Input>(body: Value) -> Result<T, WebError> {
    Ok(parse_params(body)?)
}

/// Puts the path's values into a JSON object body (`null` counts as `{}`; other bodies are passed on, for their
/// parsing to refuse).
pub fn with_path(body: Value, fields: &[(&str, &str)]) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        Value::Null => Default::default(),
        other => return other,
    };
    for (name, value) in fields {
        map.insert(name.to_string(), Value::String(value.to_string()));
    }
    Value::Object(map)
}

/// Puts `persona_id` into a JSON object body (see [`with_path`]).
pub fn with_persona(body: Value, id: &str) -> Value {
    with_path(body, &[("persona_id", id)])
}

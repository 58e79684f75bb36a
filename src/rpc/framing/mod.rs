//! JSON-RPC 2.0 framing: request validation, ids, responses, every error code this server sends (its own, and
//! those MCP defines) with the one mapping from `AppError` to them, and the old protocol's [`stream`] frames.

pub mod stream;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::AppError;

/// The `jsonrpc` member of every frame.
pub const JSONRPC: &str = "2.0";

/// Parse error: the frame is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// The frame is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// Unknown method.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Missing, ill-typed or out-of-range parameter.
pub const INVALID_PARAMS: i64 = -32602;
/// A bug, logged with a correlation id; also a stream that timed out.
pub const INTERNAL_ERROR: i64 = -32603;
/// MCP: the resource does not exist (`resources/read`).
pub const RESOURCE_NOT_FOUND: i64 = -32002;
/// MCP: the request's protocol version is not supported (stateless revision).
pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// MCP: an HTTP header disagrees with the request body (stateless revision).
pub const HEADER_MISMATCH: i64 = -32020;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RpcError {
    /// Error code.
    pub code: i64,
    /// Message (the old server's wording where it had one).
    pub message: String,
    /// Structured details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl RpcError {
    /// An error without data.
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// The same error with `data`.
    fn with_data(self, data: Value) -> Self {
        Self {
            data: Some(data),
            ..self
        }
    }

    /// -32700.
    pub fn parse_error() -> Self {
        Self::new(PARSE_ERROR, "Parse error")
    }

    /// -32600 with the reason in `data`.
    pub fn invalid_request(reason: &str) -> Self {
        Self::new(INVALID_REQUEST, "Invalid Request").with_data(json!({ "reason": reason }))
    }

    /// -32600 with `message`: a well-formed request this server does not answer in this state (an MCP request
    /// before the handshake).
    pub fn refused(message: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, message)
    }

    /// -32601.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(METHOD_NOT_FOUND, format!("Method not found: {method}"))
    }

    /// -32602 with `message` (MCP-level params; a method's own params fail as [`AppError::InvalidParam`]).
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    /// MCP -32002: no resource at `uri`.
    pub fn resource_not_found(message: impl Into<String>, uri: &str) -> Self {
        Self::new(RESOURCE_NOT_FOUND, message).with_data(json!({ "uri": uri }))
    }

    /// MCP -32022: the `requested` protocol version is not among the `supported` ones.
    pub fn unsupported_version(message: impl Into<String>, requested: &str, supported: &[&str]) -> Self {
        Self::new(UNSUPPORTED_PROTOCOL_VERSION, message)
            .with_data(json!({ "supported": supported, "requested": requested }))
    }

    /// MCP -32020: an HTTP header disagrees with the request body.
    pub fn header_mismatch(message: impl Into<String>) -> Self {
        Self::new(HEADER_MISMATCH, message)
    }
}

impl From<AppError> for RpcError {
    fn from(e: AppError) -> Self {
        let code = match &e {
            AppError::InvalidParam { .. } => INVALID_PARAMS,
            AppError::PersonaNotFound(_) => -32001,
            AppError::NoPersonaSelected(_) => -32002,
            AppError::LlmUnavailable { .. } => -32003,
            AppError::ConversationNotFound(_) => -32004,
            AppError::RateLimited { .. } => -32005,
            AppError::PersonaUnavailable(_) => -32006,
            AppError::Conflict(_) => -32007,
            AppError::MemoryNotFound(_) => -32008,
            AppError::BotNotFound(_) => -32009,
            AppError::StreamTimedOut { .. } => INTERNAL_ERROR,
            AppError::DatabaseUnavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                -32010
            }
            AppError::Internal(detail) => {
                let correlation_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%correlation_id, %detail, "internal error");
                return Self::new(INTERNAL_ERROR, "Internal error")
                    .with_data(json!({ "correlation_id": correlation_id }));
            }
        };
        Self {
            code,
            data: e.data(),
            message: e.to_string(),
        }
    }
}

/// A validated request or notification.
#[derive(Debug, Clone)]
pub struct Request {
    /// `None` for a notification.
    pub id: Option<Value>,
    /// Method name.
    pub method: String,
    /// Parameters: always an object or an array (absent → empty object).
    pub params: Value,
}

/// Checks one element of a frame. On failure returns the id to answer with (null when unknown) and the error;
/// a broken notification still gets no answer, except when its shape hides whether it is one.
pub fn parse_request(value: Value) -> Result<Request, (Option<Value>, RpcError)> {
    let Value::Object(mut obj) = value else {
        return Err((
            Some(Value::Null),
            RpcError::invalid_request("a request must be a JSON object"),
        ));
    };
    let id = match obj.remove("id") {
        None => None,
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => Some(id),
        Some(_) => {
            return Err((
                Some(Value::Null),
                RpcError::invalid_request("id must be a string, a number or null"),
            ))
        }
    };
    let answer_id = Some(id.clone().unwrap_or(Value::Null));
    if obj.get("jsonrpc").and_then(Value::as_str) != Some(JSONRPC) {
        return Err((answer_id, RpcError::invalid_request("jsonrpc must be \"2.0\"")));
    }
    let method = match obj.remove("method") {
        Some(Value::String(m)) => m,
        _ => return Err((answer_id, RpcError::invalid_request("method must be a string"))),
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ (Value::Object(_) | Value::Array(_))) => p,
        Some(_) => {
            return Err((
                answer_id,
                RpcError::invalid_request("params must be an object or an array"),
            ))
        }
    };
    Ok(Request { id, method, params })
}

/// The answer to one request: its id and its result or error.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The request's id (null when it could not be read).
    pub id: Value,
    /// The result, or the error.
    pub outcome: Result<Value, RpcError>,
}

impl Response {
    /// A successful answer.
    pub fn success(id: Value, result: Value) -> Self {
        Self {
            id,
            outcome: Ok(result),
        }
    }

    /// A failed answer.
    pub fn failure(id: Value, error: RpcError) -> Self {
        Self {
            id,
            outcome: Err(error),
        }
    }

    /// The JSON-RPC response object.
    pub fn into_value(self) -> Value {
        match self.outcome {
            Ok(result) => success(&self.id, result),
            Err(error) => failure(&self.id, error),
        }
    }
}

/// A success response.
pub fn success(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": JSONRPC, "id": id, "result": result })
}

/// An error response.
pub fn failure(id: &Value, error: RpcError) -> Value {
    json!({ "jsonrpc": JSONRPC, "id": id, "error": error })
}

/// A notification from the server.
pub fn notification(method: &str, params: impl Serialize) -> Value {
    json!({ "jsonrpc": JSONRPC, "method": method, "params": params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_request_shape() {
        let ok = parse_request(json!({"jsonrpc":"2.0","id":7,"method":"m"})).unwrap();
        assert_eq!(ok.id, Some(json!(7)));
        assert_eq!(ok.params, json!({}));
        let note = parse_request(json!({"jsonrpc":"2.0","method":"m","params":{"a":1}})).unwrap();
        assert!(note.id.is_none());
        let (id, e) = parse_request(json!({"jsonrpc":"1.0","id":"x","method":"m"})).unwrap_err();
        assert_eq!((id, e.code), (Some(json!("x")), INVALID_REQUEST));
        let (_, e) = parse_request(json!({"jsonrpc":"2.0","id":1,"method":5})).unwrap_err();
        assert_eq!(e.code, INVALID_REQUEST);
        let (_, e) = parse_request(json!({"jsonrpc":"2.0","id":1,"method":"m","params":3})).unwrap_err();
        assert_eq!(e.code, INVALID_REQUEST);
        let (id, e) = parse_request(json!([1])).unwrap_err();
        assert_eq!((id, e.code), (Some(Value::Null), INVALID_REQUEST));
    }

    #[test]
    fn app_errors_map_to_codes_and_keep_wording() {
        let e: RpcError = AppError::PersonaNotFound("Zed".into()).into();
        assert_eq!((e.code, e.message.as_str()), (-32001, "Persona not found: Zed"));
        assert_eq!(e.data, Some(json!({"persona_id":"Zed"})));
        let e: RpcError = AppError::required("persona_id").into();
        assert_eq!((e.code, e.message.as_str()), (INVALID_PARAMS, "persona_id is required"));
        let e: RpcError = AppError::Internal("disk on fire".into()).into();
        assert_eq!(e.code, INTERNAL_ERROR);
        assert!(!e.message.contains("disk"));
        assert!(e.data.unwrap()["correlation_id"].is_string());
    }

    #[test]
    fn a_database_out_of_reach_is_its_own_error_without_the_detail() {
        let pool = crate::storage::StorageError::Pool("cannot connect to PostgreSQL: host pg unknown".into());
        let e: RpcError = AppError::from(pool).into();
        assert_eq!(e.code, -32010);
        assert!(e.message.starts_with("Database unavailable"), "{}", e.message);
        assert!(!e.message.contains("pg"), "{}", e.message);
    }
}

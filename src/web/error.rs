//! The one mapping from a failure to an HTTP answer: a status and the body
//! `{"error": {"code", "message", "details"}}`. Every HTTP surface (upgrade refusals, Streamable HTTP, operations)
//! answers its errors through [`WebError`]; nothing else builds an error response.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::AppError;

/// The one error body: `{"error": {"code", "message", "details"}}`.
#[derive(Serialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorObject,
}

/// The inside of [`ErrorBody`].
#[derive(Serialize, JsonSchema)]
pub struct ErrorObject {
    /// A stable, machine-readable name (`not_found`, `invalid_params`, `unauthorized`…).
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// More about it (the field at fault, a correlation id…), or null.
    pub details: Value,
}

/// Why an HTTP request was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A browser page from another origin (`Origin` not allowed).
    #[error("Forbidden: Origin not allowed: {0}")]
    ForeignOrigin(String),
    /// A `Host` that is not loopback on a loopback listener (DNS rebinding).
    #[error("Forbidden: Host not allowed: {0}")]
    ForeignHost(String),
    /// The configured token is missing or wrong.
    #[error("Unauthorized: a valid bearer token is required")]
    Unauthorized,
    /// Every connection slot is taken.
    #[error("the server is at its connection limit; retry later")]
    TooBusy,
    /// No route here.
    #[error("no such endpoint")]
    NotFound,
    /// The body is larger than `server.max_frame_bytes`.
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    /// The request is malformed at the HTTP level (a header is missing or wrong).
    #[error("{0}")]
    BadRequest(String),
    /// The body is not of a type this route takes (checked by content, not by name).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is well-formed but does not hold what the route needs (a PNG without a character card).
    #[error("{0}")]
    Unprocessable(String),
    /// The method is not served on this route.
    #[error("{0}")]
    MethodNotAllowed(&'static str),
    /// `Mcp-Session-Id` names no open session.
    #[error("Session not found: initialize again")]
    SessionNotFound,
    /// A failure of the application itself.
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<crate::storage::StorageError> for WebError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::App(e.into())
    }
}

impl WebError {
    /// The body's `code`: a stable, machine-readable name.
    fn code(&self) -> &'static str {
        match self {
            Self::ForeignOrigin(_) | Self::ForeignHost(_) => "forbidden",
            Self::Unauthorized => "unauthorized",
            Self::TooBusy => "too_many_connections",
            Self::NotFound => "not_found",
            Self::TooLarge(_) => "payload_too_large",
            Self::BadRequest(_) => "bad_request",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unprocessable(_) => "unprocessable",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::SessionNotFound => "session_not_found",
            Self::App(e) => match e {
                AppError::InvalidParam { .. } => "invalid_params",
                AppError::PersonaNotFound(_) => "persona_not_found",
                AppError::NoPersonaSelected(_) => "no_persona_selected",
                AppError::LlmUnavailable { .. } => "llm_unavailable",
                AppError::ConversationNotFound(_) => "conversation_not_found",
                AppError::MemoryNotFound(_) => "memory_not_found",
                AppError::BotNotFound(_) => "bot_not_found",
                AppError::StreamTimedOut { .. } => "stream_timed_out",
                AppError::DatabaseUnavailable(_) => "database_unavailable",
                AppError::RateLimited { .. } => "rate_limited",
                AppError::PersonaUnavailable(_) => "persona_unavailable",
                AppError::Conflict(_) => "conflict",
                AppError::Internal(_) => "internal_error",
            },
        }
    }

    /// The body's `details`.
    fn details(&self) -> Value {
        match self {
            Self::ForeignOrigin(origin) => json!({ "origin": origin }),
            Self::ForeignHost(host) => json!({ "host": host }),
            Self::TooLarge(max) => json!({ "max_bytes": max }),
            Self::App(e) => e.data().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::ForeignOrigin(_) | Self::ForeignHost(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::TooBusy => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound | Self::SessionNotFound => StatusCode::NOT_FOUND,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::App(e) => match e {
                AppError::InvalidParam { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::PersonaNotFound(_)
                | AppError::ConversationNotFound(_)
                | AppError::MemoryNotFound(_)
                | AppError::BotNotFound(_) => StatusCode::NOT_FOUND,
                AppError::NoPersonaSelected(_) => StatusCode::BAD_REQUEST,
                AppError::LlmUnavailable { .. } => StatusCode::BAD_GATEWAY,
                AppError::StreamTimedOut { .. } => StatusCode::GATEWAY_TIMEOUT,
                AppError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::PersonaUnavailable(_) | AppError::Conflict(_) => StatusCode::CONFLICT,
                AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (message, details) = match self {
            // Internals are logged under a correlation id, never sent.
            Self::App(AppError::Internal(detail)) => {
                let correlation_id = uuid::Uuid::new_v4().to_string();
                tracing::error!(%correlation_id, %detail, "internal error");
                (
                    "Internal error".to_string(),
                    json!({ "correlation_id": correlation_id }),
                )
            }
            other => (other.to_string(), other.details()),
        };
        let mut response = HttpResponse::build(self.status_code());
        if let Self::MethodNotAllowed(allow) = self {
            response.insert_header((actix_web::http::header::ALLOW, *allow));
        }
        response.json(ErrorBody {
            error: ErrorObject {
                code: self.code(),
                message,
                details,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    fn body(e: WebError) -> (StatusCode, Value) {
        let response = e.error_response();
        let status = response.status();
        let bytes = response.into_body().try_into_bytes().unwrap_or_default();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[test]
    fn every_error_has_the_one_body_shape() {
        let (status, b) = body(WebError::ForeignOrigin("http://evil.example".into()));
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(b["error"]["code"], "forbidden");
        assert_eq!(b["error"]["details"]["origin"], "http://evil.example");
        let (status, b) = body(WebError::App(AppError::PersonaNotFound("Zed".into())));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(b["error"]["message"], "Persona not found: Zed");
        assert_eq!(b["error"]["details"]["persona_id"], "Zed");
        let (status, b) = body(WebError::App(AppError::Internal("disk on fire".into())));
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!b.to_string().contains("disk"));
        assert!(b["error"]["details"]["correlation_id"].is_string());
        let (status, b) = body(WebError::Unauthorized);
        assert_eq!(
            (status, b["error"]["details"].clone()),
            (StatusCode::UNAUTHORIZED, Value::Null)
        );
    }
}

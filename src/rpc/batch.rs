//! Answering one text frame — a request, a notification or a batch — with each request handed to a dispatcher
//! (the JSON-RPC router, or MCP above it). The answer stays typed until it is sent, so a transport can choose an
//! HTTP status from it without parsing it again.

use std::future::Future;

use futures_util::future::join_all;
use serde_json::Value;

use super::framing::{parse_request, Request, Response, RpcError};

/// What answering a frame produced.
#[derive(Debug)]
pub enum Answer {
    /// The frame held one request (or could not be read at all).
    One(Response),
    /// The frame was a batch; one response per request in it.
    Batch(Vec<Response>),
}

impl Answer {
    /// The error of a frame that held one request and failed (a batch's errors belong to its requests).
    pub fn error(&self) -> Option<&RpcError> {
        match self {
            Self::One(Response { outcome: Err(e), .. }) => Some(e),
            _ => None,
        }
    }

    /// The frame to send.
    pub fn into_text(self) -> String {
        match self {
            Self::One(r) => r.into_value().to_string(),
            Self::Batch(rs) => Value::Array(rs.into_iter().map(Response::into_value).collect()).to_string(),
        }
    }
}

/// Answers one text frame, each request through `call`; `None` when nothing is to be sent (notifications only).
pub async fn answer_frame<F, Fut>(text: &str, max_batch: usize, call: F) -> Option<Answer>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Option<Response>>,
{
    let refuse = |e: RpcError| Some(Answer::One(Response::failure(Value::Null, e)));
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => return refuse(RpcError::parse_error()),
    };
    let one = |item: Value| {
        let request = parse_request(item);
        let call = &call;
        async move {
            match request {
                Ok(req) => call(req).await,
                Err((id, e)) => id.map(|id| Response::failure(id, e)),
            }
        }
    };
    match value {
        Value::Array(items) if items.is_empty() => refuse(RpcError::invalid_request("empty batch")),
        Value::Array(items) if items.len() > max_batch => {
            refuse(RpcError::invalid_request(&format!("batch larger than {max_batch}")))
        }
        Value::Array(items) => {
            let answers: Vec<Response> = join_all(items.into_iter().map(one))
                .await
                .into_iter()
                .flatten()
                .collect();
            (!answers.is_empty()).then_some(Answer::Batch(answers))
        }
        single => one(single).await.map(Answer::One),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rpc::framing::{INVALID_REQUEST, PARSE_ERROR};

    /// Echoes each request's method as its result; notifications get nothing.
    async fn echo(req: Request) -> Option<Response> {
        req.id.map(|id| Response::success(id, json!(req.method)))
    }

    async fn answer(text: &str) -> Option<Answer> {
        answer_frame(text, 2, echo).await
    }

    #[tokio::test]
    async fn frames_are_answered_typed() {
        let one = answer(r#"{"jsonrpc":"2.0","id":1,"method":"a"}"#).await.unwrap();
        assert!(one.error().is_none());
        assert_eq!(one.into_text(), r#"{"id":1,"jsonrpc":"2.0","result":"a"}"#);
        assert!(answer(r#"{"jsonrpc":"2.0","method":"a"}"#).await.is_none());
        let batch = answer(r#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","method":"b"}]"#)
            .await
            .unwrap();
        assert!(matches!(&batch, Answer::Batch(rs) if rs.len() == 1));
        assert!(answer(r#"[{"jsonrpc":"2.0","method":"b"}]"#).await.is_none());
    }

    #[tokio::test]
    async fn refusals_carry_their_error() {
        let code = |a: Option<Answer>| a.and_then(|a| a.error().map(|e| e.code));
        assert_eq!(code(answer("{").await), Some(PARSE_ERROR));
        assert_eq!(code(answer("[]").await), Some(INVALID_REQUEST));
        assert_eq!(code(answer("[1,2,3]").await), Some(INVALID_REQUEST));
        assert_eq!(
            code(answer(r#"{"jsonrpc":"1.0","id":1,"method":"a"}"#).await),
            Some(INVALID_REQUEST)
        );
        let mixed = answer(r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5]"#).await.unwrap();
        assert!(mixed.error().is_none(), "a batch has no error of its own");
    }
}

//! The one method table. Each namespace registers its methods once (name → typed handler); the JSON-RPC
//! dispatcher, MCP `tools/list` and the docs are all generated from it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::access::{Call, Ending};
use super::context::Ctx;
use super::framing::{Request, Response, RpcError};
use crate::actors::turn::ChunkSink;
use crate::error::AppError;

/// Typed parameters of one method, validated at the edge: the typed input of the operation it calls.
pub use crate::ops::input::Input as Params;

/// What a handler produced.
pub enum Reply {
    /// Send this as the result.
    Value(Value),
    /// The handler already sent its frames (streaming); nothing more to send.
    Sent,
}

/// Makes a JSON Schema (of a method's params or result).
type SchemaFn = fn() -> Value;

/// Decodes and validates a method's params without running it.
type DecodeFn = fn(Value) -> Result<(), AppError>;

type HandlerFn = Arc<dyn Fn(Ctx, Value) -> BoxFuture<'static, Result<Reply, AppError>> + Send + Sync>;

type ProgressFn =
    Arc<dyn Fn(Ctx, Value, ChunkSink, CancellationToken) -> BoxFuture<'static, Result<Value, AppError>> + Send + Sync>;

/// One registered method.
#[derive(Clone)]
pub struct Method {
    /// JSON-RPC name, e.g. `persona.chat`.
    pub name: &'static str,
    /// One line for tool listings and docs.
    pub description: &'static str,
    /// JSON Schema of the params, generated from the params type.
    pub schema: SchemaFn,
    /// JSON Schema of the result, generated from the result type (for a streaming method: of the result its
    /// progress entry answers).
    pub result_schema: SchemaFn,
    /// True when the method streams its answer as several frames.
    pub streaming: bool,
    handler: HandlerFn,
    progress: Option<ProgressFn>,
    decode: DecodeFn,
}

impl Method {
    /// True when the method can also report its output chunk by chunk through a callback ([`Router::progress`]).
    pub fn reports_progress(&self) -> bool {
        self.progress.is_some()
    }

    /// Decodes and validates params as the handler would, without running it (the fuzz test drives every
    /// method's params type through this).
    pub fn decode_params(&self, params: Value) -> Result<(), AppError> {
        (self.decode)(params)
    }
}

/// The method table.
#[derive(Default, Clone)]
pub struct Router {
    methods: HashMap<&'static str, Method>,
    order: Vec<&'static str>,
}

fn schema_of<P: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(P)).unwrap_or(Value::Null)
}

/// The schema of what `R` serialises to (every field it always writes is required).
fn result_schema_of<R: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().for_serialize().into_generator();
    serde_json::to_value(generator.into_root_schema_for::<R>()).unwrap_or(Value::Null)
}

/// A handler's result as JSON.
fn to_result(r: impl Serialize) -> Result<Value, AppError> {
    serde_json::to_value(r).map_err(|e| AppError::Internal(format!("serialising result: {e}")))
}

/// Deserialises params into `P`, turning serde's complaint into an error that names the field:
/// "persona_id is required", "charisma must be an integer".
pub fn parse_params<P: Params>(params: Value) -> Result<P, AppError> {
    let params = match params {
        Value::Array(a) if a.is_empty() => Value::Object(Default::default()),
        Value::Array(_) => return Err(AppError::invalid("params", "params must be given by name (an object)")),
        other => other,
    };
    let parsed: P = parse_value(params)?;
    parsed.validate()?;
    Ok(parsed)
}

/// Deserialises a JSON value into `T`; the error names the field that is missing or wrong (-32602, HTTP 422).
pub fn parse_value<T: DeserializeOwned>(params: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(&params).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        let parent = if path == "." { String::new() } else { format!("{path}.") };
        match missing_field(&inner) {
            Some(field) => AppError::required(&format!("{parent}{field}")),
            None if path == "." => field_error(&culprit::<T>(&params).unwrap_or_else(|| "params".into()), &inner),
            None => field_error(&path, &inner),
        }
    })
}

fn decode<P: Params>(params: Value) -> Result<(), AppError> {
    parse_params::<P>(params).map(drop)
}

/// The field named by serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Params of more keys than this are not searched for the culprit of an error (each try deserialises them all).
const MAX_CULPRIT_SEARCH: usize = 64;

/// The top-level key an error without a path comes from. Fields of a `#[serde(flatten)]` struct are read from a
/// buffer that loses the path, so each key is left out in turn: the culprit is the one whose absence makes the
/// error go away, else the one whose absence makes it its own "missing field". The first rule goes first: a wrong
/// optional field beside a required one is the wrong field, whichever key sorts first.
fn culprit<P: DeserializeOwned>(params: &Value) -> Option<String> {
    let object = params.as_object().filter(|o| o.len() <= MAX_CULPRIT_SEARCH)?;
    let without = |key: &String| {
        let mut rest = object.clone();
        rest.remove(key);
        serde_json::from_value::<P>(Value::Object(rest))
    };
    let goes_away = object.keys().find(|key| without(key).is_ok());
    goes_away
        .or_else(|| {
            object
                .keys()
                .find(|key| matches!(without(key), Err(e) if missing_field(&e.to_string()) == Some(key.as_str())))
        })
        .cloned()
}

/// -32602 for `field` from serde's message: "`field` must be …" when serde said what it expected.
fn field_error(field: &str, serde_message: &str) -> AppError {
    match serde_message.split_once(", expected ") {
        Some((_, expected)) => AppError::invalid(field, format!("{field} must be {}", in_words(expected))),
        None => AppError::invalid(field, format!("{field} is invalid: {serde_message}")),
    }
}

/// What serde expected, as the old server's messages say it.
fn in_words(expected: &str) -> String {
    let expected = expected.split(" at line ").next().unwrap_or(expected);
    match expected {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" | "an integer" => {
            "an integer".into()
        }
        "f32" | "f64" | "a number" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a sequence" => "a list".into(),
        "a map" => "an object".into(),
        other if other.starts_with("struct ") => "an object".into(),
        other => other.into(),
    }
}

impl Router {
    /// Registers a method with typed params and a typed result.
    pub fn method<P, R, F, Fut>(&mut self, name: &'static str, description: &'static str, f: F) -> &mut Self
    where
        P: Params,
        R: Serialize + JsonSchema + 'static,
        F: Fn(Ctx, P) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, AppError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let schemas: (SchemaFn, SchemaFn) = (schema_of::<P>, result_schema_of::<R>);
        self.insert(name, description, schemas, decode::<P>, false, move |ctx, params| {
            let f = f.clone();
            async move {
                let p = parse_params::<P>(params)?;
                to_result(f(ctx, p).await?).map(Reply::Value)
            }
            .boxed()
        })
    }

    /// Registers a streaming method: it parses its own params (so that even bad input is answered in the
    /// stream's format) and sends its own frames; `R` is the result of its progress entry.
    pub fn streaming<P, R, F, Fut>(&mut self, name: &'static str, description: &'static str, f: F) -> &mut Self
    where
        P: Params,
        R: JsonSchema,
        F: Fn(Ctx, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Reply, AppError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let schemas: (SchemaFn, SchemaFn) = (schema_of::<P>, result_schema_of::<R>);
        self.insert(name, description, schemas, decode::<P>, true, move |ctx, params| {
            f(ctx, params).boxed()
        })
    }

    fn insert(
        &mut self,
        name: &'static str,
        description: &'static str,
        (schema, result_schema): (SchemaFn, SchemaFn),
        decode: DecodeFn,
        streaming: bool,
        handler: impl Fn(Ctx, Value) -> BoxFuture<'static, Result<Reply, AppError>> + Send + Sync + 'static,
    ) -> &mut Self {
        let handler = Arc::new(handler);
        // Every method passes the load gate: none runs while `state.load` replaces the data.
        let gated = move |ctx: Ctx, params: Value| {
            let handler = handler.clone();
            async move {
                let app = ctx.app.clone();
                let _open = app.load_gate.enter(name).await;
                handler(ctx, params).await
            }
            .boxed()
        };
        let method = Method {
            name,
            description,
            schema,
            result_schema,
            streaming,
            handler: Arc::new(gated),
            progress: None,
            decode,
        };
        if self.methods.insert(name, method).is_none() {
            self.order.push(name);
        }
        self
    }

    /// Gives a registered method a second entry point for transports with their own progress channel (MCP
    /// `notifications/progress`): it hands each chunk to a callback instead of sending frames, stops when the
    /// token is cancelled, and returns the final result.
    pub fn progress<R, F, Fut>(&mut self, name: &'static str, f: F) -> &mut Self
    where
        R: Serialize + 'static,
        F: Fn(Ctx, Value, ChunkSink, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, AppError>> + Send + 'static,
    {
        let f = Arc::new(f);
        let entry: ProgressFn = Arc::new(move |ctx: Ctx, params, sink, cancel| {
            let app = ctx.app.clone();
            let answer = f(ctx, params, sink, cancel);
            async move {
                let _open = app.load_gate.enter(name).await;
                to_result(answer.await?)
            }
            .boxed()
        });
        match self.methods.get_mut(name) {
            Some(m) => m.progress = Some(entry),
            None => debug_assert!(false, "progress entry for unregistered method {name}"),
        }
        self
    }

    /// Every method in registration order.
    pub fn methods(&self) -> impl Iterator<Item = &Method> {
        self.order.iter().filter_map(|n| self.methods.get(n))
    }

    /// Looks a method up.
    pub fn get(&self, name: &str) -> Option<&Method> {
        self.methods.get(name)
    }

    /// Runs a method by name.
    pub async fn invoke(&self, ctx: Ctx, method: &str, params: Value) -> Result<Reply, AppError> {
        let Some(m) = self.methods.get(method) else {
            return Err(AppError::Internal(format!("no method {method}")));
        };
        (m.handler)(ctx, params).await
    }

    /// Runs a method's progress entry point (see [`Router::progress`]).
    pub async fn invoke_with_progress(
        &self,
        ctx: Ctx,
        method: &str,
        params: Value,
        sink: ChunkSink,
        cancel: CancellationToken,
    ) -> Result<Value, AppError> {
        let Some(progress) = self.methods.get(method).and_then(|m| m.progress.clone()) else {
            return Err(AppError::Internal(format!("no progress entry for {method}")));
        };
        progress(ctx, params, sink, cancel).await
    }

    /// Runs a method that answers with one value (every method but the streaming ones) and returns it.
    pub async fn answer(&self, ctx: Ctx, method: &str, params: Value) -> Result<Value, AppError> {
        match self.invoke(ctx, method, params).await? {
            Reply::Value(v) => Ok(v),
            Reply::Sent => Err(AppError::Internal(format!("{method} streamed instead of answering"))),
        }
    }

    /// Answers one validated request; `None` for notifications and for methods that sent their own frames.
    pub async fn call(&self, ctx: &Ctx, req: Request) -> Option<Response> {
        let call = Call::start(ctx, &req.params);
        let id = req.id.clone().unwrap_or(Value::Null);
        let Some(method) = self.methods.get(req.method.as_str()) else {
            let error = RpcError::method_not_found(&req.method);
            call.finish(&ctx.app, "unknown", &req.method, Ending::Failed(&error));
            return req.id.map(|id| Response::failure(id, error));
        };
        if let Some(session) = req.params.get("session_id").and_then(Value::as_str) {
            ctx.conn.resume_session(session);
        }
        let result = (method.handler)(ctx.for_request(id.clone()), req.params)
            .await
            .map_err(RpcError::from);
        let ending = match &result {
            Ok(_) => Ending::Answered,
            Err(e) => Ending::Failed(e),
        };
        call.finish(&ctx.app, method.name, method.name, ending);
        let answer = match result {
            Ok(Reply::Sent) => return None,
            Ok(Reply::Value(v)) => Response::success(id, v),
            Err(e) => Response::failure(id, e),
        };
        req.id.map(|_| answer)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Card {
        charisma: Option<i64>,
        mood: Option<f64>,
        /// Sorts after `persona_id`: its error must still be its own.
        volume: Option<i64>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    struct Update {
        persona_id: String,
        #[serde(flatten)]
        card: Card,
    }
    impl Params for Update {}

    fn error(params: Value) -> (String, String) {
        match parse_params::<Update>(params) {
            Err(AppError::InvalidParam { field, message }) => (field, message),
            other => panic!("expected -32602, got {other:?}"),
        }
    }

    #[test]
    fn errors_in_flattened_fields_name_the_field() {
        let (field, message) = error(json!({"persona_id": "Zed", "charisma": "high"}));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("charisma", "charisma must be an integer")
        );
        let (field, message) = error(json!({"persona_id": "Zed", "charisma": 3, "mood": []}));
        assert_eq!((field.as_str(), message.as_str()), ("mood", "mood must be a number"));
        let (field, message) = error(json!({"persona_id": "Zed", "volume": "loud"}));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("volume", "volume must be an integer")
        );
        let (field, message) = error(json!({"persona_id": 7}));
        assert_eq!(
            (field.as_str(), message.as_str()),
            ("persona_id", "persona_id must be a string")
        );
        assert_eq!(error(json!({"charisma": 3})).1, "persona_id is required");
        let ok = parse_params::<Update>(json!({"persona_id": "Zed", "charisma": 3, "extra": true})).unwrap();
        assert_eq!(
            (ok.persona_id.as_str(), ok.card.charisma, ok.card.mood, ok.card.volume),
            ("Zed", Some(3), None, None)
        );
    }
}

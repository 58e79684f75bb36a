//! The shapes of MCP's results and server notifications (spec 2025-06-18, with the `title`s of 2025-06-18 and the
//! stateless revision's envelope): what [`lifecycle`](super::lifecycle), [`tools`](super::tools),
//! [`resources`](super::resources) and [`prompts`](super::prompts) answer.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::rpc::framing::RpcError;

/// `Implementation`: who this server is.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Implementation {
    /// Programmatic name.
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    /// The crate's version.
    pub version: &'static str,
}

impl Implementation {
    /// This server.
    pub const THIS: Self = Self {
        name: "persona-mcp",
        title: "persona-mcp",
        version: env!("CARGO_PKG_VERSION"),
    };
}

/// An object without members (`{}`): `ping`'s and `logging/setLevel`'s result, the `logging` capability.
#[derive(Debug, Default, Serialize)]
pub struct Empty {}

/// A capability that may announce changes to its list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListCapability {
    /// Whether `notifications/*/list_changed` are sent.
    pub list_changed: bool,
    /// Whether single items can be subscribed to (resources only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
}

/// `ServerCapabilities`.
#[derive(Debug, Serialize)]
pub struct ServerCapabilities {
    /// Tools.
    pub tools: ListCapability,
    /// Resources.
    pub resources: ListCapability,
    /// Prompts.
    pub prompts: ListCapability,
    /// Log messages (`logging/setLevel`, `notifications/message`).
    pub logging: Empty,
}

impl ServerCapabilities {
    /// What this server offers: tools, resources and prompts (fixed lists, no subscriptions), and logging.
    pub fn this() -> Self {
        let fixed = |subscribe| ListCapability {
            list_changed: false,
            subscribe,
        };
        Self {
            tools: fixed(None),
            resources: fixed(Some(false)),
            prompts: fixed(None),
            logging: Empty {},
        }
    }
}

/// `InitializeResult`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// The negotiated revision.
    pub protocol_version: &'static str,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// Who it is.
    pub server_info: Implementation,
    /// What the model using it should know.
    pub instructions: &'static str,
}

/// `server/discover`'s result (stateless revision); its caching hints come with the envelope.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// The stateless revisions spoken.
    pub supported_versions: &'static [&'static str],
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// What the model using it should know.
    pub instructions: &'static str,
}

/// What a stateless result carries besides itself: `resultType`, the server's identity in `_meta`, and caching
/// hints on the cacheable methods.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stateless<T> {
    /// The result.
    #[serde(flatten)]
    pub result: T,
    /// Always "complete".
    pub result_type: &'static str,
    /// The server's identity.
    #[serde(rename = "_meta")]
    pub meta: StatelessMeta,
    /// How long the result may be cached, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// Who may share a cached copy: `public` or `private`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<&'static str>,
}

/// A stateless result's `_meta`.
#[derive(Debug, Serialize)]
pub struct StatelessMeta {
    /// This server.
    #[serde(rename = "io.modelcontextprotocol/serverInfo")]
    pub server_info: Implementation,
}

/// A content block; only text is sent.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Content {
    /// `TextContent`.
    Text {
        /// The text.
        text: String,
    },
}

/// `Tool`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tool {
    /// The tool's name (`persona_chat`).
    pub name: String,
    /// The method it runs (`persona.chat`).
    pub title: &'static str,
    /// What it does.
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: Value,
    /// JSON Schema of its `structuredContent`, when that is an object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
}

/// A tool's `structuredContent`: the method's result when an object, else wrapped; or its error.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Structured {
    /// The result, an object.
    Object(Value),
    /// A result that is not an object, as `{result}`.
    Wrapped {
        /// The result.
        result: Value,
    },
    /// The error, as `{error}`.
    Failed {
        /// The JSON-RPC error the method answered.
        error: RpcError,
    },
}

/// `CallToolResult`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallToolResult {
    /// The result as text JSON, or the error's message.
    pub content: Vec<Content>,
    /// The result or the error.
    pub structured_content: Structured,
    /// True when the method failed.
    pub is_error: bool,
}

impl CallToolResult {
    /// The result of a method as a tool's: text JSON and structured, or its error with `isError`.
    pub fn of(result: Result<Value, RpcError>) -> Self {
        match result {
            Ok(value) => Self {
                content: vec![Content::Text {
                    text: value.to_string(),
                }],
                structured_content: if value.is_object() {
                    Structured::Object(value)
                } else {
                    Structured::Wrapped { result: value }
                },
                is_error: false,
            },
            Err(error) => Self {
                content: vec![Content::Text {
                    text: error.message.clone(),
                }],
                structured_content: Structured::Failed { error },
                is_error: true,
            },
        }
    }
}

/// `Resource`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Where to read it.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    pub title: String,
    /// What it holds.
    pub description: String,
    /// Always JSON.
    pub mime_type: &'static str,
}

/// `ResourceTemplate`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplate {
    /// RFC 6570 template of the URIs.
    pub uri_template: String,
    /// Programmatic name.
    pub name: String,
    /// Display name.
    pub title: String,
    /// What the resources hold.
    pub description: String,
    /// Always JSON.
    pub mime_type: &'static str,
}

/// `TextResourceContents`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextResourceContents {
    /// The URI read.
    pub uri: String,
    /// Always JSON.
    pub mime_type: &'static str,
    /// The document.
    pub text: String,
}

/// `ReadResourceResult`.
#[derive(Debug, Serialize)]
pub struct ReadResourceResult {
    /// The one document read.
    pub contents: Vec<TextResourceContents>,
}

/// `PromptArgument`.
#[derive(Debug, Serialize)]
pub struct PromptArgument {
    /// Its name.
    pub name: &'static str,
    /// What it is for.
    pub description: &'static str,
    /// Whether it must be given.
    pub required: bool,
}

/// `Prompt`.
#[derive(Debug, Serialize)]
pub struct Prompt {
    /// Programmatic name (`chat_as_aria`).
    pub name: String,
    /// Display name.
    pub title: String,
    /// What it gives.
    pub description: String,
    /// The arguments it takes.
    pub arguments: Vec<PromptArgument>,
}

/// Who a prompt message is from; only the user's are sent.
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The user.
    User,
}

/// `PromptMessage`.
#[derive(Debug, Serialize)]
pub struct PromptMessage {
    /// Who says it.
    pub role: Role,
    /// What is said.
    pub content: Content,
}

impl PromptMessage {
    /// `text`, said by the user.
    pub fn user(text: String) -> Self {
        Self {
            role: Role::User,
            content: Content::Text { text },
        }
    }
}

/// `GetPromptResult`.
#[derive(Debug, Serialize)]
pub struct GetPromptResult {
    /// What the prompt is.
    pub description: String,
    /// Its messages.
    pub messages: Vec<PromptMessage>,
}

/// The result of an MCP request answered here (not a router method's: those are [`CallToolResult`]s).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum McpResult {
    /// `initialize`.
    Initialize(InitializeResult),
    /// `server/discover`.
    Discover(DiscoverResult),
    /// `ping`, `logging/setLevel`.
    Empty(Empty),
    /// `tools/list`.
    Tools(Page<Tool>),
    /// `tools/call`.
    CallTool(CallToolResult),
    /// `resources/list`.
    Resources(Page<Resource>),
    /// `resources/templates/list`.
    ResourceTemplates(Page<ResourceTemplate>),
    /// `resources/read`.
    ReadResource(ReadResourceResult),
    /// `prompts/list`.
    Prompts(Page<Prompt>),
    /// `prompts/get`.
    GetPrompt(GetPromptResult),
}

/// An item of a list method, named by the key its page holds it under.
pub trait Listed: Serialize {
    /// `tools`, `resources`, `resourceTemplates` or `prompts`.
    const KEY: &'static str;
}

impl Listed for Tool {
    const KEY: &'static str = "tools";
}

impl Listed for Resource {
    const KEY: &'static str = "resources";
}

impl Listed for ResourceTemplate {
    const KEY: &'static str = "resourceTemplates";
}

impl Listed for Prompt {
    const KEY: &'static str = "prompts";
}

/// One page of a list method's result: `{<key>: [...], nextCursor?}`.
#[derive(Debug)]
pub struct Page<T> {
    /// The items on it.
    pub items: Vec<T>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl<T: Listed> Serialize for Page<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry(T::KEY, &self.items)?;
        if let Some(cursor) = &self.next_cursor {
            map.serialize_entry("nextCursor", cursor)?;
        }
        map.end()
    }
}

/// `notifications/progress` params: one chunk of a tool's reply.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress<'a> {
    /// The token of the call.
    pub progress_token: &'a Value,
    /// The chunk's number, 1-based.
    pub progress: usize,
    /// The chunk.
    pub message: &'a str,
}

/// `notifications/message` params.
#[derive(Debug, Serialize)]
pub struct LogMessage<D> {
    /// Its severity.
    pub level: &'static str,
    /// Always `persona-mcp`.
    pub logger: &'static str,
    /// What happened.
    pub data: D,
}

/// A finished tool call, as its log message tells it.
#[derive(Debug, Serialize)]
pub struct ToolCallLog<'a> {
    /// The tool.
    pub tool: &'a str,
    /// `ok` or `error`.
    pub outcome: &'static str,
    /// The error's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    /// How long it took.
    pub elapsed_ms: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    impl Listed for PromptArgument {
        const KEY: &'static str = "arguments";
    }

    #[test]
    fn capabilities_and_pages_keep_their_shape() {
        let capabilities = serde_json::to_value(ServerCapabilities::this()).unwrap();
        assert_eq!(
            capabilities,
            json!({
                "tools": { "listChanged": false },
                "resources": { "subscribe": false, "listChanged": false },
                "prompts": { "listChanged": false },
                "logging": {},
            })
        );
        let page = Page {
            items: vec![PromptArgument {
                name: "message",
                description: "d",
                required: false,
            }],
            next_cursor: Some("32".into()),
        };
        let page = serde_json::to_value(page).unwrap();
        assert_eq!(page["nextCursor"], "32");
        assert_eq!(page["arguments"][0]["required"], false);
    }

    #[test]
    fn a_stateless_result_is_the_result_with_its_envelope() {
        let envelope = Stateless {
            result: Empty {},
            result_type: "complete",
            meta: StatelessMeta {
                server_info: Implementation::THIS,
            },
            ttl_ms: None,
            cache_scope: None,
        };
        let value = serde_json::to_value(envelope).unwrap();
        assert_eq!(value["resultType"], "complete");
        assert_eq!(
            value["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "persona-mcp"
        );
        assert_eq!(value.as_object().unwrap().len(), 2);
    }
}

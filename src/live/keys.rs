//! The settings as dotted keys (`llm.temperature`): which change live, which are secret, and reading or
//! replacing one leaf of the settings' JSON form.

use std::collections::BTreeMap;

use serde_json::Value;

/// Keys that change at once without a restart; an entry ending in `.` covers its whole section.
const LIVE: &[&str] = &[
    "logging.level",
    "logging.access",
    "server.rate_limit_per_second",
    "server.rate_limit_burst",
    "server.rate_limit_in_flight",
    "server.stream_timeout_secs",
    "llm.temperature",
    "llm.connect_timeout_secs",
    "llm.read_timeout_secs",
    "chat.",
    "memory.",
    "models.",
    "state.keep",
];

/// Keys whose values are never shown or logged.
const SECRET: &[&str] = &[
    "llm.api_key",
    "embedder.api_key",
    "server.token",
    "server.metrics_token",
    "admin.token",
];

/// What a secret's value is shown as.
pub const REDACTED: &str = "<redacted>";

/// True when `key` changes without a restart.
pub fn is_live(key: &str) -> bool {
    LIVE.iter()
        .any(|k| *k == key || (k.ends_with('.') && key.starts_with(k)))
}

/// True when `key` holds a secret.
pub fn is_secret(key: &str) -> bool {
    SECRET.contains(&key)
}

/// The value as it may be shown: secrets that are set become `<redacted>`.
pub fn shown(key: &str, value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        _ if is_secret(key) => Value::String(REDACTED.into()),
        other => other.clone(),
    }
}

/// Every leaf of the settings' JSON form by dotted key (lists are leaves).
pub fn flatten(root: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            leaf => {
                out.insert(prefix.to_string(), leaf.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", root, &mut out);
    out
}

/// Replaces the leaf at `key` with `value`, answering the old value; `None` when there is no such leaf. A string
/// given for a number, a boolean or a list is read as JSON (`"0.5"` → `0.5`), as configuration files and
/// environment variables allow.
pub fn replace(root: &mut Value, key: &str, value: Value) -> Option<Value> {
    let mut node = root;
    for part in key.split('.') {
        node = node.as_object_mut()?.get_mut(part)?;
    }
    if node.is_object() {
        return None;
    }
    let value = match (&*node, value) {
        (Value::Number(_) | Value::Bool(_) | Value::Array(_), Value::String(text)) => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
        (_, value) => value,
    };
    Some(std::mem::replace(node, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sections_and_single_keys_are_live() {
        assert!(is_live("memory.decay_mode"));
        assert!(is_live("chat.max_context_messages"));
        assert!(is_live("llm.temperature"));
        assert!(!is_live("llm.provider"));
        assert!(!is_live("server.port"));
        assert!(!is_live("memoryx.foo"));
    }

    #[test]
    fn flatten_gives_dotted_leaves() {
        let flat = flatten(&json!({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": null}));
        assert_eq!(flat.get("a.b"), Some(&json!(1)));
        assert_eq!(flat.get("a.c.d"), Some(&json!([1, 2])));
        assert_eq!(flat.get("e"), Some(&Value::Null));
        assert_eq!(flat.len(), 3);
    }

    #[test]
    fn replace_reads_strings_as_json_for_numbers() {
        let mut v = json!({"llm": {"temperature": 0.8, "model": "x"}});
        assert_eq!(replace(&mut v, "llm.temperature", json!("0.5")), Some(json!(0.8)));
        assert_eq!(v["llm"]["temperature"], json!(0.5));
        assert_eq!(replace(&mut v, "llm.model", json!("7")), Some(json!("x")));
        assert_eq!(v["llm"]["model"], json!("7"));
        assert_eq!(replace(&mut v, "llm", json!(1)), None);
        assert_eq!(replace(&mut v, "llm.nope", json!(1)), None);
    }

    #[test]
    fn secrets_are_redacted_when_set() {
        assert_eq!(shown("llm.api_key", &json!("sk-123")), json!(REDACTED));
        assert_eq!(shown("llm.api_key", &Value::Null), Value::Null);
        assert_eq!(shown("llm.model", &json!("m")), json!("m"));
    }
}

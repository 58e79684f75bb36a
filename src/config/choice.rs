//! The settings that are one of a few names (`llm.provider`, `embedder.provider`, `embedder.precision`): read
//! from and written as their lowercase name, an unknown name answered with the list of allowed ones.

/// The choice named `given`, or what is allowed ("a, b or c") as the error.
pub(super) fn one_of<T: Copy>(all: &[T], name: fn(T) -> &'static str, given: &str) -> Result<T, String> {
    if let Some(found) = all.iter().copied().find(|&choice| name(choice) == given) {
        return Ok(found);
    }
    let names: Vec<&str> = all.iter().map(|&choice| name(choice)).collect();
    Err(match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    })
}

/// Implements `FromStr`, `TryFrom<String>` (what serde reads it with) and `Display` for a choice type from its
/// `ALL` list and its `name` function.
macro_rules! named_choice {
    ($choice:ty) => {
        impl std::str::FromStr for $choice {
            type Err = String;

            fn from_str(given: &str) -> Result<Self, String> {
                $crate::config::choice::one_of(&Self::ALL, Self::name, given)
            }
        }

        impl TryFrom<String> for $choice {
            type Error = String;

            fn try_from(given: String) -> Result<Self, String> {
                given.parse()
            }
        }

        impl std::fmt::Display for $choice {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

pub(super) use named_choice;

#[cfg(test)]
mod tests {
    use crate::config::{EmbedderPrecision, EmbedderProvider, EmbedderSettings, LlmProvider};

    #[test]
    fn providers_read_and_write_their_lowercase_names() {
        for (name, provider) in [
            ("auto", LlmProvider::Auto),
            ("ollama", LlmProvider::Ollama),
            ("openai", LlmProvider::Openai),
            ("embedded", LlmProvider::Embedded),
        ] {
            let read: LlmProvider = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, provider);
            assert_eq!(provider.to_string(), name);
        }
        for (name, provider) in [
            ("minilm", EmbedderProvider::Minilm),
            ("ollama", EmbedderProvider::Ollama),
            ("openai", EmbedderProvider::Openai),
            ("none", EmbedderProvider::None),
        ] {
            let read: EmbedderProvider = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, provider);
            assert_eq!(provider.to_string(), name);
        }
        for (name, precision) in [("int8", EmbedderPrecision::Int8), ("f32", EmbedderPrecision::F32)] {
            let read: EmbedderPrecision = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(read, precision);
            assert_eq!(precision.to_string(), name);
        }
        assert_eq!(EmbedderSettings::default().precision, EmbedderPrecision::Int8);
        let unknown = serde_json::from_value::<EmbedderPrecision>(serde_json::json!("fp16")).unwrap_err();
        assert_eq!(unknown.to_string(), "int8 or f32");
        let unknown = serde_json::from_value::<LlmProvider>(serde_json::json!("gpt")).unwrap_err();
        assert_eq!(unknown.to_string(), "auto, ollama, openai or embedded");
        let unknown = serde_json::from_value::<EmbedderProvider>(serde_json::json!("w2v")).unwrap_err();
        assert_eq!(unknown.to_string(), "minilm, ollama, openai or none");
    }
}

//! Reading the layers: built-in defaults, the TOML file, `.env`, the old server's variable names and
//! `PERSONA_MCP__SECTION__KEY`.

use std::path::Path;

use config::{Config, Environment, File, FileFormat};

use super::{ConfigError, Settings};

/// The old server's plain environment names and the keys they set.
const LEGACY_ENV: &[(&str, &str)] = &[
    ("SERVER_HOST", "server.host"),
    ("SERVER_PORT", "server.port"),
    ("MAX_CONNECTIONS", "server.max_connections"),
    ("OLLAMA_HOST", "llm.url"),
    ("DEFAULT_MODEL", "llm.model"),
    ("MAX_CONTEXT_MESSAGES", "chat.max_context_messages"),
    ("DATABASE_PATH", "storage.database_path"),
    ("LOG_LEVEL", "logging.level"),
    ("SESSION_TIMEOUT_HOURS", "persona.conversation_idle_secs"),
    ("MEMORY_PRUNING_THRESHOLD", "memory.pruning_threshold"),
    ("MEMORY_MIN_SAFE_COUNT", "memory.min_safe_count"),
    ("MEMORY_MAX_PRUNE_PERCENT", "memory.max_prune_percent"),
    ("MEMORY_AUTO_PRUNE_THRESHOLD", "memory.auto_prune_threshold"),
    ("MEMORY_DECAY_ENABLED", "memory.decay_enabled"),
    ("MEMORY_DECAY_MODE", "memory.decay_mode"),
    ("MEMORY_DECAY_INTERVAL_MINUTES", "memory.decay_interval_minutes"),
    ("PERSONA_REGEN_TICK_SECONDS", "persona.regen_tick_secs"),
    ("PERSONA_ENERGY_PER_TICK", "persona.energy_per_tick"),
];

impl Settings {
    /// Loads every layer. `file`: an explicit config file (must exist); otherwise `persona-mcp.toml` in the
    /// working directory is read when present. `.env` is read into the environment first (never overriding it).
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        let defaults = Config::try_from(&Settings::default())
            .map_err(|e| ConfigError::new("(defaults)", e, "built-in defaults must serialise"))?;
        let mut builder = Config::builder().add_source(defaults);
        builder = match file {
            Some(path) => builder.add_source(File::from(path).format(FileFormat::Toml).required(true)),
            None => builder.add_source(File::new("persona-mcp", FileFormat::Toml).required(false)),
        };
        for (name, key) in LEGACY_ENV {
            if let Ok(value) = std::env::var(name) {
                builder = builder
                    .set_override(*key, legacy_value(name, value))
                    .map_err(|e| ConfigError::new(key, name, &e.to_string()))?;
            }
        }
        let env = Environment::with_prefix("PERSONA_MCP")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true)
            .list_separator(",")
            .with_list_parse_key("server.allowed_origins")
            .with_list_parse_key("chat.vision_models");
        let config = builder
            .add_source(env)
            .build()
            .map_err(|e| ConfigError::new("(config)", "", &e.to_string()))?;
        let mut settings: Settings = config.clone().try_deserialize().map_err(|e| {
            let key = config_key(&e);
            let given = config.get_string(&key).unwrap_or_default();
            let text = e.to_string();
            let allowed = text.split(" for key `").next().unwrap_or(&text);
            ConfigError::new(&key, given, allowed)
        })?;
        settings.validate()?;
        settings.config_file = file.map(Path::to_path_buf);
        Ok(settings)
    }
}

/// `OLLAMA_HOST` is often given as `host:port` without a scheme; `SESSION_TIMEOUT_HOURS` is in hours.
fn legacy_value(name: &str, value: String) -> String {
    match name {
        "OLLAMA_HOST" if !value.contains("://") => format!("http://{value}"),
        "SESSION_TIMEOUT_HOURS" => value
            .trim()
            .parse::<f64>()
            .map(|h| ((h * 3600.0).round() as u64).to_string())
            .unwrap_or(value),
        _ => value,
    }
}

/// The key a deserialisation error names, when it names one.
fn config_key(e: &config::ConfigError) -> String {
    let text = e.to_string();
    text.split(" for key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or("(config)")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_ollama_host_gets_a_scheme() {
        assert_eq!(legacy_value("OLLAMA_HOST", "gpu:11434".into()), "http://gpu:11434");
        assert_eq!(legacy_value("SERVER_PORT", "9000".into()), "9000");
        assert_eq!(legacy_value("SESSION_TIMEOUT_HOURS", "1.5".into()), "5400");
    }
}

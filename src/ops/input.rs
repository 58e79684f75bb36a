//! Typed inputs of operations: the checks every input gets, and the inputs several namespaces share.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::error::AppError;

/// The typed input of an operation, decoded from a wire and checked before the operation runs.
pub trait Input: DeserializeOwned + JsonSchema + Send + 'static {
    /// Range checks beyond what the type says; the error names the field.
    fn validate(&self) -> Result<(), AppError> {
        Ok(())
    }
}

/// No parameters.
#[derive(Deserialize, JsonSchema, Default)]
pub struct NoParams {}
impl Input for NoParams {}

/// A persona named by id or name.
#[derive(Deserialize, JsonSchema)]
pub struct PersonaRef {
    /// Persona id or name (case-insensitive).
    pub persona_id: String,
}
impl Input for PersonaRef {
    fn validate(&self) -> Result<(), AppError> {
        non_empty("persona_id", &self.persona_id)
    }
}

/// An optional persona (default: the current one).
#[derive(Deserialize, JsonSchema, Default)]
pub struct MaybePersona {
    /// Persona id or name; default: the connection's current persona.
    #[serde(default)]
    pub persona_id: Option<String>,
}
impl Input for MaybePersona {}

/// Fails with "`field` is required" when `value` is blank.
pub fn non_empty(field: &str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() {
        Err(AppError::required(field))
    } else {
        Ok(())
    }
}

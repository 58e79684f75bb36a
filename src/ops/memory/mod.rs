//! Memory operations: store and import, search (a persona's own and across personas), get, edit and delete,
//! statistics, pruning and decay. Who a call acts as is the explicit [`Target`] (issue 26's visibility rule: the
//! persona named acts; with none, the caller's current persona; with neither, the operator where the operation
//! allows it).

pub mod browse;
pub mod decay;
pub mod edit;
pub mod import;
pub mod items;
pub mod legacy;
pub mod pruning;
pub mod shared;

use uuid::Uuid;

use super::target::Target;
use crate::app::Core;
use crate::domain::memory::Reader;
use crate::error::AppError;

/// The persona `target` names, else its current persona; `None` (the operator, or every persona) with neither.
async fn persona_or_none(core: &Core, target: Target<'_>) -> Result<Option<Uuid>, AppError> {
    Ok(match target.named.filter(|s| !s.trim().is_empty()) {
        Some(key) => Some(core.resolve_persona(key).await?.id),
        None => target.current,
    })
}

/// Who a call about one memory reads as: the persona `target` names, else its current persona, else the operator.
async fn reader(core: &Core, target: Target<'_>) -> Result<Reader, AppError> {
    Ok(persona_or_none(core, target)
        .await?
        .map_or(Reader::Operator, Reader::Persona))
}

/// -32602 naming `field` unless `value` is within `lo..=hi`.
fn check_range(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), AppError> {
    if !(lo..=hi).contains(&value) || value.is_nan() {
        return Err(AppError::invalid(
            field,
            format!("{field} must be a number between {lo:.1} and {hi:.1}"),
        ));
    }
    Ok(())
}

/// `value` as a count of at most `max` (and at least 1), or -32602 naming `field`.
fn count_param(field: &str, value: i64, max: i64) -> Result<usize, AppError> {
    if !(1..=max).contains(&value) {
        return Err(AppError::invalid(field, format!("{field} must be between 1 and {max}")));
    }
    Ok(value as usize)
}

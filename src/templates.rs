//! Prompt template files: `<data_dir>/templates/system.j2` and `summary.j2` replace the built-in templates for
//! every persona, `<data_dir>/templates/personas/<name>/system.j2` (or `summary.j2`) for one persona. Read and
//! checked once at start: a broken template, or a file that names no template, stops the server.

use std::path::Path;

use crate::domain::templates::{PromptTemplates, TemplateError, TemplateKind, TemplateOverride};

/// The `.j2` files of `dir` that name a template, sorted by name.
fn template_files(dir: &Path, persona: Option<&str>) -> Result<Vec<TemplateOverride>, TemplateError> {
    let io_error = |path: &Path, e: std::io::Error| TemplateError {
        file: path.display().to_string(),
        line: None,
        message: e.to_string(),
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| io_error(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("j2") {
            continue;
        }
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let kind = TemplateKind::parse(stem).ok_or_else(|| TemplateError {
            file: path.display().to_string(),
            line: None,
            message: "not a template name (expected system.j2 or summary.j2)".into(),
        })?;
        let source = std::fs::read_to_string(&path).map_err(|e| io_error(&path, e))?;
        found.push(TemplateOverride {
            kind,
            persona: persona.map(str::to_string),
            file: path.display().to_string(),
            source,
        });
    }
    Ok(found)
}

/// The built-in templates with the files of `<data_dir>/templates/` in their place (none: the built-in ones).
pub fn load(data_dir: &Path) -> Result<PromptTemplates, TemplateError> {
    let dir = data_dir.join("templates");
    if !dir.is_dir() {
        return Ok(PromptTemplates::builtin());
    }
    let mut overrides = template_files(&dir, None)?;
    let personas = dir.join("personas");
    if personas.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(&personas)
            .and_then(|entries| entries.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TemplateError {
                file: personas.display().to_string(),
                line: None,
                message: e.to_string(),
            })?;
        names.sort_by_key(|e| e.file_name());
        for entry in names.into_iter().filter(|e| e.path().is_dir()) {
            let name = entry.file_name().to_string_lossy().to_string();
            overrides.extend(template_files(&entry.path(), Some(&name))?);
        }
    }
    PromptTemplates::new(overrides)
}

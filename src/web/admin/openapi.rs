//! The admin API's OpenAPI 3.1 document, served at `/admin/api/v1/openapi.json`. Paths, methods, parameters and
//! status codes come from the `#[utoipa::path]` annotation on each route handler (collected by
//! `utoipa-actix-web` from the very calls that register the routes, so a route is served only with its
//! documentation); the body schemas come from the request and result types' `schemars` derives (the same
//! schemas MCP's `tools/list` shows), carried into utoipa's types verbatim by [`schema_parts`] and [`raw`].

use std::collections::HashMap;
use std::sync::OnceLock;

use actix_web::{get, HttpResponse};
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{Map, Value};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{Object, Schema, SchemaType};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, InfoBuilder, OpenApi, Ref, RefOr};
use utoipa::ToSchema;
use utoipa_actix_web::AppExt;

use crate::web::error::ErrorBody;

/// Where components live in the document.
const COMPONENTS: &str = "#/components/schemas/";

/// Whether a type is read from a request or written in a response: serde's defaults make the two schemas differ
/// (a field with a default is optional in a request, always present in a response).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Read from a request body.
    Request,
    /// Written in a response body.
    Response,
}

/// The JSON Schema (2020-12, the dialect of OpenAPI 3.1) of `T` as schemars derives it, with the named types it
/// uses as `$ref`s to `#/components/schemas/…`, and those types' schemas. `without` names properties that a route
/// takes from its path instead of the body. Types nested in request bodies get the suffix `Input`, so a type read
/// in one place and written in another never shares a component.
pub fn schema_parts<T: JsonSchema>(direction: Direction, without: &[&str]) -> (Value, Vec<(String, Value)>) {
    let mut settings = SchemaSettings::draft2020_12();
    settings = match direction {
        Direction::Request => settings.for_deserialize(),
        Direction::Response => settings.for_serialize(),
    };
    settings.definitions_path = "/components/schemas".into();
    let mut root = serde_json::to_value(settings.into_generator().into_root_schema_for::<T>()).unwrap_or(Value::Null);
    let mut nested = match root.as_object_mut() {
        Some(map) => {
            map.remove("$schema");
            map.remove("title");
            match map.remove("components") {
                Some(Value::Object(mut c)) => match c.remove("schemas") {
                    Some(Value::Object(defs)) => defs.into_iter().collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    drop_properties(&mut root, without);
    if direction == Direction::Request {
        let renamed: HashMap<String, String> = nested.iter().map(|(n, _)| (n.clone(), format!("{n}Input"))).collect();
        rename_refs(&mut root, &renamed);
        for (name, schema) in &mut nested {
            rename_refs(schema, &renamed);
            *name = renamed[name.as_str()].clone();
        }
    }
    (root, nested)
}

/// Removes `fields` from an object schema's properties and required list.
fn drop_properties(schema: &mut Value, fields: &[&str]) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for f in fields {
            props.remove(*f);
        }
    }
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.retain(|r| !fields.iter().any(|f| r == f));
    }
}

/// Points every `$ref` to a renamed component at its new name.
fn rename_refs(schema: &mut Value, renamed: &HashMap<String, String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let target = value.as_str().and_then(|r| r.strip_prefix(COMPONENTS));
                match target.and_then(|t| renamed.get(t)) {
                    Some(new) if key == "$ref" => *value = Value::String(format!("{COMPONENTS}{new}")),
                    _ => rename_refs(value, renamed),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, renamed)),
        _ => {}
    }
}

/// A JSON Schema as a utoipa schema, every keyword kept as it is (utoipa's typed fields stay empty; the schema
/// object's keywords ride in its flattened extension map, which serialises them unchanged).
pub fn raw(schema: Value) -> RefOr<Schema> {
    let mut object = Object::default();
    object.schema_type = SchemaType::AnyValue;
    let keywords = match schema {
        Value::Object(map) => map,
        Value::Bool(true) => Map::new(),
        other => Map::from_iter([("const".to_string(), other)]),
    };
    object.extensions = Some(Extensions::from_iter(keywords));
    RefOr::T(Schema::Object(object))
}

/// Implements utoipa's `ToSchema` for types that derive schemars' `JsonSchema`, under a component name of the
/// API's (`Type => "Name"`), optionally without properties the route takes from its path; `fn list` is made to
/// answer every component these types bring, for the test that no two differ under one name.
#[macro_export]
macro_rules! openapi_schemas {
    (fn $list:ident; $direction:ident: $($t:ty => $name:literal $([without $($field:literal),+])?),+ $(,)?) => {
        /// Every component the types of this list bring: (name, schema).
        #[cfg(test)]
        pub fn $list() -> Vec<(String, serde_json::Value)> {
            let mut out = Vec::new();
            $(
                let without: &[&str] = &[$($($field),+)?];
                let (own, nested) = $crate::web::admin::openapi::schema_parts::<$t>(
                    $crate::web::admin::openapi::Direction::$direction,
                    without,
                );
                out.push(($name.to_string(), own));
                out.extend(nested);
            )+
            out
        }
        $(
            impl utoipa::PartialSchema for $t {
                fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                    let without: &[&str] = &[$($($field),+)?];
                    $crate::web::admin::openapi::raw(
                        $crate::web::admin::openapi::schema_parts::<$t>(
                            $crate::web::admin::openapi::Direction::$direction,
                            without,
                        )
                        .0,
                    )
                }
            }
            impl utoipa::ToSchema for $t {
                fn name() -> std::borrow::Cow<'static, str> {
                    std::borrow::Cow::Borrowed($name)
                }
                fn schemas(
                    out: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>,
                ) {
                    let without: &[&str] = &[$($($field),+)?];
                    let nested = $crate::web::admin::openapi::schema_parts::<$t>(
                        $crate::web::admin::openapi::Direction::$direction,
                        without,
                    )
                    .1;
                    out.extend(nested.into_iter().map(|(n, s)| (n, $crate::web::admin::openapi::raw(s))));
                }
            }
        )+
    };
}

/// The document: every route registered by [`super::api_routes`], under [`super::API`], with the bearer token
/// scheme and the one error body as every operation's `default` response.
pub fn document() -> OpenApi {
    let (_, mut api) = actix_web::App::new()
        .into_utoipa_app()
        .service(utoipa_actix_web::scope(super::API).configure(super::api_routes))
        .split_for_parts();
    api.info = InfoBuilder::new()
        .title("persona-mcp admin API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Management of personas, memories, relationships, conversations, bots and state files. Every route \
             needs `Authorization: Bearer <admin token>`; errors answer `{\"error\": {\"code\", \"message\", \
             \"details\"}}`.",
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components
        .schemas
        .insert(ErrorBody::name().into(), <ErrorBody as utoipa::PartialSchema>::schema());
    let mut nested = Vec::new();
    <ErrorBody as ToSchema>::schemas(&mut nested);
    components.schemas.extend(nested);
    api.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
    let error = ResponseBuilder::new()
        .description("An error: 400 bad request or JSON, 401 no or wrong token, 404 unknown id, 409 conflict, 413 too large, 415 wrong media type, 422 a field is wrong, 500")
        .content("application/json", Content::new(Some(Ref::from_schema_name(ErrorBody::name()))))
        .build();
    for (path, item) in api.paths.paths.iter_mut() {
        let route: String = path
            .trim_start_matches(super::API)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        for (method, op) in [
            ("get", &mut item.get),
            ("put", &mut item.put),
            ("post", &mut item.post),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ] {
            if let Some(op) = op {
                op.operation_id = Some(format!("{method}{}", route.trim_end_matches('_')));
                op.responses.responses.insert("default".into(), RefOr::T(error.clone()));
            }
        }
    }
    api
}

/// The document as JSON, made once.
pub fn document_json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        document()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    })
}

/// Any JSON object (the free-form answers: this document, the configuration, the metrics summary).
#[derive(serde::Serialize, JsonSchema)]
#[schemars(transparent)]
pub struct AnyObject(pub Map<String, Value>);

/// Bytes (an image, a state file).
pub struct Binary;

impl JsonSchema for Binary {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Binary".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "binary" })
    }
}

/// A multipart form with one field `file`.
#[derive(JsonSchema)]
pub struct FileUpload {
    /// The file's bytes.
    pub file: Binary,
}

crate::openapi_schemas!(fn shared_responses; Response: AnyObject => "AnyObject", Binary => "Binary");
crate::openapi_schemas!(fn shared_requests; Request: FileUpload => "FileUpload");

/// `GET /openapi.json`.
#[utoipa::path(
    tag = "docs",
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = AnyObject))
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_with_every_component_it_references() {
        let doc: Value = serde_json::from_str(document_json()).expect("JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().expect("components");
        for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(schemas.contains_key(name), "{name} is referenced but not a component");
        }
        assert!(doc["paths"]["/admin/api/v1/personas"]["get"]["responses"]["200"].is_object());
    }

    #[test]
    fn no_two_types_share_a_component_name() {
        let mut seen: HashMap<String, Value> = HashMap::new();
        let all = [
            shared_responses(),
            shared_requests(),
            super::super::schemas::responses(),
            super::super::schemas::requests(),
        ];
        for (name, schema) in all.into_iter().flatten() {
            match seen.get(&name) {
                Some(first) => assert_eq!(first, &schema, "two different schemas are named {name}"),
                None => {
                    seen.insert(name, schema);
                }
            }
        }
    }

    #[test]
    fn request_types_get_their_own_components() {
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Inner {
            #[serde(default)]
            n: u32,
        }
        #[derive(JsonSchema)]
        #[allow(dead_code)]
        struct Outer {
            id: String,
            inner: Inner,
        }
        let (own, nested) = schema_parts::<Outer>(Direction::Request, &["id"]);
        assert_eq!(own["properties"]["inner"]["$ref"], "#/components/schemas/InnerInput");
        assert!(own["properties"].get("id").is_none());
        assert_eq!(nested[0].0, "InnerInput");
        let (_, nested) = schema_parts::<Outer>(Direction::Response, &[]);
        assert_eq!(nested[0].1["required"], serde_json::json!(["n"]));
    }

    #[test]
    fn raw_schemas_serialise_unchanged() {
        let schema = serde_json::json!({"type": "object", "properties": {"a": {"const": 1}}, "required": ["a"]});
        assert_eq!(serde_json::to_value(raw(schema.clone())).unwrap(), schema);
    }

    /// Every API route is registered through a documented handler (`cfg.service(handler)` of
    /// `utoipa_actix_web`, which takes only `#[utoipa::path]` handlers): a route added with `.route(...)` or
    /// `web::resource(...)` would be served without documentation, so the API's modules must not call them.
    #[test]
    fn no_api_route_is_registered_without_its_documentation() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/web/admin");
        for entry in std::fs::read_dir(dir).expect("src/web/admin") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            // The web page's routes are outside the API; this file names the calls it looks for.
            if !name.ends_with(".rs") || name == "page.rs" || name == "openapi.rs" {
                continue;
            }
            let source = std::fs::read_to_string(&path).expect("source");
            for call in [".route(", "web::resource(", ".to(", "web::get()", "web::post()"] {
                assert!(
                    !source.contains(call),
                    "{name} registers a route with {call} (undocumented)"
                );
            }
        }
    }
}

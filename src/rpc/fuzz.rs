//! A bounded fuzz run (proptest, a fixed number of cases) over JSON-RPC frame parsing and every method's param
//! decoding: random bytes and random JSON never panic, and every refusal is a proper JSON-RPC error (-32700,
//! -32600 or -32602), never -32603.

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::framing::{parse_request, RpcError, INVALID_PARAMS, INVALID_REQUEST};

/// Any JSON value, a few levels deep, with keys that often are real param names.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("persona_id".to_string()),
        Just("name".to_string()),
        Just("message".to_string()),
        Just("query".to_string()),
        Just("limit".to_string()),
        Just("charisma".to_string()),
        Just("memory_id".to_string()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn router() -> super::router::Router {
    super::router()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_parse_errors_or_requests(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
            if let Err((_, e)) = parse_request(value) {
                prop_assert_eq!(e.code, INVALID_REQUEST);
            }
        }
    }

    #[test]
    fn random_frames_are_requests_or_invalid_requests(frame in json()) {
        match parse_request(frame) {
            Ok(req) => prop_assert!(req.params.is_object() || req.params.is_array()),
            Err((_, e)) => prop_assert_eq!(e.code, INVALID_REQUEST),
        }
    }

    #[test]
    fn random_params_are_accepted_or_invalid_params(params in json()) {
        let router = router();
        for method in router.methods() {
            if let Err(e) = method.decode_params(params.clone()) {
                let e = RpcError::from(e);
                prop_assert_eq!(e.code, INVALID_PARAMS, "{} {}: {}", method.name, params, e.message);
            }
        }
    }

    #[test]
    fn wellformed_requests_with_random_params_decode_without_panic(
        method in prop::sample::select(router().methods().map(|m| m.name).collect::<Vec<_>>()),
        params in prop::collection::vec(("[a-z_]{1,16}", json()), 0..8),
    ) {
        let params = Value::Object(params.into_iter().collect());
        let frame = serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let req = parse_request(frame).map_err(|(_, e)| TestCaseError::fail(e.message))?;
        let router = router();
        let Some(m) = router.get(&req.method) else { return Err(TestCaseError::fail("unknown method")) };
        if let Err(e) = m.decode_params(req.params) {
            prop_assert_eq!(RpcError::from(e).code, INVALID_PARAMS);
        }
    }
}

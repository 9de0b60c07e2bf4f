//! Atlassian's ADF JSON Schema (draft-04), vendored in
//! `testdata/jira-reference` (Apache-2.0; see the README there).

use std::sync::LazyLock;

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/jira-reference/adf-schema.full.v1.json"
);

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let text = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_else(|e| {
        panic!(
            "the ADF schema is missing: {SCHEMA_PATH}: {e}. It is vendored in the \
             repository's testdata/jira-reference/."
        )
    });
    let schema: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{SCHEMA_PATH} is not JSON: {e}"));
    jsonschema::draft4::new(&schema)
        .unwrap_or_else(|e| panic!("{SCHEMA_PATH} does not compile: {e}"))
});

/// The schema's errors for `value`, empty when it is a valid ADF document.
pub fn adf_errors(value: &serde_json::Value) -> Vec<String> {
    VALIDATOR
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Fails the test unless `value` is a valid ADF document.
#[track_caller]
pub fn assert_valid_adf(value: &serde_json::Value) {
    let errors = adf_errors(value);
    assert!(errors.is_empty(), "not valid ADF: {errors:#?}\n{value:#}");
}

//! The embedded kv-schema JSON Schemas, and their errors as problems that never echo a secret.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::Value;

use super::{child, problem, Problem};
use crate::error::CliError;
use crate::kind::Kind;

/// The embedded schemas, compiled once.
pub(crate) struct Schemas {
    validators: HashMap<Kind, Validator>,
}

impl Schemas {
    /// Compiles every embedded schema.
    pub(crate) fn compile() -> Result<Self, CliError> {
        let mut validators = HashMap::new();
        for kind in Kind::ALL {
            let broken = |message: String| CliError::Schema {
                kind: kind.name(),
                message,
            };
            let schema: Value =
                serde_json::from_str(kind.schema_text()).map_err(|e| broken(e.to_string()))?;
            let validator =
                jsonschema::draft202012::new(&schema).map_err(|e| broken(e.to_string()))?;
            validators.insert(kind, validator);
        }
        Ok(Self { validators })
    }

    /// The schemas compiled once for the whole run: a plan of many tenant files checks every
    /// document of each, and compiling them per file cost more than the checks themselves.
    pub(crate) fn shared() -> Result<&'static Self, CliError> {
        static SHARED: OnceLock<Schemas> = OnceLock::new();
        if let Some(schemas) = SHARED.get() {
            return Ok(schemas);
        }
        let compiled = Self::compile()?;
        Ok(SHARED.get_or_init(|| compiled))
    }

    /// Checks `value` against the schema of `kind`; one problem per broken rule.
    pub(crate) fn check(&self, kind: Kind, file: &Path, value: &Value) -> Vec<Problem> {
        let Some(validator) = self.validators.get(&kind) else {
            return vec![problem(file, "", "no schema for this kind", "schema")];
        };
        let mut problems = Vec::new();
        for error in validator.iter_errors(value) {
            let base = error.instance_path().as_str().to_owned();
            let rule = error.kind().keyword().to_owned();
            match error.kind() {
                ValidationErrorKind::Required { property } => {
                    let name = property
                        .as_str()
                        .map_or_else(|| property.to_string(), str::to_owned);
                    problems.push(problem(
                        file,
                        &child(&base, &name),
                        "required field is missing",
                        &rule,
                    ));
                }
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        problems.push(problem(
                            file,
                            &child(&base, name),
                            "unknown field (not allowed here)",
                            &rule,
                        ));
                    }
                }
                ValidationErrorKind::Pattern { pattern } if pattern.contains("sealed:v1:") => {
                    problems.push(problem(
                        file,
                        &base,
                        "must be a sealed secret (\"sealed:v1:…\", made by `edge-idp seal \
                         --tenant <id>`); the value is not shown",
                        &rule,
                    ));
                }
                _ if holds_secret(&base) => problems.push(problem(
                    file,
                    &base,
                    "breaks its schema rule; the value is not shown because this field holds a \
                     secret",
                    &rule,
                )),
                _ => problems.push(problem(file, &base, &error.to_string(), &rule)),
            }
        }
        problems
    }
}

/// Whether the field at `pointer` holds a secret, so that its value must never be echoed.
fn holds_secret(pointer: &str) -> bool {
    let last = pointer.rsplit('/').next().unwrap_or("");
    ["password", "secret", "private_key"]
        .iter()
        .any(|word| last.ends_with(word))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_embedded_schema_compiles() {
        Schemas::compile().unwrap();
    }

    #[test]
    fn missing_and_unknown_fields_are_named_by_their_own_pointer() {
        let schemas = Schemas::compile().unwrap();
        let p = schemas.check(
            Kind::Host,
            Path::new("h.json"),
            &json!({"schema_version": 1, "x": 1}),
        );
        let pointers: Vec<_> = p.iter().map(|p| p.pointer.as_str()).collect();
        assert!(pointers.contains(&"/tenant"), "{p:?}");
        assert!(pointers.contains(&"/x"), "{p:?}");
    }

    #[test]
    fn plaintext_secret_is_never_echoed() {
        let schemas = Schemas::compile().unwrap();
        let doc: Value = serde_json::from_str(include_str!(
            "../../../kv-schema/examples/tenant/invalid-plaintext-background-password.json"
        ))
        .unwrap();
        let secret = doc["imis"]["background_account"]["password"]
            .as_str()
            .unwrap()
            .to_owned();
        let problems = schemas.check(Kind::Tenant, Path::new("t.json"), &doc);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pointer, "/imis/background_account/password");
        assert!(!problems[0].to_string().contains(&secret));
    }

    #[test]
    fn pointers_escape_slash_and_tilde() {
        assert_eq!(child("/a", "b/c~d"), "/a/b~1c~0d");
        assert!(holds_secret("/imis/sso/saml/client_secret"));
        assert!(holds_secret("/current/private_key"));
        assert!(!holds_secret("/imis/base_url"));
        assert!(!holds_secret("/imis/links/forgot_password_url"));
    }
}

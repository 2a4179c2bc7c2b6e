"""kv-schema/: every schema is a valid draft 2020-12 schema, every valid example passes its schema and
every invalid example fails it at exactly the field its entry in examples/expected-errors.json names.

Run: python3 -m pytest tests/unit/test_kv_schema.py (needs pytest and jsonschema).
"""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "kv-schema"
EXAMPLES = SCHEMA_DIR / "examples"
KINDS = ["host", "tenant", "saml-app", "oidc-client", "bridge-app", "keys"]
EXPECTED = json.loads((EXAMPLES / "expected-errors.json").read_text(encoding="utf-8"))


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(load(SCHEMA_DIR / f"{kind}.schema.json"))


def examples(prefix: str):
    return [
        pytest.param(kind, path, id=f"{kind}/{path.name}")
        for kind in KINDS
        for path in sorted((EXAMPLES / kind).glob(f"{prefix}-*.json"))
    ]


def pointer(path) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def field_pointers(error) -> set[str]:
    """The JSON pointers of the fields an error is about. A missing or unexpected property is named by
    its own pointer rather than its parent's, as `edge-idp validate` reports it."""
    base = pointer(error.absolute_path)
    if error.validator == "required":
        return {f"{base}/{name}" for name in error.validator_value if name not in error.instance}
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = error.schema.get("properties", {})
        return {f"{base}/{name}" for name in error.instance if name not in known}
    return {base}


def test_every_kind_has_a_schema_and_examples():
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{k}.schema.json" for k in KINDS
    )
    for kind in KINDS:
        names = [p.name for p in (EXAMPLES / kind).glob("*.json")]
        assert any(n.startswith("valid-") for n in names), kind
        assert sum(n.startswith("invalid-") for n in names) >= 3, kind
        assert all(n.startswith(("valid-", "invalid-")) for n in names), names


def test_expected_errors_list_exactly_the_invalid_examples():
    on_disk = {f"{k}/{p.name}" for k in KINDS for p in (EXAMPLES / k).glob("invalid-*.json")}
    assert set(EXPECTED) == on_disk


@pytest.mark.parametrize("kind", KINDS)
def test_schema_is_valid_draft_2020_12(kind):
    schema = load(SCHEMA_DIR / f"{kind}.schema.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {
        "description": "Version of this value's shape.",
        "const": 1,
    }
    assert "schema_version" in schema["required"]


@pytest.mark.parametrize("kind", ["host", "tenant"])
def test_host_and_tenant_schemas_are_strict(kind):
    def objects(node):
        if isinstance(node, dict):
            if node.get("type") == "object":
                yield node
            for v in node.values():
                yield from objects(v)
        elif isinstance(node, list):
            for v in node:
                yield from objects(v)

    found = list(objects(load(SCHEMA_DIR / f"{kind}.schema.json")))
    assert found
    for obj in found:
        assert obj.get("additionalProperties") is False, obj.get("description", obj)


@pytest.mark.parametrize("kind,path", examples("valid"))
def test_valid_example_passes(kind, path):
    errors = [f"{pointer(e.absolute_path)}: {e.message}" for e in validator(kind).iter_errors(load(path))]
    assert errors == []


@pytest.mark.parametrize("kind,path", examples("invalid"))
def test_invalid_example_fails_at_the_named_field(kind, path):
    errors = list(validator(kind).iter_errors(load(path)))
    assert errors, f"{path.name} unexpectedly passes"
    pointers = set().union(*(field_pointers(e) for e in errors))
    assert pointers == {EXPECTED[f"{kind}/{path.name}"]}, [e.message for e in errors]


def test_plaintext_secrets_are_refused_but_sealed_ones_pass():
    v = validator("tenant")
    tenant = load(EXAMPLES / "tenant" / "valid-acme-cloud.json")
    sealed = tenant["imis"]["background_account"]["password"]
    for plain in ["hunter2", "sealed:v1:", "sealed:v2:" + sealed[10:], sealed + "!", " " + sealed]:
        tenant["imis"]["background_account"]["password"] = plain
        assert not v.is_valid(tenant), plain
    tenant["imis"]["background_account"]["password"] = sealed
    assert v.is_valid(tenant)


def test_legacy_mode_needs_no_sso_but_cloud_mode_does():
    v = validator("tenant")
    legacy = load(EXAMPLES / "tenant" / "valid-globex-legacy.json")
    assert "sso" not in legacy["imis"] and v.is_valid(legacy)
    legacy["identity_mode"] = "imis_cloud"
    assert not v.is_valid(legacy)

"""schemas/ is generated from the models and agrees with them."""

from __future__ import annotations

import json

import jsonschema
import pytest

from kisync.model import Document
from kisync.schema import generate_schemas, render, write_schemas
from tests.conftest import REPO

EXAMPLES = sorted((REPO / "examples").glob("*.json"))
BROKEN = sorted((REPO / "examples" / "broken").glob("*.json"))


def exchange_validator() -> jsonschema.Draft202012Validator:
    # Formats (date, date-time, uri) are only annotations in 2020-12 unless a checker asserts them.
    schema = generate_schemas()["exchange-v1.schema.json"]
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("name", sorted(generate_schemas()))
def test_checked_in_schema_matches_the_models(name):
    checked_in = (REPO / "schemas" / name).read_text(encoding="utf-8")
    assert checked_in == render(generate_schemas()[name]), f"schemas/{name} is stale: run `kisync schema`"


def test_schemas_are_valid_2020_12():
    for schema in generate_schemas().values():
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_write_schemas(tmp_path):
    written = write_schemas(tmp_path)
    assert {p.name for p in written} == set(generate_schemas())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_satisfy_schema_and_models(path):
    """An independent validator (jsonschema) and the models agree on every example."""
    document = json.loads(path.read_text(encoding="utf-8"))
    validator = exchange_validator()
    assert [e.message for e in validator.iter_errors(document)] == []
    Document.model_validate(document)


def test_schema_rejects_what_the_models_reject():
    document = json.loads((REPO / "examples" / "broken" / "invalid-items.json").read_text(encoding="utf-8"))
    validator = exchange_validator()
    bad = {tuple(e.absolute_path)[:2] for e in validator.iter_errors(document)}
    assert {("data", 1), ("data", 2), ("data", 3), ("data", 4), ("data", 5)} <= bad


def test_extensions_allowed_unknown_fields_refused():
    validator = jsonschema.Draft202012Validator(generate_schemas()["item-v1.schema.json"])
    item = json.loads((REPO / "examples" / "ki-05170-kreis-wesel.json").read_text(encoding="utf-8"))["data"][0]
    assert validator.is_valid({**item, "_intern": {"nr": 1}})
    assert not validator.is_valid({**item, "intern": 1})
    tombstone = {k: item[k] for k in ("id", "kind", "origin", "created", "modified")} | {"deleted": True}
    assert validator.is_valid(tombstone)
    assert not validator.is_valid({**tombstone, "title": "left over"})

"""JSON Schema files generated from the models (``kisync schema``).

The files in ``schemas/`` are checked in so that centres can validate
their exports without kisync; a test fails when they drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from kisync.model import AnyItem, Document

SCHEMA_BASE = "https://kisync.example/schemas/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _with_header(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": SCHEMA_BASE + name, "title": title, **{k: v for k, v in schema.items() if k != "title"}}


def generate_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema 2020-12 document."""
    document = Document.model_json_schema(mode="validation")
    item = TypeAdapter(AnyItem).json_schema(mode="validation")
    return {
        "exchange-v1.schema.json": _with_header(document, "exchange-v1.schema.json", "kisync exchange document v1"),
        "item-v1.schema.json": _with_header(item, "item-v1.schema.json", "kisync item or tombstone v1"),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_schemas(directory: str | Path = "schemas") -> list[Path]:
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generate_schemas().items():
        path = target / name
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def model_for(name: str) -> type[BaseModel] | TypeAdapter:
    return Document if name.startswith("exchange") else TypeAdapter(AnyItem)

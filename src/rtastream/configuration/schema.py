"""The shipped JSON Schema of RTA configuration (rta-config.schema.json, next to this
module), and checking a document against it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "rta-config.schema.json"


@cache
def load() -> dict[str, Any]:
    """The schema, as parsed JSON (draft-07)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Any:
    # Imported when first needed: it takes longer to import than the rest of rtastream.
    import jsonschema  # type: ignore[import-untyped]

    return jsonschema.Draft7Validator(load())


def path(parts: Iterable[Any]) -> str:
    """A field's place in the document: demo.parameters[0].conv."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(the document)"


def check(document: Mapping[str, Any]) -> None:
    """ValueError naming the first field (in document order) the schema refuses."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        error = errors[0]
        # A `not` says nothing of why: its schema's comment does.
        message = error.schema.get("$comment") if error.validator == "not" else None
        raise ValueError(f"configuration {path(error.absolute_path)}: {message or error.message}")

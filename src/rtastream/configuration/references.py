"""What a schema cannot check: what refers to what across a configuration, ids unique, and
lengths that must match. Works on the JSON form, so an error names the field as the JSON
spells it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

MAX_EVENT_CONVERSIONS = 3
"""ATLAS shows at most three data values per event."""


def _items(document: Mapping[str, Any], kind: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for app, body in document.items():
        for i, item in enumerate(body.get(kind, ())):
            yield f"{app}.{kind}[{i}]", item


def _groups(document: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    def walk(where: str, groups: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
        for i, group in enumerate(groups):
            here = f"{where}[{i}]"
            yield here, group
            yield from walk(f"{here}.groups", group.get("groups", ()))

    for app, body in document.items():
        yield from walk(f"{app}.tree.groups", body.get("tree", {}).get("groups", ()))


def _unique(items: list[tuple[str, Any]], what: str) -> set[Any]:
    seen: dict[Any, str] = {}
    for where, value in items:
        if value in seen:
            raise ValueError(f"configuration {where}: {what} {value!r} is also {seen[value]}'s")
        seen[value] = where
    return set(seen)


def _known(where: str, field: str, value: Any, known: set[Any], what: str) -> None:
    if value not in known:
        shown = ", ".join(map(repr, sorted(known))) or "none"
        raise ValueError(
            f"configuration {where}.{field}: {value!r} names no {what} (the configuration's "
            f"{what}s: {shown})"
        )


def check(document: Mapping[str, Any]) -> None:
    """ValueError naming the first field that refers to nothing, repeats an id, or holds
    more than its kind allows. `document` has passed the schema."""
    parameters = _unique([(w, p["id"]) for w, p in _items(document, "parameters")], "id")
    channels = _unique([(w, c["id"]) for w, c in _items(document, "channels")], "channel id")
    conversions = _unique([(w, c["name"]) for w, c in _items(document, "conversions")], "name")
    _unique([(w, e["id"]) for w, e in _items(document, "events")], "event id")
    _unique([(w, g["id"]) for w, g in _groups(document)], "group id")
    for where, parameter in _items(document, "parameters"):
        _known(where, "conv", parameter["conv"], conversions, "conversion")
        for i, channel in enumerate(parameter.get("channels", ())):
            _known(where, f"channels[{i}]", channel, channels, "channel")
    for where, event in _items(document, "events"):
        convs = event.get("convs", ())
        if len(convs) > MAX_EVENT_CONVERSIONS:
            raise ValueError(
                f"configuration {where}.convs: {len(convs)} conversions, but ATLAS shows at "
                f"most {MAX_EVENT_CONVERSIONS} data values per event"
            )
        for i, name in enumerate(convs):
            _known(where, f"convs[{i}]", name, conversions, "conversion")
    for where, error in _items(document, "errors"):
        for field in ("current", "logged"):
            _known(where, field, error[field], parameters, "parameter")
    for app, body in document.items():
        for i, name in enumerate(body.get("tree", {}).get("params", ())):
            _known(f"{app}.tree", f"params[{i}]", name, parameters, "parameter")
    for where, group in _groups(document):
        for i, name in enumerate(group.get("params", ())):
            _known(where, f"params[{i}]", name, parameters, "parameter")
    for where, conversion in _items(document, "conversions"):
        _lengths(where, conversion.get("table"), "table", "raw", "calibrated")
        _lengths(where, conversion.get("text"), "text", "keys", "values")


def _lengths(where: str, mapping: Any, name: str, first: str, second: str) -> None:
    if mapping is not None and len(mapping[first]) != len(mapping[second]):
        raise ValueError(
            f"configuration {where}.{name}: {len(mapping[first])} {first} but "
            f"{len(mapping[second])} {second} (one each)"
        )

"""A checklist template read back from its JSON form (an upload to HQ, a row pulled by a
device): both sides read it alike, and refuse a malformed one with one clear reason."""

from __future__ import annotations

from typing import Any

from fieldtech.domain.checklists import Item, ItemType, OutOfRange, Template
from fieldtech.domain.errors import BadInput


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    raise TypeError(f"{v!r} (text expected)")


def _number(v: Any) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise TypeError(f"{v!r} (a number expected)")
    return v


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    if not isinstance(v, list) or any(isinstance(c, dict | list) for c in v):
        raise TypeError(f"{v!r} (a list of words expected)")
    return v


def template_from_json(d: dict[str, Any]) -> Template:
    try:
        items = tuple(
            Item(
                key=str(i["key"]),
                label=str(i["label"]),
                type=ItemType(i["type"]),
                section=str(i.get("section") or "General"),
                required=bool(i.get("required")),
                unit=_text(i.get("unit")),
                min=_number(i.get("min")),
                max=_number(i.get("max")),
                choices=tuple(str(c) for c in _list(i.get("choices"))),
                out_of_range=OutOfRange(i.get("out_of_range") or "warn"),
                help=_text(i.get("help")),
            )
            for i in d["items"]
        )
        t = Template(
            str(d["id"]),
            int(d.get("version") or 1),
            str(d["name"]),
            str(d["job_kind"]),
            _text(d.get("category")),
            items,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise BadInput(f"template refused: {exc!s} is missing or wrong") from None
    keys = [i.key for i in t.items]
    if len(set(keys)) != len(keys):
        raise BadInput(f"template {t.id}: item keys must be unique")
    if not items:
        raise BadInput(f"template {t.id}: no items")
    return t

"""Checklists: item types, how a reading is judged, and what closing a job requires."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fieldtech.domain.errors import BadInput
from fieldtech.domain.jobs import code_matches


class ItemType(StrEnum):
    TICK = "tick"
    NUMBER = "number"
    CHOICE = "choice"
    TEXT = "text"
    PHOTO = "photo"
    SIGNATURE = "signature"


class OutOfRange(StrEnum):
    WARN = "warn"  # allowed, but only with a comment saying why
    BLOCK = "block"  # recorded (it is a real measurement) but the job cannot close on it


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    type: ItemType
    section: str = "General"
    required: bool = False
    unit: str | None = None
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    out_of_range: OutOfRange = OutOfRange.WARN
    help: str | None = None

    def range_words(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.min is not None and self.max is not None:
            return f"{_num(self.min)}–{_num(self.max)}{unit}"
        if self.min is not None:
            return f"≥ {_num(self.min)}{unit}"
        if self.max is not None:
            return f"≤ {_num(self.max)}{unit}"
        return unit.strip()


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    name: str
    job_kind: str
    category: str | None
    items: tuple[Item, ...] = field(default_factory=tuple)

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise BadInput(f"checklist {self.name!r} has no item {key!r}")

    @property
    def sections(self) -> list[str]:
        seen: list[str] = []
        for item in self.items:
            if item.section not in seen:
                seen.append(item.section)
        return seen


class Verdict(StrEnum):
    OK = "ok"
    WARNING = "warning"  # out of range, allowed with a comment
    BLOCKER = "blocker"  # out of range, job cannot close


@dataclass(frozen=True)
class Judgement:
    value: str  # normalised text as stored
    verdict: Verdict
    message: str | None = None


def _num(x: float) -> str:
    return f"{x:g}"


TRUE_WORDS = {"1", "y", "yes", "true", "done", "ok", "x", "✓"}
FALSE_WORDS = {"0", "n", "no", "false", "not done", ""}


def judge(item: Item, raw: object, comment: str | None = None) -> Judgement:
    """Normalise a reading and say whether it is fine, a warning or a blocker.

    Raises BadInput when the value is not of the item's type at all (nothing is recorded).
    """
    text = "" if raw is None else str(raw).strip()
    if item.type is ItemType.TICK:
        low = text.lower()
        if low in TRUE_WORDS:
            return Judgement("yes", Verdict.OK)
        if low in FALSE_WORDS:
            return Judgement("no", Verdict.OK)
        raise BadInput(f"{item.label}: answer yes or no, not {text!r}")
    if item.type is ItemType.NUMBER:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            raise BadInput(f"{item.label}: {text!r} is not a number") from None
        if not math.isfinite(number):
            raise BadInput(f"{item.label}: {text!r} is not a number")
        low_bad = item.min is not None and number < item.min
        high_bad = item.max is not None and number > item.max
        value = _num(number)
        if low_bad or high_bad:
            unit = f" {item.unit}" if item.unit else ""
            msg = f"{item.label}: {value}{unit} is outside {item.range_words()}"
            if item.out_of_range is OutOfRange.BLOCK:
                return Judgement(value, Verdict.BLOCKER, msg + "; must be put right before closing")
            if not (comment and comment.strip()):
                raise BadInput(msg + "; add a comment saying why")
            return Judgement(value, Verdict.WARNING, msg)
        return Judgement(value, Verdict.OK)
    if item.type is ItemType.CHOICE:
        for choice in item.choices:
            if choice.lower() == text.lower():
                return Judgement(choice, Verdict.OK)
        raise BadInput(f"{item.label}: choose one of {', '.join(item.choices)}")
    if not text:
        raise BadInput(f"{item.label}: a value is required")
    if len(text) > 2000:
        raise BadInput(f"{item.label}: at most 2000 characters")
    return Judgement(text, Verdict.OK)


def is_satisfied(
    item: Item, value: str | None, verdict: str | None, *, attached: bool = False
) -> bool:
    """Whether the item is done. A photo item is done only when a file is attached to it:
    a typed reference to a picture is no proof of work."""
    if item.type is ItemType.PHOTO:
        return attached
    if attached and item.type is ItemType.SIGNATURE:
        return True  # a photographed paper signature
    if value is None:
        return False
    if verdict == Verdict.BLOCKER:
        return False
    if item.type is ItemType.TICK:
        return value == "yes"
    return value != ""


@dataclass(frozen=True)
class Reading:
    item_key: str
    value: str
    verdict: str
    comment: str | None = None


def missing_for_close(
    template: Template | None,
    readings: dict[str, Reading],
    *,
    outcome: str | None,
    signoff_name: str | None,
    code_given: str | None,
    code_hash: str | None,
    rating: int | None,
    attached: frozenset[str] = frozenset(),
) -> list[str]:
    """Everything that still stands between this job and closing, in words, in checklist
    order. `attached`: the keys of the items that have a file attached."""
    missing: list[str] = []
    if template is not None:
        for item in template.items:
            r = readings.get(item.key)
            has_file = item.key in attached
            if r is not None and r.verdict == Verdict.BLOCKER:
                missing.append(f"{item.label}: {r.value} is out of range ({item.range_words()})")
            elif item.required and not is_satisfied(
                item, r.value if r else None, None, attached=has_file
            ):
                what = {ItemType.TICK: "not ticked", ItemType.PHOTO: "no photo attached"}
                missing.append(f"{item.label}: {what.get(item.type, 'not recorded')}")
    if not outcome:
        missing.append("outcome not chosen")
    if not (signoff_name and signoff_name.strip()):
        missing.append("customer's name not typed")
    if not (code_given and code_given.strip()):
        missing.append("customer's confirmation code not entered")
    elif code_hash and not code_matches(code_given, code_hash):
        missing.append("confirmation code does not match the customer's")
    if rating is None:
        missing.append("customer's rating (1–5) not given")
    return missing


def progress(
    template: Template | None,
    readings: dict[str, Reading],
    attached: frozenset[str] = frozenset(),
) -> tuple[int, int]:
    """(done, total) over the required items."""
    if template is None:
        return (0, 0)
    required = [i for i in template.items if i.required]
    done = 0
    for i in required:
        r = readings.get(i.key)
        value, verdict = (r.value, r.verdict) if r else (None, None)
        done += is_satisfied(i, value, verdict, attached=i.key in attached)
    return (done, len(required))


def item_from_row(row: dict[str, Any]) -> Item:
    import json

    choices = row.get("choices")
    if isinstance(choices, str):
        choices = json.loads(choices) if choices else []
    return Item(
        key=row["key"],
        label=row["label"],
        type=ItemType(row["type"]),
        section=row.get("section") or "General",
        required=bool(row.get("required")),
        unit=row.get("unit"),
        min=row.get("min"),
        max=row.get("max"),
        choices=tuple(choices or ()),
        out_of_range=OutOfRange(row.get("out_of_range") or "warn"),
        help=row.get("help"),
    )

"""The customer call-back after a closed job: skill, attitude, adherence, 1–5 each."""

from __future__ import annotations

from fieldtech.domain.errors import BadInput

SCORES = ("skill", "attitude", "adherence")
MAX_COMMENT = 2000


def check_score(name: str, value: object) -> int:
    try:
        n = int(str(value))
    except ValueError:
        raise BadInput(f"{name} must be a whole number from 1 to 5, not {value!r}") from None
    if not 1 <= n <= 5:
        raise BadInput(f"{name} must be from 1 to 5, not {n}")
    return n


def check_scores(skill: object, attitude: object, adherence: object) -> dict[str, int]:
    return {
        "skill": check_score("skill", skill),
        "attitude": check_score("attitude", attitude),
        "adherence": check_score("adherence", adherence),
    }


def check_comment(comment: str | None) -> str | None:
    text = (comment or "").strip()
    if len(text) > MAX_COMMENT:
        raise BadInput(f"a call-back comment can be at most {MAX_COMMENT} characters")
    return text or None

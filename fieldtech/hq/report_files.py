"""A service report's photos and files: listed in Markdown, shown in HTML.

The HTML report is one self-contained file (mailed to a customer, kept with a warranty
claim), so its pictures go inside it as data URIs, up to EMBED_BYTES in all: memory per
report stays bounded however many photos a job has; the rest are named with their hash,
which GET /v1/files/{sha256} answers.
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import Connection, select

from fieldtech.domain.attachments import KIND_WORDS, size_words
from fieldtech.hq import schema
from fieldtech.hq.db import HQ
from fieldtech.hq.uploads import holders

EMBED_BYTES = 24 * 1024 * 1024
PICTURES = ("image/jpeg", "image/png")


def job_files(conn: Connection, job_id: str) -> list[dict[str, Any]]:
    """The job's attachments as they were added, each marked `arrived` when HQ has it."""
    A = schema.attachments.c
    rows = [
        dict(r)
        for r in conn.execute(
            select(schema.attachments).where(A.job_id == job_id).order_by(A.hlc, A.id)
        ).mappings()
    ]
    whole = holders(conn, sorted({r["sha256"] for r in rows}))
    for r in rows:  # arrived: its author sent the bytes whole (a hash alone proves nothing)
        r["arrived"] = (r["sha256"], r["actor"]) in whole
        r["size"] = whole.get((r["sha256"], r["actor"]), r["size"])
    return rows


def _what(a: dict[str, Any], labels: dict[str, str]) -> str:
    item = f" — {labels.get(a['item_key'], a['item_key'])}" if a["item_key"] else ""
    return f"{KIND_WORDS.get(a['media_type'], 'file')} {a['name']}{item}"


def markdown(files: list[dict[str, Any]], labels: dict[str, str], md: Any) -> list[str]:
    if not files:
        return []
    out = ["", "## Photos and files", "", "| file | caption | size | at HQ |", "|---|---|---:|---|"]
    for a in files:
        state = "yes" if a["arrived"] else "not yet arrived"
        out.append(
            f"| {md(_what(a, labels))} | {md(a['caption'] or '')} | "
            f"{size_words(a['size'])} | {state} |"
        )
    return out


def html_section(hq: HQ, files: list[dict[str, Any]], labels: dict[str, str], e: Any) -> str:
    """`e`: the report's escaping of people's text for HTML."""
    if not files:
        return ""
    parts = ["<h2>Photos and files</h2>"]
    budget = EMBED_BYTES
    for a in files:
        caption = f"<br>{e(a['caption'])}" if a["caption"] else ""
        head = f"{e(_what(a, labels))}, {size_words(a['size'])}{caption}"
        if not a["arrived"]:
            parts.append(
                f"<figure><figcaption>{head} (not yet arrived at HQ)</figcaption></figure>"
            )
        elif (
            a["media_type"] in PICTURES
            and a["size"] <= budget
            and hq.files is not None
            and hq.files.has(a["sha256"])
        ):
            budget -= a["size"]
            data = base64.b64encode(b"".join(hq.files.read(a["sha256"]))).decode()
            parts.append(
                f'<figure><img src="data:{a["media_type"]};base64,{data}" '
                f'alt="{e(a["caption"] or a["name"])}" style="max-width:100%">'
                f"<figcaption>{head}</figcaption></figure>"
            )
        else:
            parts.append(
                f"<figure><figcaption>{head} (file {e(a['sha256'])})</figcaption></figure>"
            )
    return "\n".join(parts)

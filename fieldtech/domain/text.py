"""People's text made safe to show: the one rule every face follows.

Notes, names, summaries and reasons come from people and from HQ. They are shown as plain
text (never parsed as markup; faces wrap them in `rich.text.Text`), and any control
character is made visible, so a stored escape sequence cannot retitle, clear or recolour
the terminal of whoever reads it.
"""

from __future__ import annotations

import re

# C0 controls (but tab and line feed, handled below), DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")
# Bidirectional overrides and isolates reorder the rest of the line on screen; right-to-left
# text itself needs none of them to show correctly.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode control pictures: ␛ for ESC, ␇ for BEL
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # a C1 control has no picture


def plain(value: object, *, multiline: bool = False) -> str:
    """`value` as text that is safe to print: controls visible, overrides gone.

    One line unless `multiline`: line breaks and tabs become spaces, so a note cannot break
    a table row or a status line. None is the empty string."""
    if value is None:
        return ""
    text = str(value)
    text = _LINE_BREAKS.sub("\n" if multiline else " ", text)
    text = text.replace("\t", "    " if multiline else " ")
    text = _BIDI.sub("", text)
    return _CONTROL.sub(_visible, text)

"""An unexpected error, in one line a person can read (the whole of it goes to the log)."""

from __future__ import annotations

from fieldtech.domain.errors import FieldtechError
from fieldtech.domain.text import plain


def one_line(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = plain(str(error)) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:160]


def plain_db_words(error: BaseException) -> str | None:
    """A full disk, a locked or damaged file, in the words the CLI uses for them."""
    import sqlite3

    if isinstance(error, FieldtechError):
        return error.message
    if isinstance(error, sqlite3.DatabaseError):
        from fieldtech.store.db import plain_words

        words = plain_words(error)
        return words.message if words is not None else None
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return None

"""The device's SQLite file. Nothing above this package writes SQL."""

from fieldtech.store.db import Store, open_store

__all__ = ["Store", "open_store"]

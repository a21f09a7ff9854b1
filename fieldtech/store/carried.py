"""Other devices' bundles this device carries to HQ (fieldtech.sync.bundles), and HQ's
replies it carries back: kept whole, as they came (sealed: this device reads none of them),
until handed over."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fieldtech.store.database import Database


class CarriedRows:
    db: Database

    def keep_carried(self, key: str, device: str, operations: int, data: bytes, at: str) -> bool:
        """Keep a bundle to carry (True), unless it is kept already (the same file twice)."""
        cur = self.db.execute(
            "INSERT OR IGNORE INTO carried (id, device, operations, size, data, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [key, device, operations, len(data), data, at],
        )
        return cur.rowcount == 1

    def carried(self) -> list[dict[str, Any]]:
        """Every bundle carried, oldest first, without its bytes."""
        cur = self.db.execute(
            "SELECT id, device, operations, size, added_at, sent_at, problem, replied_at, "
            "handed_at, length(reply) AS reply_size FROM carried ORDER BY added_at, id"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def carried_to_send(self) -> list[tuple[str, bytes]]:
        """(id, bytes) of the bundles HQ has neither answered nor refused yet."""
        rows = self.db.execute(
            "SELECT id, data FROM carried WHERE reply IS NULL AND problem IS NULL "
            "ORDER BY added_at, id"
        )
        return [(str(r[0]), bytes(r[1])) for r in rows]

    def carried_answered(self, key: str, reply: bytes | None, problem: str | None, at: str) -> None:
        self.db.execute(
            "UPDATE carried SET sent_at = ?, reply = ?, replied_at = ?, problem = ? WHERE id = ?",
            [at, reply, at if reply is not None else None, problem, key],
        )

    def carried_replies(self, device: str) -> list[tuple[str, bytes]]:
        """(id, reply) of HQ's replies for `device`, newest first."""
        rows = self.db.execute(
            "SELECT id, reply FROM carried WHERE device = ? AND reply IS NOT NULL "
            "ORDER BY replied_at DESC, id",
            [device],
        )
        return [(str(r[0]), bytes(r[1])) for r in rows]

    def carried_handed(self, key: str, at: str) -> None:
        self.db.execute("UPDATE carried SET handed_at = ? WHERE id = ?", [at, key])

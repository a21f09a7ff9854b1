"""The app's messages: past-tense events posted by workers, handled on the UI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from fieldtech.app_sync import SyncLink
    from fieldtech.sync.summary import SyncSummary


class SyncFinished(Message):
    """A background sync ended (well or not); `summary` is the agent's plain answer."""

    def __init__(self, summary: SyncSummary):
        super().__init__()
        self.summary = summary


class ReadyLooked(Message):
    """Once the link dropped: how many things the next days' jobs lack here (the changes
    waiting to send are counted on the status bar already)."""

    def __init__(self, missing: int):
        super().__init__()
        self.missing = missing


class HQChanged(Message):
    """HQ said, answering a held wait, that something in this device's scope changed
    since the last sync: time to sync (posted from the waiter's thread)."""


class HQFound(Message):
    """Something listens at HQ's address, and the sync agent has yet to load its HTTP
    stack (posted from the sync worker, before its first real sync)."""


class AgentReady(Message):
    """The sync agent was built from the profile (None: not enrolled, or `error` says why
    it could not be built)."""

    def __init__(self, agent: SyncLink | None, error: str | None = None):
        super().__init__()
        self.agent = agent
        self.error = error

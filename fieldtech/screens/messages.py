"""The app's messages: past-tense events posted by workers, handled on the UI thread."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class SyncFinished(Message):
    """A background sync ended (well or not); `summary` is the agent's plain answer."""

    def __init__(self, summary: dict[str, Any]):
        super().__init__()
        self.summary = summary


class DataChanged(Message):
    """Something was saved on this device: screens showing it should refresh."""


class AgentReady(Message):
    """The sync agent was built from the profile (None: not enrolled, or `error` says why
    it could not be built)."""

    def __init__(self, agent: Any, error: str | None = None):
        super().__init__()
        self.agent = agent
        self.error = error

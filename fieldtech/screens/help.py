"""Help: every key, and what each job status means."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from fieldtech.domain.jobs import STATUS_MEANING, STATUS_WORDS
from fieldtech.screens.base import FieldScreen


class HelpScreen(FieldScreen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="help.back")]
    DEFAULT_CSS = "HelpScreen VerticalScroll { padding: 0 1; }"

    def _shown_on_job(self, action: str) -> bool:
        """A technician's job keys, or a supervisor's: each device lists its own."""
        from fieldtech.screens.job import SUPERVISOR_ACTIONS

        if action.startswith("app."):
            return True
        return (action in SUPERVISOR_ACTIONS) == self.app.is_supervisor

    def _key(self, b: Binding) -> str:
        """The keys as the footer shows them ("/", "^q"), not by their names ("slash")."""
        keys = [self.app.get_key_display(Binding(k.strip(), b.action)) for k in b.key.split(",")]
        return escape(", ".join(keys))

    def compose(self) -> ComposeResult:
        from fieldtech.screens import checklist, close, job, parts, queue, sync_status

        sections = ["[b]Everywhere[/b]"]
        for b in self.app.BINDINGS:
            if not isinstance(b, Binding):  # the app's keys are all Bindings
                continue
            sections.append(f"  {self._key(b):<10} {b.description}")
        screens = [
            (queue, "QueueScreen"),
            (job, "JobScreen"),
            (checklist, "ChecklistScreen"),
            (parts, "PartsScreen"),
            (close, "CloseScreen"),
            (sync_status, "SyncScreen"),
        ]
        if self.app.is_supervisor:
            from fieldtech.screens import board, escalations, team_requests

            screens = [
                (board, "BoardScreen"),
                (queue, "QueueScreen"),
                (job, "JobScreen"),
                (team_requests, "RequestsScreen"),
                (escalations, "EscalationsScreen"),
                (sync_status, "SyncScreen"),
            ]
        for mod, cls in screens:
            screen = getattr(mod, cls)
            sections.append(f"\n[b]{cls.removesuffix('Screen')}[/b]")
            for b in screen.BINDINGS:
                if cls == "JobScreen" and not self._shown_on_job(b.action):
                    continue
                tip = f" — {b.tooltip}" if b.tooltip else ""
                sections.append(f"  {self._key(b):<10} {b.description}{tip}")
        sections.append("\n[b]Job statuses[/b]")
        for status, meaning in STATUS_MEANING.items():
            sections.append(f"  {STATUS_WORDS[status]:<16} {meaning}")
        with VerticalScroll():
            yield Static("\n".join(sections))
        yield Footer()

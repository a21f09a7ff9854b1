"""The command palette: only what makes sense on the current screen, named 'group: action'."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from fieldtech.app import FieldtechApp

Command = tuple[str, str, Callable[[], object]]  # name, help, what it does


class ScreenCommands(Provider):
    def _commands(self) -> list[Command]:
        app = cast("FieldtechApp", self.app)
        screen = app.screen
        cmds: list[Command] = [
            ("go: help", "Every key and what each status means", app.action_help),
            (
                "go: sync status",
                "Link, waiting changes, refusals, conflicts",
                app.action_sync_screen,
            ),
            ("sync: now", "Send and receive now", app.action_sync_by_hand),
            (
                "go: team board" if app.is_supervisor else "go: queue",
                "Back to the first screen",
                app.action_home,
            ),
        ]
        if app.can_toggle_link:
            cmds.append(
                (
                    "demo: lose or regain signal",
                    "Simulate the link going down or up",
                    app.action_toggle_link,
                )
            )
        for binding in getattr(screen, "BINDINGS", []):
            action = binding.action
            if action.startswith("app.") or not hasattr(screen, f"action_{action}"):
                continue
            if screen.check_action(action, ()) is not True:
                continue
            group = type(screen).__name__.removesuffix("Screen").lower()
            cmds.append(
                (
                    f"{group}: {binding.description.lower()}",
                    binding.tooltip or "",
                    partial(screen.run_action, action),
                )
            )
        return cmds

    async def discover(self) -> Hits:
        for name, help_text, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)

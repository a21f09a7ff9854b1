"""Themes and a user keymap from the config folder; a bad setting is named, not fatal."""

from __future__ import annotations

from tests.app_support import make_app


async def test_theme_and_keymap_from_config(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text('theme = "textual-light"\n')
    (tmp_path / "config" / "keymap.toml").write_text('"app.help" = "f9"\n')
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "textual-light"
        await pilot.press("f9")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


async def test_an_unknown_theme_is_reported_once(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "settings.toml").write_text('theme = "sparkly"\n')
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        # No public list of the notifications on show in Textual (its Toast is private).
        messages = [n.message for n in app._notifications]
        assert any("settings.toml ignored: unknown theme 'sparkly'" in m for m in messages)
        assert app.theme != "sparkly"

"""The checklist: sections, each item with its range, required markers, progress.
A reading is saved the moment it is entered."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, ProgressBar, Static

from fieldtech.domain.checklists import ItemType, judge
from fieldtech.domain.errors import BadInput
from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText, perform_saying_why
from fieldtech.screens.shown import data, line
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import checklists as checklist_service

if TYPE_CHECKING:
    from fieldtech.services.checklists import ChecklistItem

HOW = {
    ItemType.TICK: "yes/no",
    ItemType.TEXT: "text",
    ItemType.PHOTO: "photo: Enter / f",
    ItemType.SIGNATURE: "name / f: file",
}


class ChecklistScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="checklist.back"),
        Binding(
            "enter",
            "record",
            "Record",
            id="checklist.record",
            tooltip="Enter a reading for the highlighted item",
        ),
        Binding("space", "tick", "Tick", id="checklist.tick", tooltip="Tick a yes/no item"),
        Binding(
            "f",
            "attach",
            "Attach",
            id="checklist.attach",
            tooltip="A file for a photo or signature item",
        ),
    ]
    DEFAULT_CSS = """
    ChecklistScreen #title { padding: 0 1; text-style: bold; }
    ChecklistScreen ProgressBar { padding: 0 1; }
    ChecklistScreen DataTable { height: 1fr; }
    ChecklistScreen #thumb { padding: 0 1; height: auto; }
    """

    def __init__(self, job_id: str):
        super().__init__()
        self.job_id = job_id
        self.items: dict[str, ChecklistItem] = {}
        self._thumbs: dict[str, Text | str] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield ProgressBar(id="progress", show_eta=False)
        yield DataTable(id="items", cursor_type="row")
        yield Static(id="thumb")  # the highlighted photo item's picture, when there is one
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Every column in view at 80 columns: what the fixed ones and the cells' padding
        # (and a scrollbar) leave goes three parts to the item's label, two to the reading.
        spare = self.app.size.width - 2 - 2 * 5 - (1 + 10 + 16)
        label = max(20, spare * 3 // 5)
        table.add_column("", width=1)
        table.add_column("section", width=10)
        table.add_column("item", width=label)
        table.add_column("expected", width=16)
        table.add_column("reading", width=max(14, spare - label))
        self.query_one("#thumb", Static).display = False
        self.refresh_data()
        table.focus()

    def refresh_data(self) -> None:
        cl = checklist_service.checklist(self.app.device, self.job_id)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        done, total = cl["progress"]
        if cl["template"] is None:
            self.query_one("#title", Static).update("This job has no checklist.")
            return
        self.query_one("#title", Static).update(
            line(
                data(cl["job"]["ref"]),
                " · ",
                data(cl["template"].name),
                f" · {done} of {total} required done",
            )
        )
        self.query_one(ProgressBar).update(total=max(total, 1), progress=done)
        self.items = {}
        files: dict[str, list[str]] = {}
        for a in self.app.store.attachments(cl["job"]["id"]):
            if a["item_key"]:
                files.setdefault(a["item_key"], []).append(a["name"])
        for e in cl["items"]:
            item = e["item"]
            self.items[item.key] = e
            mark = (
                Text("✓", style="green")
                if e["done"]
                else (Text("*", style="bold red") if item.required else Text(""))
            )
            expected = item.range_words() or " / ".join(item.choices) or HOW.get(item.type, "")
            reading = plain(e["value"])
            style = ""
            if item.key in files:
                names = files[item.key]
                reading = f"📎 {plain(names[-1])}" + (
                    f" +{len(names) - 1}" if len(names) > 1 else ""
                )
            if e["verdict"] == "warning":
                reading += f" ⚠ {plain(e['comment'])}"
                style = "yellow"
            elif e["verdict"] == "blocker":
                reading += " ✗ out of range: redo before closing"
                style = "bold red"
            table.add_row(
                mark,
                data(item.section),
                data(item.label),
                data(expected),
                Text(reading, style=style),
                key=item.key,
            )
        if row is not None and row < table.row_count:
            table.move_cursor(row=row)

    def _current_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _save(self, key: str, value: str, comment: str | None = None) -> str | None:
        """Record a reading: None when saved, else why it was refused (for the dialog)."""
        result, why = perform_saying_why(
            self.app,
            checklist_service.record_reading,
            self.app.device,
            self.job_id,
            key,
            value,
            comment,
            quiet=True,
        )
        if result is not None:
            label = plain(self.items[key]["item"].label)
            if result["message"]:
                self.app.notify(
                    plain(result["message"]), severity="warning", timeout=6, markup=False
                )
            else:
                self.app.notify(f"{label}: saved", timeout=2, markup=False)
        self.refresh_data()
        return why

    @on(DataTable.RowHighlighted)
    def _show_picture(self) -> None:
        """A photo or signature item with a file: its picture under the list."""
        from fieldtech.screens.thumbnail import latest_picture

        key = self._current_key()
        shown = self.query_one("#thumb", Static)
        entry = self.items.get(key or "")
        drawn: Text | str = ""
        if entry is not None and entry["attached"]:
            rows = [a for a in self.app.store.attachments(self.job_id) if a["item_key"] == key]
            drawn = latest_picture(self.app.store, rows, self._thumbs)
        shown.update(drawn)
        shown.display = bool(drawn)

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_record()

    def action_attach(self) -> None:
        """A file for the highlighted photo or signature item (a photographed paper
        signature); a signature can still be typed with Enter."""
        from fieldtech.screens.attach_dialog import attach_dialog

        key = self._current_key()
        if not key or self.items[key]["item"].type not in (ItemType.PHOTO, ItemType.SIGNATURE):
            self.app.notify("f attaches a file to a photo or signature item", timeout=3)
            return
        self.app.push_screen(attach_dialog(self, self.job_id, key), lambda _: self.refresh_data())

    def action_tick(self) -> None:
        key = self._current_key()
        if key and self.items[key]["item"].type is ItemType.TICK:
            now = self.items[key]["value"]
            self._save(key, "no" if now == "yes" else "yes")

    def action_record(self) -> None:
        key = self._current_key()
        if not key:
            return
        item = self.items[key]["item"]
        if item.type is ItemType.PHOTO:  # a photo item takes a file, never typed text
            self.action_attach()
            return
        hint = item.range_words() or " / ".join(item.choices) or HOW.get(item.type, "")

        def ask_value(value: str) -> None:
            self.app.push_screen(
                AskText(
                    line(data(item.label), " (", data(hint), ")"), value=value, attempt=try_value
                ),
                asked_value,
            )

        def try_value(value: str, _: bool) -> str | None:
            try:
                judge(item, value)
            except BadInput as exc:
                if "add a comment" in exc.message:
                    wanted[:] = [exc.message]
                    return None  # the comment is asked next; Esc there brings the value back
            return self._save(key, value)

        def asked_value(answer: tuple[str, bool] | None) -> None:
            if answer and wanted:
                value = answer[0]
                self.app.push_screen(
                    AskText(
                        line(data(wanted.pop()), ":"),
                        "why it is outside the range",
                        attempt=lambda comment, _: self._save(key, value, comment),
                    ),
                    lambda got: None if got else ask_value(value),
                )

        wanted: list[str] = []  # the reason a comment is needed, once the value asks for one
        ask_value(plain(self.items[key]["value"]))

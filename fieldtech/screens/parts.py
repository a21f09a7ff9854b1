"""Parts on a job: van stock, use a part (a barcode scanner types into the box), request,
return, and where each request stands."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Input, Static

from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText
from fieldtech.screens.shown import data
from fieldtech.screens.status_bar import StatusBar
from fieldtech.services import parts as part_service


class PartsScreen(FieldScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="parts.back"),
        Binding(
            "ctrl+r",
            "request",
            "Request",
            id="parts.request",
            tooltip="Request a part the van does not hold",
        ),
        Binding(
            "ctrl+t",
            "return_part",
            "Return",
            id="parts.return",
            tooltip="Return a defective or excess part",
        ),
    ]
    DEFAULT_CSS = """
    PartsScreen #scan { height: 3; }
    PartsScreen .heading { padding: 0 1; text-style: bold; }
    PartsScreen Horizontal { height: 1fr; }
    PartsScreen DataTable { width: 1fr; }
    """

    def __init__(self, job_id: str | None):
        super().__init__()
        self.job_id = job_id

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="Scan or type a SKU / barcode, Enter to use one on this job", id="scan"
        )
        yield Static("Van stock · part requests", classes="heading")
        with Horizontal():
            stock: DataTable[Text | str] = DataTable(id="stock", cursor_type="row")
            stock.add_columns("sku", "part", "on hand")
            yield stock
            reqs: DataTable[Text | str] = DataTable(id="requests", cursor_type="row")
            reqs.add_columns("part", "qty", "status")
            yield reqs
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one("#scan", Input).focus()

    def refresh_data(self) -> None:
        st = self.app.store
        stock = self.query_one("#stock", DataTable)
        stock.clear()
        for r in st.van_stock():
            stock.add_row(data(r["sku"]), data(r["name"]), str(r["on_hand"]), key=r["sku"])
        reqs = self.query_one("#requests", DataTable)
        reqs.clear()
        for r in st.part_requests():
            reqs.add_row(data(r["name"]), data(r["qty"]), data(r["status"]), key=r["id"])

    @on(Input.Submitted, "#scan")
    def _scanned(self, event: Input.Submitted) -> None:
        code = event.value.strip()
        if not code:
            return
        result = self.app.perform(
            part_service.use_part, self.app.device, self.job_id, code, 1, quiet=True
        )
        if result is not None:
            self.app.notify(
                f"used 1 × {plain(result['name'])} ({result['on_hand']} left in the van)",
                markup=False,
            )
            event.input.value = ""
        self.refresh_data()

    def action_request(self) -> None:
        def done(answer: tuple[str, bool] | None) -> None:
            if answer:
                words = answer[0].split()
                qty = words[1] if len(words) > 1 else 1
                r = self.app.perform(
                    part_service.request_part,
                    self.app.device,
                    words[0],
                    qty,
                    job_id=self.job_id,
                    quiet=True,
                )
                if r:
                    self.app.notify(f"requested {r['qty']} × {plain(r['name'])}", markup=False)
                self.refresh_data()

        self.app.push_screen(
            AskText("Request which part? (SKU and quantity)", "WH-ELEM-2K 1"), done
        )

    def action_return_part(self) -> None:
        def done(answer: tuple[str, bool] | None) -> None:
            if answer:
                words = answer[0].split()
                reason = "defective" if answer[1] else "excess"
                r = self.app.perform(
                    part_service.return_part,
                    self.app.device,
                    words[0],
                    words[1] if len(words) > 1 else 1,
                    reason,
                    self.job_id if answer[1] else None,
                    quiet=True,
                )
                if r:
                    self.app.notify(
                        f"returned {r['qty']} × {plain(r['name'])} ({reason})", markup=False
                    )
                self.refresh_data()

        self.app.push_screen(
            AskText(
                "Return which part? (SKU and quantity)",
                "AC-CAP-35 1",
                check="Defective (came off this job)",
            ),
            done,
        )

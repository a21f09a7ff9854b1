"""Parts on a job: van stock, use a part (a barcode scanner types into the box), request,
return, and where each request stands."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.widgets import DataTable, Footer, Input, Static

from fieldtech.domain.parts import RequestStatus
from fieldtech.domain.text import plain
from fieldtech.screens.base import FieldScreen
from fieldtech.screens.dialogs import AskText, perform_saying_why
from fieldtech.screens.shown import cut, data
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
    PartsScreen #stock { width: 1fr; }
    PartsScreen #requests-side { width: 40%; }
    PartsScreen #requests { height: auto; max-height: 100%; }
    PartsScreen #no-requests { padding: 0 1; color: $text-muted; }
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
            yield DataTable(id="stock", cursor_type="row")
            with Vertical(id="requests-side"):
                yield DataTable(id="requests", cursor_type="row")
                yield Static(
                    "none yet: Ctrl+R requests a part the van does not hold", id="no-requests"
                )
        yield StatusBar(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_data()
        self.query_one("#scan", Input).focus()

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._built_for:
            self.refresh_data()  # the part names are squeezed to the new width

    _built_for = 0

    def refresh_data(self) -> None:
        """Both tables, their columns sized to the screen: the sku and the count always show;
        a part's name takes what is left and ends in '…' when it is longer."""
        st = self.app.store
        width = self._built_for = self.app.size.width
        reqs_width = width * 40 // 100  # #requests-side
        rows = st.van_stock()
        sku = min(16, max((len(plain(held["sku"])) for held in rows), default=3))
        # Each column takes 2 cells of padding, and a scrollbar 2 more.
        name = max(8, width - reqs_width - 2 - (sku + 2) - (7 + 2) - 2)
        stock = self.query_one("#stock", DataTable)
        row = stock.cursor_row
        stock.clear(columns=True)
        stock.add_column("sku", width=sku)
        stock.add_column("part", width=name)
        stock.add_column("on hand", width=7)
        for held in rows:
            stock.add_row(
                cut(held["sku"], sku),
                cut(held["name"], name),
                str(held["on_hand"]),
                key=held["sku"],
            )
        if row < stock.row_count:
            stock.move_cursor(row=row)
        status = max(len(s.value) for s in RequestStatus)
        req_name = max(6, reqs_width - 2 - (3 + 2) - (status + 2) - 2)
        reqs = self.query_one("#requests", DataTable)
        reqs.clear(columns=True)
        reqs.add_column("part", width=req_name)
        reqs.add_column("qty", width=3)
        reqs.add_column("status", width=status)
        requests = st.part_requests()
        for req in requests:
            reqs.add_row(
                cut(req["name"], req_name), data(req["qty"]), data(req["status"]), key=req["id"]
            )
        self.query_one("#no-requests", Static).display = not requests

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
        def request(answer: str, _: bool) -> str | None:
            words = answer.split()
            qty = words[1] if len(words) > 1 else 1
            r, why = perform_saying_why(
                self.app,
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
            return why

        self.app.push_screen(
            AskText("Request which part? (SKU and quantity)", "WH-ELEM-2K 1", attempt=request)
        )

    def action_return_part(self) -> None:
        def give_back(answer: str, defective: bool) -> str | None:
            words = answer.split()
            reason = "defective" if defective else "excess"
            r, why = perform_saying_why(
                self.app,
                part_service.return_part,
                self.app.device,
                words[0],
                words[1] if len(words) > 1 else 1,
                reason,
                self.job_id if defective else None,
                quiet=True,
            )
            if r:
                self.app.notify(
                    f"returned {r['qty']} × {plain(r['name'])} ({reason})", markup=False
                )
            self.refresh_data()
            return why

        self.app.push_screen(
            AskText(
                "Return which part? (SKU and quantity)",
                "AC-CAP-35 1",
                check="Defective (came off this job)",
                attempt=give_back,
            )
        )

"""Write the README's screenshots (SVG, from the app itself) into docs/screenshots/.

.venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from fieldtech.screens.checklist import ChecklistScreen
from fieldtech.screens.sync_status import SyncScreen
from fieldtech.services import checklists, jobs, parts

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.app_support import first_ref, make_app, make_team_app  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), jobs=120, background_sync=False)
        ref = first_ref(app, "assigned", kind="install")
        job_id = app.store.job(ref)["id"]
        jobs.arrive(app.device, job_id)
        items = checklists.checklist(app.device, job_id)["items"]
        for e in items[:6]:
            item = e["item"]
            value = {"tick": "yes", "choice": item.choices[0] if item.choices else ""}.get(
                item.type.value, str(item.min if item.min is not None else 1)
            )
            checklists.record_reading(app.device, job_id, item.key, value)
        parts.request_part(app.device, "AC-FAN-MTR", 1, job_id=job_id)
        async with app.run_test(size=(110, 32)) as pilot:
            await pilot.pause()
            app.save_screenshot(str(OUT / "queue.svg"))
            await app.push_screen(ChecklistScreen(job_id))
            await pilot.pause()
            app.save_screenshot(str(OUT / "checklist.svg"))
            await app.push_screen(SyncScreen())
            await pilot.pause()
            app.save_screenshot(str(OUT / "sync.svg"))
    with tempfile.TemporaryDirectory() as tmp:
        app = make_team_app(Path(tmp), background_sync=False)
        async with app.run_test(size=(110, 24)) as pilot:
            await pilot.pause()
            app.save_screenshot(str(OUT / "board.svg"))
    print(f"written to {OUT}")


if __name__ == "__main__":
    asyncio.run(main())

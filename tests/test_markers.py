"""Every file that talks to a real HQ or drives a real terminal says so with its marker, so
`-m "not integration"` and `-m "not tmux"` leave out exactly those files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
MARKED = {"integration": TESTS / "integration", "tmux": TESTS / "terminal"}


def module_marks(path: Path) -> set[str]:
    """The marker names in a module's top-level `pytestmark` (one mark or a list of them)."""
    marks: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            for sub in ast.walk(node.value):
                if (
                    isinstance(sub, ast.Attribute)
                    and isinstance(sub.value, ast.Attribute)
                    and sub.value.attr == "mark"
                ):
                    marks.add(sub.attr)
    return marks


@pytest.mark.parametrize("marker", sorted(MARKED))
def test_every_file_carries_its_marker(marker):
    files = sorted(MARKED[marker].glob("test_*.py"))
    assert files, MARKED[marker]
    missing = [f.name for f in files if marker not in module_marks(f)]
    assert missing == [], f"add `pytestmark = pytest.mark.{marker}` to {missing}"


def test_the_check_sees_a_missing_marker(tmp_path):
    bare = tmp_path / "test_bare.py"
    bare.write_text("import pytest\n\n\ndef test_x():\n    pass\n")
    listed = tmp_path / "test_listed.py"
    listed.write_text("import pytest\n\npytestmark = [pytest.mark.integration, pytest.mark.slow]\n")
    assert module_marks(bare) == set()
    assert module_marks(listed) == {"integration", "slow"}

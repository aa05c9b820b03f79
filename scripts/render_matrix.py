"""Write the permission matrix of engine/access/matrix.py into docs/security.md.

Usage: .venv/bin/python scripts/render_matrix.py  (a test fails when the page is stale)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.access import matrix_markdown  # noqa: E402

START, END = "<!-- matrix:start (scripts/render_matrix.py) -->", "<!-- matrix:end -->"


def render(page: str) -> str:
    """The page with the table between its markers replaced by the current matrix."""
    head, _, rest = page.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"docs/security.md has no {START} marker")
    return f"{head}{START}\n{matrix_markdown()}\n{END}{tail}"


if __name__ == "__main__":
    target = ROOT / "docs" / "security.md"
    target.write_text(render(target.read_text(encoding="utf-8")), encoding="utf-8")
    print("docs/security.md: matrice aggiornata")

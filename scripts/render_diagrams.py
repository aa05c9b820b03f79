"""Render the regional model's BPMN diagrams to PNG for docs/model.md.

Uses bpmn-js (from node_modules, installed by `npm ci`) in Debian's headless Chromium,
so the pictures are exactly what a BPMN editor shows. Run after changing a diagram:

    .venv/bin/python scripts/render_diagrams.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
VIEWER = ROOT / "node_modules" / "bpmn-js" / "dist" / "bpmn-viewer.production.min.js"
ASSETS = ROOT / "node_modules" / "bpmn-js" / "dist" / "assets"
OUT = ROOT / "docs" / "diagrams"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>{css}</style><style>html,body,#canvas{{margin:0;height:100%;background:#fff}}</style>
</head><body><div id="canvas"></div><script>{js}</script></body></html>"""


def main() -> int:
    if not VIEWER.exists():
        print("bpmn-js non trovato: eseguire prima `npm ci`", file=sys.stderr)
        return 1
    css = "\n".join((ASSETS / name).read_text() for name in ("diagram-js.css", "bpmn-js.css"))
    html = PAGE.format(css=css, js=VIEWER.read_text())
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1200, "height": 800}, device_scale_factor=1.5)
        for diagram in sorted((ROOT / "processes").glob("*.bpmn")):
            page.set_content(html)
            warnings = page.evaluate(
                """async (xml) => {
                    const viewer = new BpmnJS({container: '#canvas'});
                    const result = await viewer.importXML(xml);
                    const {svg} = await viewer.saveSVG();
                    viewer.destroy();
                    document.body.innerHTML = svg;
                    return result.warnings.map(w => w.message);
                }""",
                diagram.read_text(encoding="utf-8"),
            )
            box = page.locator("svg").first.bounding_box()
            assert box is not None
            page.set_viewport_size({"width": int(box["width"]) + 20, "height": int(box["height"]) + 20})
            target = OUT / f"{diagram.stem}.png"
            page.locator("svg").first.screenshot(path=str(target))
            note = f"  avvisi: {json.dumps(warnings, ensure_ascii=False)}" if warnings else ""
            print(f"{target.relative_to(ROOT)}{note}")
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

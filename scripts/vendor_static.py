"""Copy the front-end files the web app serves from node_modules/ into web/static/vendor/,
bundle the studio's modules of web/frontend/ with esbuild, and compile the Babel catalogs of
web/locale/ (.po -> .mo).

Run by scripts/setup.sh after `npm ci`. Nothing is fetched here: only files already
installed from the lockfile are copied or bundled, so the app never needs a CDN.

Each top-level `web/frontend/<name>.js` is an entry point (an ES module importing the
bpmn.io libraries from node_modules); it becomes `web/static/vendor/app/<name>.js`, one
self-contained script (JSX, for properties-panel entries, uses the panel's own Preact).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "web" / "static" / "vendor"
LOCALE = ROOT / "web" / "locale"
FRONTEND = ROOT / "web" / "frontend"
ESBUILD = MODULES / ".bin" / "esbuild"

# (source under node_modules, destination under web/static/vendor)
FILES: list[tuple[str, str]] = [
    ("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"),
    ("bootstrap-italia/dist/css/bootstrap-italia.min.css", "bootstrap-italia/css/bootstrap-italia.min.css"),
    ("bootstrap-italia/dist/svg/sprites.svg", "bootstrap-italia/svg/sprites.svg"),
    ("axe-core/axe.min.js", "axe-core/axe.min.js"),
    # the studio's read-only diagram viewer (the UMD build defines window.BpmnJS)
    ("bpmn-js/dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.production.min.js"),
    ("bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css", "bpmn-js/bpmn-font/css/bpmn-embedded.css"),
    ("bpmn-js/dist/assets/diagram-js.css", "bpmn-js/diagram-js.css"),
    ("bpmn-js/dist/assets/bpmn-js.css", "bpmn-js/bpmn-js.css"),
    # the studio's properties panel and decision-table editor (styles; the scripts are bundled)
    ("@bpmn-io/properties-panel/dist/assets/properties-panel.css", "properties-panel/properties-panel.css"),
    ("dmn-js/dist/assets/diagram-js.css", "dmn-js/diagram-js.css"),
    ("dmn-js/dist/assets/dmn-js-shared.css", "dmn-js/dmn-js-shared.css"),
    ("dmn-js/dist/assets/dmn-js-drd.css", "dmn-js/dmn-js-drd.css"),
    ("dmn-js/dist/assets/dmn-js-decision-table.css", "dmn-js/dmn-js-decision-table.css"),
    ("dmn-js/dist/assets/dmn-js-decision-table-controls.css", "dmn-js/dmn-js-decision-table-controls.css"),
    ("dmn-js/dist/assets/dmn-js-literal-expression.css", "dmn-js/dmn-js-literal-expression.css"),
    ("dmn-js/dist/assets/dmn-font/css/dmn-embedded.css", "dmn-js/dmn-font/css/dmn-embedded.css"),
]
FONT_DIRS = ["Titillium_Web", "Roboto_Mono", "Lora"]
FONT_SUFFIXES = {".woff2", ".woff", ".txt"}


def copy_vendor() -> int:
    """Copy the pinned dist files; returns how many were copied."""
    if not MODULES.is_dir():
        raise SystemExit("node_modules/ non trovato: eseguire prima `npm ci`.")
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    copied = 0
    for source, target in FILES:
        src = MODULES / source
        if not src.is_file():
            if source.startswith("axe-core/"):
                continue  # dev-only: the accessibility check of the browser test
            raise SystemExit(f"File mancante in node_modules: {source} (eseguire `npm ci`).")
        dst = VENDOR / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        copied += 1
    fonts = MODULES / "bootstrap-italia" / "dist" / "fonts"
    for family in FONT_DIRS:
        for src in sorted((fonts / family).glob("*")):
            if src.suffix in FONT_SUFFIXES:
                dst = VENDOR / "bootstrap-italia" / "fonts" / family / src.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, dst)
                copied += 1
    return copied


def bundle_frontend() -> int:
    """Bundle each entry point of web/frontend/ into web/static/vendor/app/; returns how many."""
    entries = sorted(FRONTEND.glob("*.js"))
    if not entries:
        return 0
    if not ESBUILD.is_file():
        raise SystemExit("esbuild non trovato in node_modules: eseguire prima `npm ci`.")
    out = VENDOR / "app"
    out.mkdir(parents=True, exist_ok=True)
    command = [
        str(ESBUILD),
        *(str(entry) for entry in entries),
        "--bundle",
        "--minify",
        "--format=iife",
        "--target=es2020",
        "--jsx=automatic",
        "--jsx-import-source=@bpmn-io/properties-panel/preact",
        "--legal-comments=linked",
        "--log-level=warning",
        f"--outdir={out}",
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"Bundle del front-end non riuscito:\n{result.stderr}")
    return len(entries)


def compile_catalogs() -> int:
    """Compile every web/locale/<lang>/LC_MESSAGES/*.po into a .mo beside it."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    count = 0
    for po in sorted(LOCALE.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog)
        count += 1
    return count


def main() -> int:
    copied = copy_vendor()
    bundled = bundle_frontend()
    catalogs = compile_catalogs()
    print(
        f"» front-end: {copied} file copiati e {bundled} moduli uniti in {VENDOR.relative_to(ROOT)};"
        f" {catalogs} cataloghi compilati"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

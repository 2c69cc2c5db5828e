"""The generated documentation is current (docs/make_controls_doc.py writes docs/controls.md)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_controls_doc_is_current():
    spec = importlib.util.spec_from_file_location("make_controls_doc", ROOT / "docs" / "make_controls_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / "docs" / "controls.md").read_text(encoding="utf-8") == module.render(), \
        "docs/controls.md is stale: run .venv/bin/python docs/make_controls_doc.py"

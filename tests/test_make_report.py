"""benchmarks/make_report.py: BENCHMARKS.md is assembled from whatever sections exist."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("make_report", REPO / "benchmarks" / "make_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sections_in_preferred_order_then_alphabetical(tmp_path):
    report = _load()
    for name in ("zeta", "controller", "alpha", "nb201", "nb101"):
        (tmp_path / f"{name}.md").write_text(f"## {name} section\n\n| a | b |\n|---|---|\n| {name} | 1 |\n")
    (tmp_path / "nb201.json").write_text("{}")  # raw results are not sections
    assert [p.stem for p in report.ordered_sections(tmp_path)] == ["nb201", "nb101", "controller", "alpha", "zeta"]
    text = report.build(tmp_path)
    assert text.startswith("# nasviz benchmarks")
    assert "medians" in text and "-core CPU" in text
    positions = [text.index(f"## {n} section") for n in ("nb201", "nb101", "controller", "alpha", "zeta")]
    assert positions == sorted(positions)
    assert "| zeta | 1 |" in text


def test_no_sections_still_writes_a_header(tmp_path):
    text = _load().build(tmp_path)
    assert "no sections yet" in text and "##" not in text

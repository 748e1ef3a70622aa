"""Listing and loading stored distribution runs for the app (nasviz.viz.distributions)."""

from __future__ import annotations

import pytest

from nasviz.errors import NasvizError
from nasviz.viz import distributions as D


def test_list_and_load_the_benchmark_runs():
    runs = D.list_runs()
    assert "darts-seed0" in runs and "vimnas-seed0" in runs
    names = list(runs)
    # grouped by variant, seeds in numeric order
    darts = [n for n in names if D.variant(n) == "darts"]
    assert darts == sorted(darts, key=lambda n: int(n.rsplit("seed", 1)[1]))
    assert D.variant("darts@lr0.03-seed2") == "darts@lr0.03"
    rs = D.load_runs(runs, ["darts-seed0", "vimnas-seed0"])
    assert [r.method for r in rs] == ["darts", "vimnas"]
    assert rs[0].probs.shape[1:] == (6, 5)
    with pytest.raises(NasvizError, match="no distribution run"):
        D.load_runs(runs, ["nope-seed0"])


def test_list_runs_skips_incomplete_folders(tmp_path):
    (tmp_path / "darts-seed0").mkdir()
    (tmp_path / "darts-seed0" / "result.json").write_text("{}")
    assert D.list_runs(tmp_path) == {}
    assert D.list_runs(tmp_path / "missing") == {}

"""Latent map state belongs to a space and a projection (AppTest on the real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _helpers import html_tables, run_page
from streamlit.testing.v1 import AppTest

from nasviz.viz import maps

REPO = Path(__file__).resolve().parents[1]
MAP = str(REPO / "pages/latent_map.py")


def test_each_space_keeps_its_own_cell_and_the_box_fields_start_at_the_data_bounds():
    at = run_page(MAP, AppTest.from_file(MAP, default_timeout=600))
    at.text_input(key="map_cell").set_value("6111")
    run_page(MAP, at)
    assert any(m.value == "**Cell #6111**" for m in at.markdown)
    at.radio(key="map_space").set_value("nb101")
    run_page(MAP, at)
    assert at.text_input(key="map_cell").value == ""  # not NB101 cell #6111
    assert not any(m.value == "**Cell #6111**" for m in at.markdown)
    at.text_input(key="map_cell").set_value("42")
    run_page(MAP, at)
    at.radio(key="map_space").set_value("nb201")
    run_page(MAP, at)
    assert at.text_input(key="map_cell").value == "6111"  # NB201's own box comes back
    at.radio(key="map_space").set_value("nb101")
    run_page(MAP, at)
    assert at.text_input(key="map_cell").value == "42"
    # the box-by-numbers fields hold this view's projection bounds (not +-1e308, not another view's)
    name = at.selectbox(key="map_source_nb101").value
    proj = at.selectbox(key=f"map_proj_nb101_{name}").value
    xy = np.asarray(maps.load_source("nb101", name)[proj], dtype=np.float64)
    got = [at.number_input(key=k).value for k in ("map_bx0", "map_bx1", "map_by0", "map_by1")]
    assert np.allclose(got, [np.nanmin(xy[:, 0]), np.nanmax(xy[:, 0]), np.nanmin(xy[:, 1]), np.nanmax(xy[:, 1])])
    assert all(abs(v) < 1e6 for v in got)


def test_nb101_says_results_exist_for_the_sample_only_and_can_show_just_those():
    at = AppTest.from_file(MAP, default_timeout=600)
    at.query_params.update({"space": "nb101"})
    run_page(MAP, at)
    note = [i.value for i in at.info if "real benchmark results exist for the 30,001-cell sample only" in i.value]
    assert len(note) == 1 and "423,624 cells" in note[0]
    at.text_input(key="map_cell").set_value("6111")
    run_page(MAP, at)
    nb = next(t for t in html_tables(at) if "L2 distance" in t.columns)
    assert set(nb["has result"]) <= {"yes", "no (not in the sample)"}
    from nasviz.bench import get_benchmark

    bench = get_benchmark("nb101")
    in_sample = set(int(i) for i in bench.indices)
    assert [("yes" if int(i) in in_sample else "no (not in the sample)") for i in nb["index"]] == list(nb["has result"])
    if (nb["L2 distance"] == 0).any():
        assert any(c.value.startswith("L2 distance 0:") for c in at.caption)
    before = next(c.value for c in at.caption if c.value[:1].isdigit() and "cells in view" in c.value)
    at.toggle(key="map_sample_only_nb101").set_value(True)
    run_page(MAP, at)
    after = next(c.value for c in at.caption if c.value[:1].isdigit() and "cells in view" in c.value)
    assert after.startswith("30,001 of ") and not before.startswith("30,001 of ")
    # NB201 has results for every cell: no note, no toggle
    at.radio(key="map_space").set_value("nb201")
    run_page(MAP, at)
    assert not [i for i in at.info if "sample only" in i.value]
    assert "map_sample_only_nb201" not in {t.key for t in at.toggle}

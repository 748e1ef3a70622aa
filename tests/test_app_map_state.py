"""Latent map state belongs to a space and a projection (AppTest on the real data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _helpers import run_page
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

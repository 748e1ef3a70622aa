"""Cell editor page (pages/cell_editor.py), headless with AppTest on the real tables, embeddings and models:
edits change what is shown (diagram, validity, canonical form, results, map star, round trip, neighbours),
invalid NB101 graphs get one line saying what is wrong, the neighbourhood becomes a search region in the maps
format, switching space keeps each space's own cell, and the URL reopens the same cell."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import html_tables, diagrams, figures, run_page
from streamlit.testing.v1 import AppTest

from nasviz.bench import get_benchmark
from nasviz.spaces import get_space
from nasviz.viz import editor as E
from nasviz.viz import maps

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")  # through the entry file, as a user navigates: the page links to other pages
ARCH_6111 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def _open(**params: str) -> AppTest:
    """The editor page of a new session, opened with these query parameters."""
    at = AppTest.from_file(APP, default_timeout=600)
    at.query_params.update(params)
    at.switch_page("pages/cell_editor.py")
    return run_page(APP, at)


def _run(at: AppTest) -> AppTest:
    return run_page(APP, at)


def _figure(at: AppTest) -> dict:
    figs = figures(at)
    assert len(figs) == 1
    return figs[0]


def _star(at: AppTest) -> dict:
    return next(t for t in _figure(at)["data"] if t.get("marker", {}).get("symbol") == "star")


def _success(at: AppTest, start: str) -> str:
    found = [s.value for s in at.success if s.value.startswith(start)]
    assert found, [s.value for s in at.success]
    return found[0]


def _neighbours(at: AppTest):
    return next(t for t in html_tables(at) if "L2 distance" in t.columns)


def _load(at: AppTest, text: str) -> AppTest:
    at.text_input(key="ed_load").set_value(text)
    return _run(at)


@pytest.fixture(scope="module")
def src201():
    return maps.load_source("nb201", "nb201-arch2vec")


def test_nb201_edit_updates_cell_canonical_results_map_round_trip_and_neighbours(src201):
    sp, bench = get_space("nb201"), get_benchmark("nb201")
    at = _load(_open(), "6111")
    assert _success(at, "Valid NAS-Bench-201 cell") == "Valid NAS-Bench-201 cell **#6111**."
    assert [at.selectbox(key=f"ed_nb201_op{k}").value for k in range(6)] == list(sp.cell(6111).names)
    assert at.query_params["cell"] == ARCH_6111 and at.query_params["space"] == "nb201"
    assert diagrams(at) and "conv 1x1" in diagrams(at)[0]
    assert any(m.value == f"`{sp.cell(6111).unique_str()}`" for m in at.markdown)  # the canonical form
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["cifar10 test %"] == f"{bench.query(6111, 'test', 'cifar10', 200):.4g}"
    star = _star(at)
    assert star["name"] == "edited cell #6111"
    assert [star["x"][0], star["y"][0]] == pytest.approx(src201["pca"][6111].tolist())
    assert _success(at, "nb201-arch2vec decodes") == "nb201-arch2vec decodes this cell back to itself (#6111)."
    nb, d = maps.source_neighbours(src201, 6111, 8)
    table = _neighbours(at)
    assert table["index"].tolist() == nb.tolist() and np.allclose(table["L2 distance"], maps.shown_numbers(d))

    # one op changed: another cell, everywhere on the page
    at.selectbox(key="ed_nb201_op0").set_value("none")
    _run(at)
    new = sp.index(sp.parse(ARCH_6111.replace("|nor_conv_3x3~0|+", "|none~0|+", 1)))
    assert new != 6111
    assert _success(at, "Valid NAS-Bench-201 cell") == f"Valid NAS-Bench-201 cell **#{new}**."
    assert at.query_params["cell"] == sp.cell(new).to_str()
    assert [_star(at)["x"][0], _star(at)["y"][0]] == pytest.approx(src201["pca"][new].tolist())
    assert {m.label: m.value for m in at.metric}["cifar10 test %"] == f"{bench.query(new, 'test', 'cifar10', 200):.4g}"
    assert _neighbours(at)["index"].tolist() == maps.source_neighbours(src201, new, 8)[0].tolist()

    # the neighbourhood becomes the search region, in the latent map's format
    at.button(key="ed_region").click()
    _run(at)
    region = at.session_state["search_region"]
    nb, _ = maps.source_neighbours(src201, new, 8)
    assert region == {"space": "nb201", "embedding": "nb201-arch2vec", "projection": "pca", "kind": "points",
                      "indices": sorted([new, *nb.tolist()]), "n": 9, "origin": "editor", "anchor": new}
    assert region == E.neighbourhood_region("nb201", "nb201-arch2vec", "pca", new, nb)
    assert _success(at, "Search region set").startswith(f"Search region set: cell #{new} and its 8 nearest")
    assert any(json.loads(c.value) == region for c in at.code if c.value.startswith("{"))

    # Mutate: one edge changed, the same edits again from the same seed
    before = [at.selectbox(key=f"ed_nb201_op{k}").value for k in range(6)]
    at.button(key="ed_mutate").click()
    _run(at)
    after = [at.selectbox(key=f"ed_nb201_op{k}").value for k in range(6)]
    assert sum(a != b for a, b in zip(before, after)) == 1
    assert after == E.mutate(sp, sp.parse(sp.cell(new).to_str()), np.random.default_rng(0))


def test_invalid_nb101_graph_gets_one_line_and_space_switch_keeps_each_spaces_cell():
    at = _load(_open(), "6111")
    at.radio(key="ed_space").set_value("nb101")
    _run(at)
    sp = get_space("nb101")
    head = _success(at, "Valid NAS-Bench-101 cell")
    assert "#6111**" not in head  # NB201's cell does not leak into NB101
    assert not [s.key for s in at.selectbox if s.key.startswith("ed_nb201")]  # NB101's editor only
    assert at.query_params["space"] == "nb101" and at.query_params["cell"].startswith("{")
    nb101_cell = at.query_params["cell"]
    assert (star := _star(at))["name"].startswith("edited cell #")

    # cut every edge out of the input: not a cell, one line saying why, nothing else drawn
    n = at.number_input(key="ed_nb101_n").value
    for y in range(1, n):
        at.checkbox(key=f"ed_nb101_e0_{y}").uncheck()
    _run(at)
    errs = [e.value for e in at.error]
    assert errs == ["Not a valid NAS\\-Bench\\-101 cell: invalid spec: the input is not connected to the output "
                    "\\(no input \\-\\> output path\\)"], errs
    assert not figures(at) and not diagrams(at) and not at.exception
    assert at.button(key="ed_mutate").disabled

    # a full 7-vertex graph: too many edges
    at.number_input(key="ed_nb101_n").set_value(7)
    _run(at)
    for x in range(7):
        for y in range(x + 1, 7):
            at.checkbox(key=f"ed_nb101_e{x}_{y}").check()
    _run(at)
    assert [e.value for e in at.error] == ["Not a valid NAS\\-Bench\\-101 cell: too many edges: 21 after pruning "
                                           "\\(at most 9\\)"]
    invalid_url = at.query_params["cell"]
    assert json.loads(invalid_url)["matrix"] == np.triu(np.ones((7, 7), int), 1).tolist()

    # back to NB201: its own cell, as left; then NB101 again: the invalid grid as left
    at.radio(key="ed_space").set_value("nb201")
    _run(at)
    assert _success(at, "Valid NAS-Bench-201 cell") == "Valid NAS-Bench-201 cell **#6111**."
    assert not at.error and at.query_params["cell"] == ARCH_6111
    at.radio(key="ed_space").set_value("nb101")
    _run(at)
    assert [e.value for e in at.error][0].endswith("too many edges: 21 after pruning \\(at most 9\\)")
    assert at.query_params["cell"] == invalid_url

    # a copied URL (the valid NB101 cell shown first) opens the same cell in a new session
    fresh = _open(space="nb101", cell=nb101_cell)
    cell = E.build_cell("nb101", json.loads(nb101_cell))
    assert _success(fresh, "Valid NAS-Bench-101 cell") == f"Valid NAS-Bench-101 cell **#{sp.index(cell)}**."
    assert _star(fresh)["name"] == star["name"]


def test_nb101_cell_outside_the_sample_says_so_and_a_bad_load_is_one_line():
    bench = get_benchmark("nb101")
    outside = int(np.setdiff1d(np.arange(get_space("nb101").n_cells), bench.indices)[0])
    at = _open(space="nb101")
    _load(at, str(outside))
    assert _success(at, "Valid NAS-Bench-101 cell") == f"Valid NAS-Bench-101 cell **#{outside}**."
    assert any(i.value.startswith(f"Cell #{outside} is not in the sample") for i in at.info)
    assert not at.metric
    assert at.text_input(key="ed_load").value == ""  # loaded: the box is cleared, so the same text loads again
    # an embedding of the sample cells only, without a model to encode others: one line, no map
    at.selectbox(key="ed_emb_nb101").set_value("nb101-controller-supervised")
    _run(at)
    shown = [w.value.replace("\\", "") for w in at.warning]  # as escape_markdown wrote it
    assert shown == [f"cell #{outside} is not among the cells this embedding covers and it has no model to encode "
                     "it; pick a latent model's embedding (arch2vec, beta-VAE)"]
    assert not figures(at)
    _load(at, "not a cell")
    assert [e.value for e in at.error][0].startswith("cannot read 'not a cell' as an NB101 architecture")
    assert at.text_input(key="ed_load").value == "not a cell"  # kept, to be corrected
    assert _success(at, "Valid NAS-Bench-101 cell") == f"Valid NAS-Bench-101 cell **#{outside}**."  # kept


def test_open_in_traversal_starts_the_traversal_at_the_cell():
    """Through app.py, as a user navigates: the button switches to the traversal page, anchored at the cell."""
    at = _load(_open(), "42")
    at.button(key="ed_traversal").click()
    _run(at)
    assert at.text_input(key="trav_anchor").value == "42"
    assert at.session_state["map_anchor"] == {"space": "nb201", "index": 42}


def test_a_cell_the_model_decodes_elsewhere_shows_the_decoded_cell():
    from test_viz_editor import unfaithful_cell

    from nasviz.models import load_model
    from nasviz.paths import models_dir

    sp = get_space("nb201")
    cell, other = unfaithful_cell(load_model(models_dir() / "nb201-bvae-beta1"), sp)
    at = _open(space="nb201", cell=str(cell), embedding="nb201-bvae-beta1")
    assert _success(at, "Valid NAS-Bench-201 cell") == f"Valid NAS-Bench-201 cell **#{cell}**."
    warn = [w.value for w in at.warning if w.value.startswith("nb201-bvae-beta1 decodes this cell to another cell")]
    assert len(warn) == 1 and f", #{other}" in warn[0], [w.value for w in at.warning]
    assert len(diagrams(at)) == 2  # the cell, and what the model makes of it


@pytest.mark.parametrize("params, cell, error", [
    ({"cell": "12724"}, "12724", None),  # no space: the default space's cell, not silently the default cell
    ({"cell": "abc"}, None, "The URL's cell was not loaded: "),
    ({"space": "nb999", "cell": "12724"}, None, "its space 'nb999' is not one of nb201, nb101"),
])
def test_a_url_cell_without_a_valid_space_loads_or_says_why(params, cell, error):
    at = _open(**params)
    assert not at.exception
    if error is None:
        from nasviz.bench import get_benchmark

        assert not at.error
        assert at.query_params["cell"] == get_benchmark("nb201").space.cell(int(cell)).to_str()
    else:
        assert len(at.error) == 1 and error in at.error[0].value, [e.value for e in at.error]
        assert at.query_params["cell"] == ARCH_6111  # the default cell is shown

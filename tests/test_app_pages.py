"""The app's analysis pages, run headless with Streamlit's AppTest (no browser), on the real data.

Each page: runs without exception, and its key widgets change what it shows
(asserted on real values). Figures are checked through the Plotly spec the page sends.
"""

from __future__ import annotations

import base64
from shutil import which as shutil_which
import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import html_tables, chart_configs, diagrams, figures, run_page
from streamlit.testing.v1 import AppTest
from nasviz.bench import get_benchmark

REPO = Path(__file__).resolve().parents[1]


def _run(script: str, at: AppTest | None = None) -> AppTest:
    return run_page(str(REPO / script), at)


def _arr(v) -> np.ndarray:
    """A Plotly JSON array: a list, or a typed array {"dtype", "bdata" (base64), "shape"}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=float)


def _maps(at: AppTest) -> list[dict]:
    """The arguments of the latent map's chart (a component, pages/_plotly_map) on the page."""
    return [json.loads(el.proto.json_args) for el in at.get("component_instance")
            if el.proto.component_name.endswith("plotly_map")]


def _figures(at: AppTest) -> list[dict]:
    """Every figure on the page in page order (st.plotly_chart's and the chart component's, as drawn)."""
    return figures(at)


def _caption(at: AppTest, needle: str) -> str:
    """The first caption that starts with a count and contains ``needle``."""
    found = [c.value for c in at.caption if c.value[:1].isdigit() and needle in c.value]
    assert found, [c.value for c in at.caption]
    return found[0]


# -- latent map --------------------------------------------------------------------------
MAP = "pages/latent_map.py"


def test_map_draws_every_nb201_cell_and_colour_changes_the_points():
    at = _run(MAP)
    assert _caption(at, "cells in view").startswith("15,625 of 15,625 cells in view (points")
    fig = _figures(at)[0]
    pts = [t for t in fig["data"] if t["type"] == "scattergl"]
    assert sum(len(_arr(t["x"])) for t in pts) == 15_625
    c10 = _arr(pts[-1]["marker"]["color"])
    assert c10.max() == pytest.approx(94.3733, abs=1e-3)  # best CIFAR-10 test accuracy (cell 6111)
    at.selectbox(key="map_colour_nb201").set_value("params (M)")
    _run(MAP, at)
    params = _arr([t for t in _figures(at)[0]["data"] if t["type"] == "scattergl"][-1]["marker"]["color"])
    assert params.max() == pytest.approx(1.531546, abs=1e-4) and not np.allclose(np.sort(params), np.sort(c10))
    assert at.query_params["space"] == "nb201"


def test_map_filters_cell_panel_box_selection_and_search_region():
    at = _run(MAP)
    at.multiselect(key="map_without_nb201").set_value(["none"])
    _run(MAP, at)
    assert _caption(at, "cells in view").startswith(f"{4 ** 6:,} of 15,625 cells in view")
    # a typed cell: its diagram, metrics and neighbours; highlighted on the map
    before = _maps(at)[0]
    at.text_input(key="map_cell").set_value("6111")
    _run(MAP, at)
    # the figure travels unchanged (a click must not send ~1 MB again); the star and rings come as the overlay
    after = _maps(at)[0]
    assert after["spec_url"] == before["spec_url"] and before["overlay"] == "[]"
    overlay = json.loads(after["overlay"])
    assert [t["name"] for t in overlay] == ["nearest in latent space", "cell #6111"]
    assert len(_arr(overlay[0]["customdata"])) == 8 and 6111 not in _arr(overlay[0]["customdata"]).tolist()
    assert any(m.value == "**Cell #6111**" for m in at.markdown)
    svg = diagrams(at)[0]
    assert svg.count('class="edge"') == 6 and "conv 1x1" in svg
    neighbours = next(t for t in html_tables(at) if "L2 distance" in t.columns)
    assert len(neighbours) == 8 and (neighbours["index"] != 6111).all()
    assert neighbours["L2 distance"].is_monotonic_increasing and neighbours["diagram"].all()
    # the NB201 strings verbatim (in code: Markdown would turn their ~...~ into strikethrough)
    from nasviz.spaces import get_space

    sp = get_space("nb201")
    assert neighbours["arch"].tolist() == [sp.cell(int(i)).to_str() for i in neighbours["index"]]
    assert _arr(_figures(at)[0]["data"][-1]["customdata"]).tolist() == [6111]
    assert at.query_params["cell"] == "6111"
    # a box by numbers: exactly the filtered cells inside, in a table; then a search region
    xs = [float(v) for v in (at.number_input(key="map_bx0").value, at.number_input(key="map_bx1").value)]
    at.number_input(key="map_bx1").set_value((xs[0] + xs[1]) / 2)
    at.button(key="map_box_button").click()
    _run(MAP, at)
    region = at.session_state["map_region"]
    # listed at once: the 10 best by the colour, each with its diagram; the whole selection on request
    best = html_tables(at)[-1]
    colour = at.selectbox(key="map_colour_nb201").value
    assert len(best) == 10 and best[colour].is_monotonic_decreasing and best["diagram"].all()
    assert set(best["index"]) <= set(region["indices"])
    assert not at.dataframe
    at.toggle(key="map_selection_all").set_value(True)
    _run(MAP, at)
    table = at.dataframe[-1].value
    assert 0 < len(table) < 4 ** 6 and not table["arch"].str.contains("none").any()
    assert region["kind"] == "box" and region["n"] == len(table) and sorted(table["index"]) == region["indices"]
    assert best[colour].iloc[0] == pytest.approx(table[colour].max(), rel=1e-3)
    at.button(key="map_use_region").click()
    _run(MAP, at)
    assert at.session_state["search_region"]["indices"] == region["indices"]
    assert any("Search region set" in s.value for s in at.success)


def test_map_bad_cell_and_empty_region_show_messages():
    at = _run(MAP)
    at.text_input(key="map_cell").set_value("|nor_conv_3x3~0|+|bogus")
    _run(MAP, at)
    assert "malformed NB201 string" in at.error[0].value
    at.number_input(key="map_bx0").set_value(1e6)
    at.number_input(key="map_bx1").set_value(2e6)
    at.button(key="map_box_button").click()
    _run(MAP, at)
    assert any("holds no cell" in i.value for i in at.info)
    # and the page still works
    at.text_input(key="map_cell").set_value("9930")
    _run(MAP, at)
    assert any(m.value == "**Cell #9930**" for m in at.markdown)


def test_map_nb101_density_then_points_when_zoomed():
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    at.query_params.update({"space": "nb101", "embedding": "discrete"})  # pinned: NB101 latent models may ship
    _run(MAP, at)
    assert _caption(at, "cells in view").startswith("423,624 of 423,624 cells in view (density")
    heat = [t for t in _figures(at)[0]["data"] if t["type"] == "heatmap"]
    assert heat and np.nanmax(_arr(heat[-1]["z"])) <= 95.0
    lo, hi = at.slider(key="map_wx_nb101_discrete_pca").value
    ylo, yhi = at.slider(key="map_wy_nb101_discrete_pca").value
    at.slider(key="map_wx_nb101_discrete_pca").set_value((lo, lo + (hi - lo) * 0.12))
    at.slider(key="map_wy_nb101_discrete_pca").set_value((ylo, ylo + (yhi - ylo) * 0.3))
    _run(MAP, at)
    cap = _caption(at, "cells in view")
    assert "(points;" in cap
    n = int(cap.split(" of ")[0].replace(",", ""))
    assert 0 < n <= 20_000
    assert sum(len(_arr(t["x"])) for t in _figures(at)[0]["data"] if t["type"] == "scattergl") == n


def test_map_nb101_controller_states_show_only_the_sample_cells():
    """NB101 controller hidden states exist for the 30,001 benchmark sample cells: the map offers them, plots just
    those cells (coloured by their benchmark results), says so, and keeps clicks and neighbours among them."""
    z = np.load(REPO / "data/embeddings/nb101-controller-supervised.npz")
    cells = np.sort(z["index"].astype(np.int64))
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    at.query_params.update({"space": "nb101", "embedding": "nb101-controller-supervised"})
    _run(MAP, at)
    assert at.selectbox(key="map_source_nb101").value == "nb101-controller-supervised"
    assert any("covers only the 30,001 cells of the benchmark's sample" in i.value for i in at.info)
    assert _caption(at, "cells in view").startswith("30,001 of 423,624 cells in view (density; 30,001 pass")
    heat = [t for t in _figures(at)[0]["data"] if t["type"] == "heatmap"]
    assert [t.get("name") for t in heat] == ["density"]  # every sample cell has a result: no grey bins
    # zoomed in: points, exactly sample cells, each point's index among them
    lo, hi = at.slider(key="map_wx_nb101_nb101-controller-supervised_pca").value
    at.slider(key="map_wx_nb101_nb101-controller-supervised_pca").set_value((lo, lo + (hi - lo) * 0.1))
    _run(MAP, at)
    assert "(points;" in _caption(at, "cells in view")
    pts = [t for t in _figures(at)[0]["data"] if t["type"] == "scattergl"]
    drawn = np.concatenate([_arr(t["customdata"])[:, 0] for t in pts]).astype(np.int64)
    assert len(drawn) > 0 and np.isin(drawn, cells).all()
    # a sample cell: its neighbours are sample cells; a cell outside the sample: a message, no neighbours
    at.text_input(key="map_cell").set_value(str(int(cells[123])))
    _run(MAP, at)
    nb = next(t for t in html_tables(at) if "L2 distance" in t.columns)
    assert len(nb) == 8 and np.isin(nb["index"], cells).all() and nb["L2 distance"].is_monotonic_increasing
    outside = int(np.setdiff1d(np.arange(cells.max() + 2), cells)[0])
    at.text_input(key="map_cell").set_value(str(outside))
    _run(MAP, at)
    assert any(f"cell \\#{outside} is not among the 30,001 cells" in i.value for i in at.info)
    assert any(m.value == f"**Cell #{outside}**" for m in at.markdown)  # its diagram and metrics still show


# -- traversal ---------------------------------------------------------------------------
TRAV = "pages/traversal.py"


def _step_captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption if c.value.startswith("#") or c.value.startswith("offset")]


def test_traversal_decodes_a_sequence_and_widgets_change_it():
    at = _run(TRAV)
    assert at.text_input(key="trav_anchor").value == "best"
    assert any("Anchor **#6111**" in m.value for m in at.markdown)
    n_steps = at.slider(key="trav_steps").value
    caps = [c for c in _step_captions(at) if "std" in c]
    assert len(caps) == n_steps
    dots = diagrams(at)
    valid = [c for c in caps if c.startswith("#")]
    assert len(dots) == len(valid) + at.slider(key="trav_walk_len").value + 1  # traversal + walk with its start
    # every diagram outlines exactly the edges that changed from the previous valid decode
    for cap, dot in zip(valid[1:], dots[1:len(valid)]):
        assert dot.count("(was ") == int(cap.rsplit("edit ", 1)[1])
    before = _step_captions(at)
    at.slider(key="trav_steps").set_value(5)
    _run(TRAV, at)
    assert len([c for c in _step_captions(at) if "std" in c]) == 5 < len([c for c in before if "std" in c])
    # another anchor: the sequence and the walk start from it
    at.text_input(key="trav_anchor").set_value("42")
    _run(TRAV, at)
    assert any("Anchor **#42**" in m.value for m in at.markdown)
    assert any(c.startswith("#42 ") and "start" in c for c in _step_captions(at))
    walk_heads = [s.value for s in at.subheader if "mean edit distance" in s.value]
    assert walk_heads and float(walk_heads[0].rsplit(" ", 1)[1]) >= 1.0


def test_traversal_bad_anchor_shows_the_message():
    at = _run(TRAV)
    at.text_input(key="trav_anchor").set_value("42")
    at.slider(key="trav_span").set_value(2.0)
    at.slider(key="trav_steps").set_value(5)
    _run(TRAV, at)
    at.text_input(key="trav_anchor").set_value("|nor_conv_3x3~0|+|bogus")
    _run(TRAV, at)
    assert "malformed NB201 string" in at.error[0].value
    # the last valid anchor stays shown, and the sliders keep their values through the next reruns (the page
    # used to stop before drawing them, and Streamlit then dropped their state)
    assert "showing #42 (the last anchor that was valid)" in at.error[0].value
    assert any("Anchor **#42**" in m.value for m in at.markdown)
    at.selectbox(key="trav_other").set_value("nb201-bvae-beta1")
    _run(TRAV, at)
    assert (at.slider(key="trav_span").value, at.slider(key="trav_steps").value) == (2.0, 5)
    assert any("Anchor **#42**" in m.value for m in at.markdown)
    at.selectbox(key="trav_other").set_value("(none)")
    at.text_input(key="trav_anchor").set_value("6111")
    _run(TRAV, at)
    assert not at.error and any("Anchor **#6111**" in m.value for m in at.markdown)


def test_traversal_on_nb101_decodes_spec_cells_and_walks_the_precomputed_embedding():
    at = AppTest.from_file(str(REPO / TRAV), default_timeout=300)
    at.query_params.update({"space": "nb101", "model": "nb101-arch2vec", "steps": "5"})
    _run(TRAV, at)
    assert at.radio(key="trav_space").value == "nb101"
    best = int(get_benchmark("nb101").best()[0])
    assert any(f"Anchor **#{best}**" in m.value and '"matrix"' in m.value for m in at.markdown)
    assert len([c for c in _step_captions(at) if "std" in c]) + len(at.warning) >= 5
    walk = [c for c in _step_captions(at) if "start" in c or " · edit " in c and "std" not in c]
    assert walk[0].startswith(f"#{best} ")
    assert len(diagrams(at)) >= at.slider(key="trav_walk_len").value + 1
    # an NB101 module hash as the anchor, then back to NB201 (the anchor resets to its best cell)
    sp = get_benchmark("nb101").space
    h = sp.cell(1234).hash
    at.text_input(key="trav_anchor").set_value(h)
    _run(TRAV, at)
    assert any("Anchor **#1234**" in m.value for m in at.markdown)
    at.radio(key="trav_space").set_value("nb201")
    _run(TRAV, at)
    assert any("Anchor **#6111**" in m.value for m in at.markdown) and not at.error
    # each space keeps its own anchor: NB201 42, then NB101 is back at its hash, then NB201 at 42
    at.text_input(key="trav_anchor").set_value("42")
    _run(TRAV, at)
    at.radio(key="trav_space").set_value("nb101")
    _run(TRAV, at)
    assert at.text_input(key="trav_anchor").value == h and any("Anchor **#1234**" in m.value for m in at.markdown)
    at.radio(key="trav_space").set_value("nb201")
    _run(TRAV, at)
    assert at.text_input(key="trav_anchor").value == "42" and any("Anchor **#42**" in m.value for m in at.markdown)


# -- controller --------------------------------------------------------------------------
CTRL = "pages/controller.py"


def _medians(at: AppTest) -> dict[str, float]:
    cap = next(c.value for c in at.caption if c.value.startswith("Paper Fig. 2"))
    parts = cap.split("Median here: ")[1].rstrip(".").split(", ")
    return {p.rsplit(" ", 1)[0]: float(p.rsplit(" ", 1)[1]) for p in parts}


def test_controller_figures_and_table1_follow_the_widgets():
    at = _run(CTRL)
    med = _medians(at)
    assert set(med) == {"random", "unsupervised", "supervised"}
    assert med["supervised"] > med["random"]  # trained controllers sample better cells (paper Fig. 2)
    figs = _figures(at)
    probs = figs[0]
    assert len([t for t in probs["data"] if t["type"] == "scatter"]) == 3 * at.slider(key="ctrl_n").value
    live = html_tables(at)[-1]
    assert list(live["controller"]) == ["random", "unsupervised", "supervised"]
    assert (live["GED (paper)"] == ["-0.064", "-0.028", "+0.100"]).all()
    # fewer sampled architectures: fewer lines in Fig. 1/4
    at.slider(key="ctrl_n").set_value(40)
    _run(CTRL, at)
    assert len([t for t in _figures(at)[0]["data"] if t["type"] == "scatter"]) == 3 * 40
    # another random-controller checkpoint changes what it samples
    def sampled(at, kind):
        hist = _figures(at)[1]
        return _arr(next(t for t in hist["data"] if t["name"].startswith(kind))["x"])

    seeds = at.selectbox(key="ctrl_seed_nb201_random").options
    assert len(seeds) >= 2, "the random controller ships with several seeds"
    before_random, before_sup = sampled(at, "random"), sampled(at, "supervised")
    at.selectbox(key="ctrl_seed_nb201_random").set_value(int(seeds[1]))
    _run(CTRL, at)
    assert not np.array_equal(sampled(at, "random"), before_random)
    assert np.array_equal(sampled(at, "supervised"), before_sup)
    # a table over more pairs gives other correlations for the same controllers
    at.select_slider(key="ctrl_t_pairs").set_value(2000)
    _run(CTRL, at)
    assert not html_tables(at)[-1].equals(live)


def test_controller_page_shows_nb101_beside_the_paper_and_keeps_the_space_in_the_url():
    at = AppTest.from_file(str(REPO / CTRL), default_timeout=600)
    at.query_params.update({"space": "nb101", "seed_supervised": "1"})
    _run(CTRL, at)
    assert at.radio(key="ctrl_space").value == "nb101"
    assert at.selectbox(key="ctrl_seed_nb101_supervised").value == 1  # from the shared URL
    # the stored NB101 Table 1 (benchmarks/results/controller.json, key nb101) beside the paper's numbers
    assert any("under `nb101`" in m.value for m in at.markdown)
    stored = html_tables(at)[0]
    from nasviz.viz.controller import stored_table1

    want = stored_table1(space="nb101")["table1"]["rows"]["supervised"]["measures"]["ged"]
    row = stored.set_index("controller").loc["supervised"]
    assert row["GED (ours)"] == f"{want['mean']:+.3f} ± {want['std']:.3f}" and row["GED (paper)"] == "+0.100"
    assert stored_table1(space="nb201")["table1"] != stored_table1(space="nb101")["table1"]
    # the figures are NB101's: Fig. 1/4 has one point per NB101 decision (26), not NB201's 6
    probs = _figures(at)[0]
    assert {len(_arr(t["y"])) for t in probs["data"] if t["type"] == "scatter"} == {26}
    nb101_hist = _figures(at)[1]
    assert at.query_params["space"] == "nb101" and at.query_params["seed_supervised"] == "1"
    # back to NB201: 6 decisions, other sampled accuracies, the URL follows
    at.radio(key="ctrl_space").set_value("nb201")
    _run(CTRL, at)
    assert {len(_arr(t["y"])) for t in _figures(at)[0]["data"] if t["type"] == "scatter"} == {6}
    assert _figures(at)[1] != nb101_hist
    assert at.query_params["space"] == "nb201"


# -- distributions -----------------------------------------------------------------------
DIST = "pages/distributions.py"


def test_distributions_page_plots_the_stored_runs_and_follows_the_widgets():
    from nasviz.viz import distributions as D

    at = _run(DIST)
    chosen = at.multiselect(key="dist_runs").value
    assert chosen and all(n.endswith("-seed0") for n in chosen)
    weights = _figures(at)[0]
    assert len(weights["data"]) == len(chosen) * 6 * 5  # runs x edges x ops
    summary = next(t for t in html_tables(at) if "final cell" in t.columns)
    run = D.load_runs(D.list_runs(), [chosen[0]])[0]
    assert summary.iloc[0]["final cell"] == run.final_cell().to_str()
    assert summary.iloc[0]["regret"] == pytest.approx(round(float(run.regret("cifar10")[-1]), 2))
    at.multiselect(key="dist_edges").set_value([0, 5])
    at.selectbox(key="dist_dataset").set_value("cifar100")
    _run(DIST, at)
    assert len(_figures(at)[0]["data"]) == len(chosen) * 2 * 5
    assert "cifar100" in _figures(at)[1]["layout"]["title"]["text"]
    assert next(t for t in html_tables(at) if "final cell" in t.columns).iloc[0]["regret"] == pytest.approx(round(float(run.regret("cifar100")[-1]), 2))
    at.multiselect(key="dist_runs").set_value([])
    _run(DIST, at)
    assert any("Pick at least one run" in i.value for i in at.info)


def test_distributions_page_opens_a_shared_url_writes_its_choices_back_and_names_its_downloads():
    at = AppTest.from_file(str(REPO / DIST), default_timeout=300)
    at.query_params.update({"runs": "darts-seed1,vimnas-seed2", "method": "unas", "seed": "7",
                            "dataset": "cifar100"})
    _run(DIST, at)
    assert at.multiselect(key="dist_runs").value == ["darts-seed1", "vimnas-seed2"]
    assert at.selectbox(key="dist_new_method").value == "unas" and at.number_input(key="dist_new_seed").value == 7
    assert at.selectbox(key="dist_dataset").value == "cifar100"
    assert len(_figures(at)[0]["data"]) == 2 * 6 * 5  # the two shared runs' anytime weights
    names = [c["toImageButtonOptions"]["filename"] for c in _chart_configs(at)]
    assert names[:2] == ["nasviz-distributions-anytime-weights", "nasviz-distributions-regret-cifar100"]
    assert len(set(names)) == len(names)
    # new choices go into the URL
    at.multiselect(key="dist_runs").set_value(["darts-seed0"])
    at.selectbox(key="dist_new_method").set_value("darts")
    _run(DIST, at)
    assert at.query_params["runs"] == "darts-seed0" and at.query_params["method"] == "darts"
    assert at.query_params["seed"] == "7" and at.query_params["dataset"] == "cifar100"
    # a hand-edited URL it cannot use falls back to the defaults
    at = AppTest.from_file(str(REPO / DIST), default_timeout=300)
    at.query_params.update({"runs": "nope-seed0", "method": "nope", "seed": "x", "dataset": "mnist"})
    _run(DIST, at)
    assert all(n.endswith("-seed0") for n in at.multiselect(key="dist_runs").value)
    assert at.selectbox(key="dist_new_method").value == "vimnas" and at.number_input(key="dist_new_seed").value == 0
    assert at.query_params["method"] == "vimnas"


# -- correlations ------------------------------------------------------------------------
CORR = "pages/correlations.py"


def test_correlations_page_ranks_dims_walks_and_fits_gps():
    at = _run(CORR)
    chosen = at.multiselect(key="corr_models").value
    assert chosen
    ranking = html_tables(at)[0]
    assert ranking["|rho accuracy|"].is_monotonic_decreasing
    edit = next(f for f in _figures(at) if "edit distance" in f["layout"]["title"]["text"])
    assert len(edit["data"]) == len(chosen)
    # another accuracy column: other correlations
    at.selectbox(key="corr_acc").set_value("ImageNet16-120 test %")
    _run(CORR, at)
    assert not np.allclose(html_tables(at)[0].sort_values("dim")["rho accuracy"],
                           ranking.sort_values("dim")["rho accuracy"])
    # only the one-hot encoding: its top dims are 3x3-conv slots
    at.multiselect(key="corr_models").set_value(["discrete"])
    at.selectbox(key="corr_acc").set_value("cifar10 test %")
    _run(CORR, at)
    top = html_tables(at)[0].head(2)
    assert all(d % 5 == 3 for d in top["dim"])
    # GP only on request; then a predicted-vs-true scatter with its RMSE
    assert any("press 'Fit the GPs'" in i.value for i in at.info)
    at.select_slider(key="corr_gp_train").set_value(50)
    at.button(key="corr_gp_run").click()
    _run(CORR, at)
    gp = next(f for f in _figures(at) if "GP on the embeddings" in f["layout"]["title"]["text"])
    assert "RMSE" in gp["layout"]["annotations"][0]["text"] and len(_arr(gp["data"][0]["x"])) == 2000
    at.multiselect(key="corr_models").set_value([])
    _run(CORR, at)
    assert any("Pick at least one embedding" in i.value for i in at.info)


# -- runs --------------------------------------------------------------------------------
RUNS = "pages/runs.py"


@pytest.fixture()
def run_store(tmp_path, monkeypatch):
    """A real run store with two finished random searches on NB201 and one queued run."""
    from nasviz.search.jobs import execute_run
    from nasviz.search.runs import validate_config
    from nasviz.search.store import Store

    db = tmp_path / "search.sqlite"
    monkeypatch.setenv("NASVIZ_DB", str(db))
    store = Store(db)
    ids = []
    for seed, budget in ((1, 15), (2, 25), (3, 10)):
        cfg = validate_config("random", budget=budget, seed=seed)
        ids.append(store.create_run(strategy=cfg.strategy, space=cfg.space, dataset=cfg.dataset, budget=cfg.budget,
                                    seed=cfg.seed, config=cfg.to_dict()))
    for rid in ids[:2]:
        execute_run(db, rid)
    return store, ids


def test_runs_page_lists_compares_exports_and_cancels(run_store):
    store, ids = run_store
    at = _run(RUNS)
    table = at.dataframe[0].value
    assert sorted(table["id"]) == ids and set(table["state"]) == {"complete", "queued"}
    curves = _figures(at)[0]
    assert len(curves["data"]) == 3
    best = {i: max(t.value for t in store.trials(i)) for i in ids[:2]}
    for trace, i in zip(curves["data"], sorted(table["id"], reverse=True)):
        if i in best:
            assert _arr(trace["y"]).max() == pytest.approx(best[i])
    # filter by state
    at.multiselect(key="runs_state").set_value(["complete"])
    _run(RUNS, at)
    assert sorted(at.dataframe[0].value["id"]) == ids[:2]
    # one run: its trials, best cells with diagrams
    at.selectbox(key="runs_one").set_value(ids[1])
    _run(RUNS, at)
    trials = at.dataframe[1].value
    assert len(trials) == 25 and trials["best so far"].is_monotonic_increasing
    top = max(store.trials(ids[1]), key=lambda t: t.value)
    assert any(m.value.startswith(f"**#{top.cell_index}**") for m in at.markdown)
    assert len(diagrams(at)) == 3
    # the queued run can be cancelled from the page
    at.multiselect(key="runs_state").set_value([])
    _run(RUNS, at)
    at.selectbox(key="runs_one").set_value(ids[2])
    _run(RUNS, at)
    at.button(key="runs_cancel").click()
    _run(RUNS, at)
    assert store.get_run(ids[2]).state.value == "cancelled"
    assert any("cancelled" in s.value for s in at.success)


def test_runs_page_without_a_store(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVIZ_DB", str(tmp_path / "none.sqlite"))
    at = _run(RUNS)
    assert "No run store" in at.info[0].value


# -- every page: figure downloads and the view in the URL ----------------------------------
def _chart_configs(at: AppTest) -> list[dict]:
    return chart_configs(at)


def test_figure_download_format_is_chosen_once_for_every_page():
    at = _run("app.py")  # the entry file's sidebar holds the one PNG/SVG choice
    assert at.radio(key="figure_format").options == ["PNG", "SVG"] and at.radio(key="figure_format").value == "png"
    at = _run(MAP)
    opts = _chart_configs(at)[0]["toImageButtonOptions"]
    assert opts["format"] == "png" and opts["filename"] == "nasviz-map-nb201-nb201-arch2vec-pca"
    # (AppTest does not draw the entry file's sidebar on a switched-to page; the choice lives in session state)
    at = AppTest.from_file(str(REPO / CORR), default_timeout=300)
    at.session_state["figure_format"] = "svg"
    _run(CORR, at)
    configs = _chart_configs(at)
    assert len(configs) >= 3 and {c["toImageButtonOptions"]["format"] for c in configs} == {"svg"}
    names = [c["toImageButtonOptions"]["filename"] for c in configs]
    assert len(set(names)) == len(names)  # each figure saves under its own name


def test_cell_diagrams_fall_back_to_the_browser_without_graphviz(monkeypatch):
    """Without the dot binary the server cannot render SVGs: the diagram is drawn by the browser's Graphviz
    (st.graphviz_chart) from the same DOT source, and no SVG/PNG download is offered."""
    import nasviz.viz.diagrams as D

    monkeypatch.setattr(D.shutil, "which", lambda name, *a, **k: None if name == "dot" else shutil_which(name))
    at = _run("pages/nb201_table.py")
    assert not diagrams(at) and not at.exception
    charts = at.get("graphviz_chart")
    assert len(charts) == 1 and charts[0].proto.spec.count("->") == 6 and "conv 3x3" in charts[0].proto.spec
    assert not at.get("download_button")


def test_cell_diagrams_offer_svg_and_png():
    at = _run("pages/nb201_table.py")
    assert [b.proto.label for b in at.get("download_button")] == ["SVG", "PNG"]
    svg = diagrams(at)[0]  # drawn as Graphviz's SVG, the same renderer the SVG button uses
    assert svg.lstrip().startswith("<?xml") and svg.count("conv 3x3") == 4  # the best CIFAR-10 cell


def test_map_view_opens_from_a_shared_url_and_is_written_back():
    from nasviz.viz.maps import load_source

    xy = load_source("nb201", "nb201-bvae-beta1")["umap"]
    (x0, y0), (x1, y1) = xy.min(0), xy.max(0)
    box = [float(x0), float((x0 + x1) / 2), float(y0), float((y0 + y1) / 2)]
    inside = np.flatnonzero((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[1]) & (xy[:, 1] >= box[2]) & (xy[:, 1] <= box[3]))
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    at.query_params.update({"space": "nb201", "embedding": "nb201-bvae-beta1", "projection": "umap",
                            "colour": "params (M)", "cell": "6111", "box": ",".join(map(str, box))})
    _run(MAP, at)
    assert at.selectbox(key="map_source_nb201").value == "nb201-bvae-beta1"
    assert at.selectbox(key="map_proj_nb201_nb201-bvae-beta1").value == "umap"
    assert at.selectbox(key="map_colour_nb201").value == "params (M)"
    assert any(m.value == "**Cell #6111**" for m in at.markdown)
    region = at.session_state["map_region"]
    assert region["kind"] == "box" and region["projection"] == "umap" and region["indices"] == inside.tolist()
    assert 0 < region["n"] < 15_625
    assert set(html_tables(at)[-1]["index"]) <= set(region["indices"])
    at.toggle(key="map_selection_all").set_value(True)
    _run(MAP, at)
    assert at.dataframe[-1].value["index"].tolist() == region["indices"]
    # the URL now carries exactly this view
    assert at.query_params["embedding"] == "nb201-bvae-beta1" and at.query_params["projection"] == "umap"
    assert [float(v) for v in at.query_params["box"].split(",")] == pytest.approx(region["x"] + region["y"])
    # a new colour goes into the URL; clearing the cell removes it
    at.selectbox(key="map_colour_nb201").set_value("cifar100 test %")
    at.text_input(key="map_cell").set_value("")
    _run(MAP, at)
    assert at.query_params["colour"] == "cifar100 test %" and "cell" not in at.query_params


def test_map_ignores_a_hand_edited_url_it_cannot_use():
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    at.query_params.update({"space": "nb999", "embedding": "nope", "projection": "nope", "colour": "nope",
                            "box": "1,2,x,4"})
    _run(MAP, at)
    assert at.radio(key="map_space").value == "nb201"
    assert at.selectbox(key="map_source_nb201").value == "nb201-arch2vec"
    assert at.selectbox(key="map_colour_nb201").value == "cifar10 test %"
    assert "map_region" not in at.session_state or at.session_state["map_region"] is None
    assert at.query_params["space"] == "nb201" and "box" not in at.query_params
    # each value the page could not use is named in a toast, with the default the page used instead
    toasts = [t.value for t in at.toast]
    assert any("space='nb999'" in t and "(nb201)" in t for t in toasts), toasts
    assert any("colour='nope'" in t and "(cifar10 test %)" in t for t in toasts), toasts
    assert any("embedding='nope'" in t for t in toasts), toasts


def test_switching_space_raises_no_link_toast():
    """The URL still holds the other space's embedding and colour after a switch: the page's own values, not a
    mistyped link, so no toast (the first version of the toast said they could not be used)."""
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    _run(MAP, at)
    assert not at.toast
    at.radio(key="map_space").set_value("nb101")
    _run(MAP, at)
    assert not [t.value for t in at.toast], [t.value for t in at.toast]


def test_traversal_and_correlations_open_from_a_shared_url():
    at = AppTest.from_file(str(REPO / TRAV), default_timeout=300)
    at.query_params.update({"anchor": "42", "dim": "3", "span": "2.0", "steps": "5", "model": "nb201-arch2vec"})
    _run(TRAV, at)
    assert at.number_input(key="trav_dim").value == 3 and at.slider(key="trav_steps").value == 5
    assert at.slider(key="trav_span").value == 2.0
    assert any("Anchor **#42**" in m.value for m in at.markdown)
    assert len([c for c in _step_captions(at) if "std" in c]) == 5
    at.number_input(key="trav_dim").set_value(7)
    _run(TRAV, at)
    assert at.query_params["dim"] == "7" and at.query_params["anchor"] == "42"

    at = AppTest.from_file(str(REPO / CORR), default_timeout=300)
    at.query_params.update({"embeddings": "discrete", "accuracy": "cifar100 test %"})
    _run(CORR, at)
    assert at.multiselect(key="corr_models").value == ["discrete"]
    assert at.selectbox(key="corr_acc").value == "cifar100 test %"
    assert at.subheader[0].value.startswith("discrete encoding")


def test_table_page_opens_a_shared_cell_and_survives_a_bad_one():
    at = AppTest.from_file(str(REPO / "pages/nb201_table.py"), default_timeout=300)
    at.query_params.update({"cell": "9930", "view": "node", "compare": "6111"})
    _run("pages/nb201_table.py", at)
    assert any(s.value == "Cell #9930" for s in at.subheader)
    assert at.radio(key="nb201_view").value == "node"
    assert "(was " in diagrams(at)[0]  # compared with 6111
    at = AppTest.from_file(str(REPO / "pages/nb201_table.py"), default_timeout=300)
    at.query_params["cell"] = "|nor_conv_3x3~0|+|bogus"
    _run("pages/nb201_table.py", at)
    assert "malformed NB201 string" in at.error[0].value
    at.text_input(key="nb201_arch").set_value("42")
    _run("pages/nb201_table.py", at)
    assert not at.error and any(s.value == "Cell #42" for s in at.subheader)
    assert at.query_params["cell"] == "42"


def test_runs_page_opens_a_shared_run_and_filters_to_nothing(run_store):
    store, ids = run_store
    at = AppTest.from_file(str(REPO / RUNS), default_timeout=300)
    at.query_params.update({"run": str(ids[1]), "compare": f"{ids[0]},{ids[1]}"})
    _run(RUNS, at)
    assert at.selectbox(key="runs_one").value == ids[1]
    assert len(_figures(at)[0]["data"]) == 2
    assert len(at.dataframe[1].value) == 25
    assert _chart_configs(at)[0]["toImageButtonOptions"]["filename"] == f"nasviz-runs-{ids[0]}-{ids[1]}"
    assert [b.proto.label for b in at.get("download_button")][-2:] == ["SVG", "PNG"]
    # a filter that keeps no run: a message, not an error
    at.multiselect(key="runs_state").set_value(["failed"])
    _run(RUNS, at)
    assert any("No run passes the filters" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["nb201_table", "latent_map", "traversal", "correlations", "controller", "runs",
                                  "dense_sampling"])
def test_each_page_opens_with_a_short_intro_naming_its_source(page, tmp_path, monkeypatch):
    """Right after the title, as the page renders: one markdown of two or three sentences that names the paper part
    it shows (the runs page without a store still shows its intro before saying there is none)."""
    import re

    from streamlit.testing.v1.element_tree import Block

    monkeypatch.setenv("NASVIZ_DB", str(tmp_path / "runs.sqlite"))  # the user's run store is never read
    at = _run(f"pages/{page}.py")
    shown = [n for n in at.main if not isinstance(n, Block)]  # the page's elements in the order it shows them
    kinds = [n.type for n in shown]
    assert kinds[0] == "title", kinds[:5]
    intro = shown[1]
    assert intro.type == "markdown", kinds[:5]
    text = intro.value
    sentences = [s for s in re.split(r"(?<=[a-z0-9)'])[.:] (?=[A-Z])", text.strip()) if s]
    assert 2 <= len(sentences) <= 3, sentences
    assert re.search(r"Fig\. \d|Table \d|Eq\. \d|ICLR|\d{4}\)", text), text


def test_runs_page_shows_a_failed_run_and_keeps_working(run_store):
    from nasviz.search.store import RunState

    store, ids = run_store
    rid = store.create_run(strategy="random", space="nb201", dataset="cifar10", budget=5, seed=9,
                           config={"strategy": "random"})
    store.mark_running(rid, "local:test:1")
    store.finish_run(rid, RunState.FAILED, error="RuntimeError: worker lost its benchmark file")
    at = AppTest.from_file(str(REPO / RUNS), default_timeout=300)
    at.query_params["run"] = str(rid)
    _run(RUNS, at)
    assert any("worker lost its benchmark file" in e.value for e in at.error)
    assert any("no completed trial" in i.value for i in at.info)
    assert not at.button(key="runs_resume").disabled and at.button(key="runs_cancel").disabled
    at.selectbox(key="runs_one").set_value(ids[0])
    _run(RUNS, at)
    assert not at.error and len(at.dataframe[1].value) == 15


def test_map_nb101_arch2vec_umap_says_how_it_was_fitted():
    at = AppTest.from_file(str(REPO / MAP), default_timeout=300)
    at.query_params.update({"space": "nb101", "embedding": "nb101-arch2vec", "projection": "umap"})
    _run(MAP, at)
    assert at.selectbox(key="map_source_nb101").value == "nb101-arch2vec"
    assert _caption(at, "cells in view").startswith("423,624 of 423,624 cells in view (density")
    assert any("UMAP fitted on a seeded random 50,000 of 423,624 points" in c.value for c in at.caption)
    at.selectbox(key="map_proj_nb101_nb101-arch2vec").set_value("pca")
    _run(MAP, at)
    assert not any("fitted on a seeded random" in c.value for c in at.caption)


# -- the map's chart component and the server's warm-up -----------------------------------------
def test_map_component_selection_and_shipped_bundle():
    import hashlib

    from pages import _plotly_map

    click = {"selection": {"points": [{"curve_number": 1, "customdata": [6111, 94.37]}], "box": [], "lasso": []},
             "event": 3}
    assert _plotly_map.selection(click)["points"][0]["customdata"][0] == 6111
    assert _plotly_map.selection(None) == {} and _plotly_map.selection({"event": 1}) == {}
    assert _plotly_map.selection("not a value") == {}
    # the plotly.js build the map draws with is the one README.md documents (tools/plotly_map_bundle)
    here = REPO / "pages" / "_plotly_map"
    sha = hashlib.sha256((here / "plotly-map.min.js").read_bytes()).hexdigest()
    assert sha in (here / "README.md").read_text()
    assert "plotly-map.min.js" in (here / "index.html").read_text()


def test_warm_up_fills_the_caches_the_map_page_reads(monkeypatch):
    from pages import _map_data

    for f in (_map_data.frame, _map_data.sources, _map_data.source, _map_data.all_labels):
        f.clear()
    _map_data.warm_up()

    def loaded_again(*args, **kwargs):
        raise AssertionError("the map page loaded again what the warm-up had loaded")

    for name in ("space_frame", "list_sources", "load_source", "hover_labels"):
        monkeypatch.setattr(_map_data.maps, name, loaded_again)
    table = _map_data.frame("nb201")
    name = _map_data.preferred_source("nb201", [s.name for s in _map_data.sources("nb201")])
    assert name == "nb201-arch2vec"
    with np.load(REPO / "data/embeddings/nb201-arch2vec.npz", allow_pickle=False) as z:  # the shipped file, read here
        np.testing.assert_array_equal(_map_data.source("nb201", name)["pca"], z["pca"].astype(np.float32))
    assert len(_map_data.labels_for("nb201", table["index"].to_numpy())) == 15_625

"""The latent map's extra views run headless (AppTest, real data): top k % (caption numbers, URL), grey-out of the
cells outside a selection (what the chart is sent), and the Pareto view's table for a selected region."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import run_page
from streamlit.testing.v1 import AppTest

from nasviz.bench import get_benchmark
from pages._plotly_map import read_figure
from nasviz.viz import maps, pareto

REPO = Path(__file__).resolve().parents[1]
MAP = str(REPO / "pages/latent_map.py")
EMB, PROJ = "nb201-arch2vec", "pca"


@pytest.fixture(scope="module")
def nb201():
    return maps.space_frame("nb201", get_benchmark("nb201")), maps.load_source("nb201", EMB)[PROJ]


def _at(params: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAP, default_timeout=600)
    at.query_params.update({"space": "nb201", "embedding": EMB, "projection": PROJ, **(params or {})})
    return run_page(MAP, at)


def _charts(at: AppTest) -> list[dict]:
    """The arguments of each chart component on the page (the map first, then the Pareto chart)."""
    return [json.loads(el.proto.json_args) for el in at.get("component_instance")
            if el.proto.component_name.endswith("plotly_map")]


def _coloured(at: AppTest) -> set[int]:
    """The cells the map is told to keep in colour: each cell trace's cells at its ``focus`` positions."""
    args = _charts(at)[0]
    fig, focus = read_figure(args), json.loads(args["focus"])["points"]
    out = set()
    for t, sp in zip(fig["data"], focus):
        if sp is not None:
            cd = t["customdata"]
            rows = np.frombuffer(base64.b64decode(cd["bdata"]), dtype=np.dtype(cd["dtype"])).reshape(
                [int(n) for n in str(cd["shape"]).split(",")])
            out |= set(rows[sp, 0].astype(int).tolist())
    return out


def _captions(at: AppTest) -> list[str]:
    return [c.value for c in at.caption]


def test_top_k_caption_url_and_the_cells_kept_in_colour(nb201):
    f, _ = nb201
    acc = f["cifar10 test %"].to_numpy()
    at = _at({"top": "5"})
    top = maps.top_k(acc, 5, column="cifar10 test %")
    assert (top.n, top.n_ranked) == (784, 15_625)  # k = 782, two more cells tie at the threshold
    assert (f"Top 5 % by cifar10 test % (highest): 784 of 15,625 cells with a value (cifar10 test % ≥ "
            f"{top.threshold:.4g}); the others are grey.") in _captions(at)
    assert "784 cells in view in colour (in the top 5 %), the other 14,841 in grey." in _captions(at)
    assert _coloured(at) == set(np.flatnonzero(top.mask).tolist())
    assert at.query_params["top"] == "5" and at.toggle(key="map_top_on").value
    # 1 %, ranked by another accuracy, outside hidden: the map draws only those cells; the URL follows
    at.number_input(key="map_top_pct").set_value(1.0)
    at.selectbox(key="map_top_by_nb201").set_value("ImageNet16-120 test %")
    at.radio(key="map_top_mode").set_value("hidden")
    run_page(MAP, at)
    top = maps.top_k(f["ImageNet16-120 test %"].to_numpy(), 1, column="ImageNet16-120 test %")
    assert top.k == 157 and top.n >= 157
    assert any(c.startswith(f"Top 1 % by ImageNet16-120 test % (highest): {top.n:,} of 15,625 cells with a value")
               and c.endswith("the others are hidden.") for c in _captions(at))
    assert any(c.startswith(f"{top.n:,} of 15,625 cells in view (points; {top.n:,} pass the filters)")
               for c in _captions(at))
    fig = read_figure(_charts(at)[0])
    assert sum(int(t["customdata"]["shape"].split(",")[0]) for t in fig["data"]) == top.n
    assert at.query_params["top"] == "1" and at.query_params["topby"] == "ImageNet16-120 test %"
    # off: no caption, no parameter
    at.toggle(key="map_top_on").set_value(False)
    run_page(MAP, at)
    assert not any(c.startswith("Top ") for c in _captions(at)) and "top" not in at.query_params


@pytest.mark.parametrize("bad", ["0", "250", "abc"])
def test_a_top_k_the_page_cannot_use_leaves_it_off(bad):
    at = _at({"top": bad})
    assert not at.toggle(key="map_top_on").value and not any(c.startswith("Top ") for c in _captions(at))


def test_selection_greys_the_rest_and_the_pareto_table_lists_its_front(nb201):
    f, xy = nb201
    at = _at()
    x = (float(np.quantile(xy[:, 0], 0.25)), float(np.quantile(xy[:, 0], 0.75)))
    y = (float(np.quantile(xy[:, 1], 0.1)), float(np.quantile(xy[:, 1], 0.9)))
    region = maps.box_region(x, y, xy, np.arange(15_625), space="nb201", embedding=EMB, projection=PROJ)
    assert 5_000 < region["n"] < 9_000  # about the ~6,800-cell selections the map must handle quickly
    at.session_state["map_region"] = region
    run_page(MAP, at)
    n = region["n"]
    assert f"{n:,} cells in view in colour (selected), the other {15_625 - n:,} in grey." in _captions(at)
    assert _coloured(at) == set(region["indices"])
    outline = json.loads(_charts(at)[0]["focus"])["outline"]
    assert outline["type"] == "rect" and [outline[k] for k in ("x0", "x1", "y0", "y1")] == [*region["x"], *region["y"]]
    # grey-out off: nothing greyed, the selection kept
    at.toggle(key="map_grey").set_value(False)
    run_page(MAP, at)
    assert json.loads(_charts(at)[0]["focus"])["points"] is None
    assert not any("in grey" in c for c in _captions(at))
    # the Pareto view against FLOPs: its table is the selection's front, cheapest first
    at.toggle(key="map_pareto_on").set_value(True)
    run_page(MAP, at)
    assert at.query_params["pareto"] == "params (M)"
    at.radio(key="map_pareto_x_nb201").set_value("FLOPs (M)")
    run_page(MAP, at)
    acc, cost = f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy()
    view = pareto.pareto_view(acc, cost, np.arange(15_625), region["indices"])
    table = at.dataframe[-1].value  # the last table on the page: the Pareto front
    assert table["index"].tolist() == view.highlighted_front.tolist()
    assert np.allclose(table["cifar10 test %"], acc[view.highlighted_front])
    assert table["on the front of all cells"].tolist() == np.isin(view.highlighted_front, view.front).tolist()
    on_all = int(np.isin(view.highlighted_front, view.front).sum())
    assert any(c.startswith(f"{n:,} cells selected (of 15,625 with both values): their front holds "
                            f"{len(view.highlighted_front):,} cells, {on_all:,} of them on the front of all cells "
                            f"({len(view.front):,} cells)") for c in _captions(at))
    assert at.query_params["pareto"] == "FLOPs (M)"
    pfig = read_figure(_charts(at)[1])
    names = [t["name"] for t in pfig["data"]]
    assert names[:2] == ["other cells", "selected"] and "front (selected)" in names


def test_nb101_density_map_greys_the_bins_outside_a_selection():
    """NB101's 423,624 cells are drawn as density bins: with a selection, bins are coloured by the mean over the
    selected cells with a result and the others are grey ("other cells")."""
    at = AppTest.from_file(MAP, default_timeout=600)
    at.query_params.update({"space": "nb101", "embedding": "discrete"})
    run_page(MAP, at)
    xy = maps.load_source("nb101", "discrete")["pca"]
    region = maps.box_region((float(np.quantile(xy[:, 0], 0.3)), float(np.quantile(xy[:, 0], 0.6))),
                             (float(xy[:, 1].min()), float(xy[:, 1].max())), xy, np.arange(len(xy)), space="nb101",
                             embedding="discrete", projection="pca")
    at.session_state["map_region"] = region
    run_page(MAP, at)
    fig = read_figure(_charts(at)[0])
    assert [t["name"] for t in fig["data"] if t["type"] == "heatmap"] == ["other cells", "density"]
    n = region["n"]
    assert any(c.startswith(f"{n:,} cells in view in colour (selected), the other {423_624 - n:,} in grey (density")
               for c in _captions(at))

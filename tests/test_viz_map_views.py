"""The latent map's extra views (issue #16 item 12), called without Streamlit on the real NB201 table: the Pareto
front (nasviz.viz.pareto), the top k % and the grey-out of cells outside the selection (nasviz.viz.maps)."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.viz import maps, pareto


@pytest.fixture(scope="module")
def nb201():
    bench = get_benchmark("nb201")
    return maps.space_frame("nb201", bench), maps.load_source("nb201", maps.DISCRETE)


def brute_front(acc, cost) -> set[int]:
    """O(n^2): the points no other point dominates (>= accuracy and <= cost, one of them strict)."""
    acc, cost = np.asarray(acc, dtype=np.float64), np.asarray(cost, dtype=np.float64)
    ok = np.flatnonzero(np.isfinite(acc) & np.isfinite(cost))
    a, c = acc[ok], cost[ok]
    out = set()
    for start in range(0, len(ok), 2048):  # rows of the n x n dominance matrix, a block at a time
        ai, ci = a[start:start + 2048, None], c[start:start + 2048, None]
        dominated = ((a[None] >= ai) & (c[None] <= ci) & ((a[None] > ai) | (c[None] < ci))).any(1)
        out |= set(ok[start:start + 2048][~dominated].tolist())
    return out


@pytest.mark.parametrize("acc_col, cost_col", [("cifar10 test %", "params (M)"), ("cifar100 test %", "FLOPs (M)"),
                                               ("ImageNet16-120 test %", "params (M)")])
def test_pareto_front_matches_brute_force_on_every_nb201_cell(nb201, acc_col, cost_col):
    f, _ = nb201
    acc, cost = f[acc_col].to_numpy(), f[cost_col].to_numpy()
    front = pareto.pareto_front(acc, cost)
    assert set(front.tolist()) == brute_front(acc, cost)
    assert len(front) == len(set(front.tolist())) >= 5
    # ordered by cost, accuracy rising along it; the best cell overall and the cheapest best are on it
    assert np.all(np.diff(cost[front]) >= 0) and np.all(np.diff(acc[front]) >= 0)
    assert int(np.argmax(acc)) in set(front.tolist()) or acc[front].max() == acc.max()
    assert acc[front].max() == acc.max()
    cheapest = np.flatnonzero(cost == cost.min())
    assert acc[front[0]] == acc[cheapest].max()


def test_pareto_front_ties_and_missing_values():
    #            0    1    2    3    4    5    6    7       8
    acc = np.array([90., 90., 92., 92., 95., 95., 91., np.nan, 99.])
    cost = np.array([1., 1., 2., 2., 3., 4., 3., 0.5, np.nan])
    # 0 and 1: the same point, both on the front; 2 and 3 too; 4 beats 6 at equal cost (3) and 5 at lower cost;
    # 7 and 8 have no accuracy / no cost: never on it
    front = pareto.pareto_front(acc, cost)
    assert front.tolist() == [0, 1, 2, 3, 4]
    assert set(front.tolist()) == brute_front(acc, cost)
    # equal accuracy at a higher cost is dominated; an equal cost with lower accuracy too
    assert pareto.pareto_front([5., 5.], [1., 2.]).tolist() == [0]
    assert pareto.pareto_front([5., 4.], [1., 1.]).tolist() == [0]
    assert pareto.pareto_front([np.nan], [1.]).tolist() == []
    rng = np.random.default_rng(3)  # many ties on both axes (values on a coarse grid)
    a, c = rng.integers(0, 6, 400).astype(float), rng.integers(0, 6, 400).astype(float)
    assert set(pareto.pareto_front(a, c).tolist()) == brute_front(a, c)
    with pytest.raises(ValueError, match="same length"):
        pareto.pareto_front([1., 2.], [1.])


def test_pareto_view_and_figure_of_a_selection(nb201):
    f, src = nb201
    acc, cost = f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy()
    shown = np.flatnonzero(maps.filter_mask(f, without_ops=["none"]))
    xy = src["pca"]
    region = maps.box_region((float(np.quantile(xy[:, 0], 0.2)), float(np.quantile(xy[:, 0], 0.7))),
                             (float(xy[:, 1].min()), float(xy[:, 1].max())), xy, shown, space="nb201",
                             embedding="discrete", projection="pca")
    sel = np.asarray(region["indices"])
    view = pareto.pareto_view(acc, cost, shown, np.r_[sel, 0])  # cell 0 (all 'none') is not shown: left out
    assert np.array_equal(view.cells, shown) and np.array_equal(view.highlighted, sel)
    assert set(view.front.tolist()) == {int(shown[i]) for i in brute_front(acc[shown], cost[shown])}
    assert set(view.highlighted_front.tolist()) == {int(sel[i]) for i in brute_front(acc[sel], cost[sel])}
    fig = pareto.pareto_figure(view, acc, cost, x_label="FLOPs (M)", y_label="cifar10 test %")
    by = {t.name: t for t in fig.data if t.mode == "markers" and t.showlegend is not False}
    # the selected cells in colour, every other shown cell in grey, each point carrying its cell index
    assert sorted(np.asarray(by["selected"].customdata).tolist()) == sel.tolist()
    assert sorted(np.asarray(by["other cells"].customdata).tolist()) == np.setdiff1d(shown, sel).tolist()
    assert by["other cells"].marker.color == pareto.OTHER_COLOR and by["selected"].marker.color == pareto.SELECTED_COLOR
    assert np.allclose(by["selected"].y, acc[np.asarray(by["selected"].customdata)])
    # each front: a staircase through its cells (2n - 1 vertices), and the cells marked for clicks
    for name, cells in (("front (all cells)", view.front), ("front (selected)", view.highlighted_front)):
        line = next(t for t in fig.data if t.name == name and t.mode == "lines")
        marks = next(t for t in fig.data if t.name == name and t.mode == "markers")
        assert len(line.x) == 2 * len(cells) - 1 and np.array_equal(np.asarray(marks.customdata), cells)
        assert np.all(np.diff(np.asarray(line.x)) >= 0) and np.all(np.diff(np.asarray(line.y)) >= 0)
    # nothing highlighted: one cloud of every cell, one front
    fig = pareto.pareto_figure(pareto.pareto_view(acc, cost, shown), acc, cost, x_label="x", y_label="y")
    assert [t.name for t in fig.data] == ["all cells", "front (all cells)", "front (all cells)"]


def test_top_k_threshold_count_and_ties(nb201):
    f, _ = nb201
    acc = f["cifar10 test %"].to_numpy()
    top = maps.top_k(acc, 5, column="cifar10 test %")
    k = int(np.ceil(0.05 * 15_625))  # 782
    assert top.k == k == 782 and top.n_ranked == 15_625
    assert top.threshold == np.sort(acc)[::-1][k - 1]
    assert top.n == int((acc >= top.threshold).sum()) >= k and np.array_equal(top.mask, acc >= top.threshold)
    assert top.caption() == (f"Top 5 % by cifar10 test % (highest): {top.n:,} of 15,625 cells with a value "
                             f"(cifar10 test % ≥ {top.threshold:.4g})")
    # among the cells passing a filter only; costs rank lowest first
    among = maps.filter_mask(f, without_ops=["none"])
    params = f["params (M)"].to_numpy()
    t = maps.top_k(params, 1, among, column="params (M)")
    assert t.lower_is_better and t.n_ranked == 4 ** 6 and t.k == int(np.ceil(0.01 * 4 ** 6))
    assert t.threshold == np.sort(params[among])[t.k - 1]
    assert not (t.mask & ~among).any() and (params[t.mask] <= t.threshold).all()
    # ties: all cells at the k-th value are kept
    v = np.array([1., 2., 3., 3., 3., 4., np.nan])
    t = maps.top_k(v, 34, lower=False)  # 6 ranked, k = ceil(2.04) = 3: the 3rd best is 3 -> 4 cells
    assert (t.k, t.threshold, t.n, t.n_ranked) == (3, 3.0, 4, 6) and t.mask.tolist() == [0, 0, 1, 1, 1, 1, 0]
    assert maps.top_k(v, 0.1).n == 1 and maps.top_k(v, 100).n == 6
    none = maps.top_k(v, 5, np.zeros(len(v), dtype=bool), column="c")
    assert (none.n, none.n_ranked) == (0, 0) and not none.mask.any()
    assert none.caption() == "Top 5 % by c: no cell considered has a value"
    with pytest.raises(NasvizError, match="above 0 and at most 100"):
        maps.top_k(v, 0)


def test_grey_out_keeps_the_selection_in_colour(nb201):
    """Points: every cell trace carries plotly's ``selectedpoints`` = its selected cells (drawn in the colour
    scale) and a grey ``unselected`` style for the rest; the star and neighbour traces are never greyed.
    Density (NB101's view): bins coloured by the mean over the selected cells, grey where none is."""
    f, src = nb201
    xy = src["pca"]
    acc = f["cifar10 test %"].to_numpy().copy()
    acc[[5, 17]] = np.nan  # two cells without a result: the grey "no result" trace
    shown = np.arange(15_625)
    region = maps.box_region((float(xy[:, 0].min()), float(np.median(xy[:, 0]))), (-1e9, 1e9), xy, shown,
                             space="nb201", embedding="discrete", projection="pca")
    top = maps.top_k(acc, 10, column="cifar10 test %")
    focus = maps.focus_mask(15_625, region["indices"], top.mask)
    assert focus.sum() == len(set(region["indices"]) & set(np.flatnonzero(top.mask).tolist())) > 0
    assert maps.focus_mask(10, None, None) is None and maps.focus_mask(4, [1, 3]).tolist() == [0, 1, 0, 1]
    fig, mode, _ = maps.map_figure(xy, acc, shown, color_label="c10", labels=maps.hover_labels("nb201", f, shown),
                                   highlight=6111, neighbours=np.array([1, 2]), focus=focus)
    assert mode == "points"
    coloured, greyed = set(), set()
    for t, cells in zip(fig.data, maps.trace_cells(fig)):
        if cells is None:  # neighbours and the star
            assert t.selectedpoints is None
            continue
        sp = np.asarray(t.selectedpoints, dtype=np.int64)
        coloured |= set(cells[sp].tolist())
        greyed |= set(np.delete(cells, sp).tolist())
        assert t.unselected.marker.opacity is not None
    assert coloured == set(np.flatnonzero(focus).tolist()) and greyed == set(range(15_625)) - coloured
    col = next(t for t in fig.data if t.name == "c10")
    assert col.unselected.marker.color == maps.UNSELECTED_COLOR and col.marker.colorscale is not None
    # what the page sends to the chart apart from the figure is exactly those selectedpoints
    plain, _, _ = maps.map_figure(xy, acc, shown, color_label="c10", labels=maps.hover_labels("nb201", f, shown))
    assert all(t.selectedpoints is None for t in plain.data)
    sent = maps.focus_points(maps.trace_cells(plain), focus)
    assert sent == [None if t.selectedpoints is None else list(t.selectedpoints) for t in fig.data[:len(sent)]]
    assert maps.focus_points(maps.trace_cells(plain), None) is None
    # density: the colour heatmap averages the focus cells only; bins holding none of them are grey
    fig, mode, _ = maps.map_figure(xy, acc, shown, color_label="c10", max_points=1000, bins=12, focus=focus)
    assert mode == "density"
    grey, mean = (next(t for t in fig.data if t.name == n) for n in ("other cells", "density"))
    z = np.asarray(mean.z, dtype=float).T
    ex = np.linspace(xy[:, 0].min(), xy[:, 0].max(), 13)
    ey = np.linspace(xy[:, 1].min(), xy[:, 1].max(), 13)
    have = focus & np.isfinite(acc)
    n, _, _ = np.histogram2d(xy[have, 0], xy[have, 1], bins=[ex, ey])
    s, _, _ = np.histogram2d(xy[have, 0], xy[have, 1], bins=[ex, ey], weights=acc[have])
    with np.errstate(invalid="ignore"):
        assert np.allclose(z, np.where(n > 0, s / n, np.nan), equal_nan=True)
    assert np.array_equal(np.isfinite(np.asarray(grey.z, dtype=float).T),
                          (np.histogram2d(xy[:, 0], xy[:, 1], bins=[ex, ey])[0] > 0) & (n == 0))


def test_region_outline_is_the_box_or_the_lasso_drawn(nb201):
    _, src = nb201
    xy = src["pca"]
    kw = dict(space="nb201", embedding="discrete", projection="pca")
    box = maps.box_region((-1.0, 0.5), (-2.0, 1.0), xy, np.arange(15_625), **kw)
    rect = maps.region_outline(box)
    assert (rect["type"], rect["x0"], rect["x1"], rect["y0"], rect["y1"]) == ("rect", -1.0, 0.5, -2.0, 1.0)
    lasso = maps.selection_region({"lasso": [{"x": [0, 1, 0.5], "y": [0, 0, 2]}]}, xy, np.arange(15_625), **kw)
    assert maps.region_outline(lasso)["path"] == "M0,0L1,0L0.5,2Z"
    picked = maps.selection_region({"points": [{"customdata": 5}]}, xy, np.arange(15_625), **kw)
    assert maps.region_outline(picked) is None and maps.region_outline(None) is None

"""Latent-map library functions (nasviz.viz.maps), called without Streamlit, on the real tables."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.spaces import get_space
from nasviz.viz import maps


@pytest.fixture(scope="module")
def nb201():
    bench = get_benchmark("nb201")
    return bench, maps.space_frame("nb201", bench), maps.load_source("nb201", maps.DISCRETE)


def test_sources_list_discrete_first_and_only_files_of_the_space(tmp_path):
    srcs = maps.list_sources("nb201")
    assert srcs[0].name == maps.DISCRETE and srcs[0].projections == ("pca",)
    assert all(s.space == "nb201" for s in srcs)
    # a file of another space, a file without meta and a writer's temporary are all left out
    meta = np.frombuffer(b'{"space": "nb101", "dim": 2}', dtype=np.uint8)
    np.savez(tmp_path / "other.npz", means=np.zeros((3, 2)), pca=np.zeros((3, 2)), meta=meta)
    np.savez(tmp_path / "nometa.npz", means=np.zeros((3, 2)), pca=np.zeros((3, 2)))
    ok = np.frombuffer(b'{"space": "nb201", "dim": 2}', dtype=np.uint8)
    np.savez(tmp_path / "nb201-bvae-beta4.npz", means=np.zeros((3, 2)), pca=np.zeros((3, 2)), umap=np.zeros((3, 2)),
             meta=ok)
    np.savez(tmp_path / ".nb201-arch2vec-tmp.npz", means=np.zeros((3, 2)), pca=np.zeros((3, 2)), meta=ok)
    got = maps.list_sources("nb201", tmp_path)
    assert [s.name for s in got] == [maps.DISCRETE, "nb201-bvae-beta4"]
    assert got[1].label == "beta-VAE (beta = 4)" and got[1].projections == ("pca", "umap")
    with pytest.raises(NasvizError, match="unknown space"):
        maps.list_sources("nb999")


def test_a_subset_embedding_is_listed_loaded_by_cell_and_neighbours_stay_inside(tmp_path):
    """A file of some cells (``n_cells`` below the space size, their indices in ``index``), as the NB101
    controller hidden states are: listed with its cell count, projections spread to one row per cell (NaN
    elsewhere), neighbours searched among its cells only; without an index array it is not offered."""
    rng = np.random.default_rng(0)
    cells = np.sort(rng.choice(15_625, size=300, replace=False))
    perm = rng.permutation(300)  # rows in any order: the index array says which cell each row is
    lat = rng.standard_normal((300, 4)).astype(np.float32)
    meta = np.frombuffer(b'{"space": "nb201", "dim": 4, "n_cells": 300, "kind": "controller-hidden-state", '
                         b'"controller_kind": "random"}', dtype=np.uint8)
    np.savez(tmp_path / "nb201-controller-x.npz", latent=lat[perm], pca=lat[perm, :2], index=cells[perm].astype(np.uint32),
             meta=meta)
    np.savez(tmp_path / "nb201-noindex.npz", latent=lat, pca=lat[:, :2], meta=meta)
    got = maps.list_sources("nb201", tmp_path)
    assert [s.name for s in got] == [maps.DISCRETE, "nb201-controller-x"]
    assert got[1].subset and got[1].n_cells == 300 and got[1].label.endswith(", 300 sample cells")
    assert not got[0].subset
    assert [s.name for s in maps.list_sources("nb201", tmp_path, whole_space_only=True)] == [maps.DISCRETE]
    src = maps.load_source("nb201", "nb201-controller-x", tmp_path)
    assert src["pca"].shape == (15_625, 2) and np.array_equal(src["cells"], cells)
    assert np.array_equal(src["pca"][cells], lat[:, :2]) and np.isnan(np.delete(src["pca"], cells, 0)).all()
    assert np.array_equal(np.flatnonzero(maps.covered(src, 15_625)), cells)
    nb, d = maps.source_neighbours(src, int(cells[7]), 5)
    brute = np.sqrt(((lat - lat[7]) ** 2).sum(1))
    brute[7] = np.inf
    assert nb.tolist() == cells[np.argsort(brute, kind="stable")[:5]].tolist()
    assert np.allclose(d, np.sort(brute)[:5])
    outside = int(np.setdiff1d(np.arange(15_625), cells)[0])
    with pytest.raises(NasvizError, match=f"cell #{outside} is not among the 300 cells"):
        maps.source_neighbours(src, outside)


def test_nb201_discrete_encoding_is_one_hot_per_edge(nb201):
    bench, _, src = nb201
    x = src["means"]
    assert x.shape == (15_625, 30)
    assert (x.reshape(-1, 6, 5).sum(-1) == 1).all()
    cell = bench.space.cell(6111)
    assert [int(np.argmax(x[6111].reshape(6, 5)[k])) for k in range(6)] == list(cell.ops)
    # PCA: centred, first component carries the most variance
    p = src["pca"]
    assert abs(p.mean(0)).max() < 1e-3 and p[:, 0].var() >= p[:, 1].var()


def test_nb101_encoding_matches_the_cells_for_a_sample_of_the_space():
    sp = get_space("nb101")
    e = sp.enumeration
    rng = np.random.default_rng(1)
    rows = rng.choice(len(e), 200, replace=False)
    x = maps.nb101_discrete(e.n_vertices[rows], e.bits[rows], e.labels[rows])
    from nasviz.spaces.nb101 import OPS

    for r, enc in zip(rows, x):
        c = sp.cell(int(r))
        a = np.asarray(c.matrix)
        n = a.shape[0]
        assert enc[:21].sum() == c.n_edges
        ops = enc[21:].reshape(5, 3)
        assert [OPS[int(np.argmax(o))] for o in ops[: n - 2]] == list(c.ops[1:-1])
        assert ops[n - 2:].sum() == 0


def test_nb101_frame_covers_the_space_with_results_where_the_table_has_them():
    bench = get_benchmark("nb101")
    f = maps.space_frame("nb101", bench)
    assert len(f) == 423_624
    acc = f["valid % (108 ep)"].to_numpy()
    assert np.isfinite(acc).sum() == len(bench.indices)
    i = int(bench.indices[123])
    assert acc[i] == pytest.approx(bench.query(i))
    c = bench.space.cell(i)
    assert f.at[i, "edges"] == c.n_edges and f.at[i, "vertices"] == c.n_vertices
    assert f.at[i, "#maxpool3x3"] == c.ops.count("maxpool3x3")


def test_filter_mask_ranges_and_ops(nb201):
    _, f, _ = nb201
    m = maps.filter_mask(f, with_ops=["avg_pool_3x3"], without_ops=["none"])
    assert m.sum() == 4**6 - 3**6  # no 'none' on any edge, at least one pool
    m = maps.filter_mask(f, ranges={"cifar10 test %": (94.0, 100.0)})
    assert set(f.index[m]) >= {6111} and (f.loc[m, "cifar10 test %"] >= 94.0).all()
    with pytest.raises(NasvizError, match="both required and excluded"):
        maps.filter_mask(f, with_ops=["none"], without_ops=["none"])
    with pytest.raises(NasvizError, match="unknown op"):
        maps.filter_mask(f, with_ops=["conv5x5"])


def _fill(trace, k: int) -> str:
    """Plotly's hovertemplate for point ``k`` of a scatter trace, filled in as plotly.js does for the
    fields the map uses (``%{customdata[j]}``, ``%{customdata[j]:.2f}``, ``%{text}``, ``%{marker.color:.2f}``)."""
    import re

    row = np.asarray(trace.customdata)[k]
    fields = {"text": lambda: trace.text[k], "marker.color": lambda: np.asarray(trace.marker.color)[k]}

    def one(m):
        key, fmt = m.group(1), m.group(2)
        j = re.fullmatch(r"customdata\[(\d+)\]", key)
        v = row[int(j.group(1))] if j else fields[key]()
        return format(float(v), fmt[1:]) if fmt else (str(int(v)) if j else str(v))

    return re.sub(r"%\{([^}:]+)(:[^}]+)?\}", one, trace.hovertemplate).replace("<extra></extra>", "")


def test_map_figure_points_then_density(nb201):
    _, f, src = nb201
    xy = src["pca"]
    shown = np.arange(15_625)
    hover = maps.hover_texts("nb201", f, shown, ["cifar10 test %"])
    assert hover[6111] == "#6111<br>3x3 + 3x3 3x3 + skip 3x3 1x1<br>cifar10 test %: 94.37"
    assert hover[0].split("<br>")[1] == " + ".join(
        " ".join({"none": "none", "skip_connect": "skip", "nor_conv_1x1": "1x1", "nor_conv_3x3": "3x3",
                  "avg_pool_3x3": "pool"}[o] for o in g) for g in ((f.at[0, "arch"].split("|+|")[k].strip("|")
                                                                     .replace("~0", "").replace("~1", "")
                                                                     .replace("~2", "").split("|")) for k in range(3)))
    fig, mode, in_view = maps.map_figure(xy, f["cifar10 test %"].to_numpy(), shown, color_label="cifar10 test %",
                                         labels=maps.hover_labels("nb201", f, shown),
                                         hover_columns={"cifar10 test %": f["cifar10 test %"].to_numpy()},
                                         highlight=6111, neighbours=np.array([1, 2]))
    assert mode == "points" and len(in_view) == 15_625
    assert fig.data[0].type == "scattergl" and len(fig.data[0].x) == 15_625
    assert set(np.asarray(fig.data[0].customdata)[:, 0].astype(int).tolist()) == set(range(15_625))
    assert fig.data[-1].customdata[0] == 6111  # the highlighted cell on top
    # the hover template, filled in from the point's data, reads exactly as the full label
    t = fig.data[0]
    k = int(np.flatnonzero(np.asarray(t.customdata)[:, 0] == 6111)[0])
    assert _fill(t, k) == hover[6111]
    assert len(fig.to_json()) < 0.95e6  # no per-point hover strings (with them: 1.5 MB)
    # fewer points allowed than in view: density shading, coloured by the bin mean
    fig, mode, _ = maps.map_figure(xy, f["cifar10 test %"].to_numpy(), shown, color_label="c10", max_points=1000,
                                   bins=20)
    assert mode == "density" and fig.data[-1].type == "heatmap"
    z = np.asarray(fig.data[-1].z, dtype=float)
    v = f["cifar10 test %"].to_numpy()
    assert np.nanmax(z) <= v.max() + 1e-9 and np.nanmin(z) >= v.min() - 1e-9
    # a zoom window drills down to points
    w = ((float(np.median(xy[:, 0])), float(xy[:, 0].max())), (float(np.median(xy[:, 1])), float(xy[:, 1].max())))
    pts = xy[shown]
    inside = shown[(pts[:, 0] >= w[0][0]) & (pts[:, 1] >= w[1][0])]
    fig, mode, in_view = maps.map_figure(xy, v, shown, color_label="c10", max_points=len(inside), window=w,
                                         labels=maps.hover_labels("nb201", f, inside))
    assert mode == "points" and np.array_equal(np.sort(in_view), np.sort(inside))
    assert list(fig.layout.xaxis.range) == list(w[0])


def test_binned_matches_histogram2d():
    rng = np.random.default_rng(0)
    pts = rng.standard_normal((5000, 2))
    vals = rng.uniform(size=5000)
    vals[::7] = np.nan
    ex, ey = np.linspace(-2, 2.5, 31), np.linspace(-1.5, 2, 21)
    count, n_val, s_val = maps._binned(pts, vals, ex, ey)
    have = ~np.isnan(vals)
    assert np.array_equal(count, np.histogram2d(pts[:, 0], pts[:, 1], bins=[ex, ey])[0])
    assert np.array_equal(n_val, np.histogram2d(pts[have, 0], pts[have, 1], bins=[ex, ey])[0])
    assert np.allclose(s_val, np.histogram2d(pts[have, 0], pts[have, 1], bins=[ex, ey], weights=vals[have])[0])


def test_selection_region_box_lasso_points(nb201):
    _, f, src = nb201
    xy = src["pca"]
    shown = np.flatnonzero(maps.filter_mask(f, without_ops=["none"]))
    x = [float(np.quantile(xy[:, 0], 0.2)), float(np.quantile(xy[:, 0], 0.6))]
    y = [float(np.quantile(xy[:, 1], 0.2)), float(np.quantile(xy[:, 1], 0.6))]
    r = maps.selection_region({"box": [{"x": x[::-1], "y": y}], "points": [], "lasso": []}, xy, shown,
                              space="nb201", embedding="discrete", projection="pca")
    p = xy[shown]
    expect = shown[(p[:, 0] >= x[0]) & (p[:, 0] <= x[1]) & (p[:, 1] >= y[0]) & (p[:, 1] <= y[1])]
    assert r["kind"] == "box" and r["x"] == x and r["indices"] == sorted(expect.tolist()) and r["n"] == len(expect)
    # the region is what the search issue's parser reads, and its mask agrees on the filtered cells
    from nasviz.search.region import parse_region, region_mask

    parsed = parse_region(r)
    mask = region_mask(parsed, embedding=xy)
    assert set(r["indices"]) == set(np.flatnonzero(mask)) & set(shown.tolist())
    # a lasso with the box's corners selects the same cells
    poly = {"x": [x[0], x[1], x[1], x[0]], "y": [y[0], y[0], y[1], y[1]]}
    lasso = maps.selection_region({"lasso": [poly]}, xy, shown, space="nb201", embedding="discrete", projection="pca")
    assert lasso["kind"] == "lasso" and abs(lasso["n"] - r["n"]) <= 0.01 * r["n"] + 5
    # clicked points: their customdata
    pts = {"points": [{"customdata": 6111}, {"customdata": [42]}]}
    r = maps.selection_region(pts, xy, shown, space="nb201", embedding="discrete", projection="pca")
    assert r["kind"] == "points" and r["indices"] == [42, 6111]
    assert maps.clicked_cell({"points": [{"customdata": 6111}]}) == 6111
    # overlapping markers: the top trace's point
    assert maps.clicked_cell({"points": [{"customdata": 5, "curve_number": 2}, {"customdata": 7, "curve_number": 0}]}) == 5
    assert maps.clicked_cell({"points": [{"x": 1}]}) is None
    assert maps.clicked_cell({"points": [{"customdata": 5}], "box": [{"x": [0, 1], "y": [0, 1]}]}) is None
    assert maps.selection_region({"points": []}, xy, shown, space="nb201", embedding="d", projection="pca") is None
    # a box away from every cell: a region with no cells, not an error
    empty = maps.box_region((1e6, 2e6), (1e6, 2e6), xy, shown, space="nb201", embedding="d", projection="pca")
    assert empty["n"] == 0 and empty["indices"] == []


def test_selection_effect_of_what_the_map_component_sends(nb201):
    """The payloads pages/_plotly_map/map.js sends: a click (a scattergl point's float32 customdata row as a
    list), a click on a density bin (no customdata), a box, a lasso, a cleared selection."""
    _, _, src = nb201
    xy = src["pca"]
    shown = np.arange(len(xy))
    kw = dict(space="nb201", embedding="discrete", projection="pca")
    click = {"points": [{"curve_number": 0, "point_index": 17, "customdata": [6111.0, 94.37333, 73.5]},
                        {"curve_number": 2, "point_index": 0, "customdata": [571]}], "box": [], "lasso": []}
    assert maps.selection_effect(click, xy, shown, **kw) == ("cell", 571)  # the marker drawn on top
    bin_click = {"points": [{"curve_number": 1, "point_index": [3, 4], "customdata": None}], "box": [], "lasso": []}
    assert maps.selection_effect(bin_click, xy, shown, **kw) is None  # nothing changes
    x, y = [float(np.quantile(xy[:, 0], q)) for q in (0.3, 0.5)], [float(np.quantile(xy[:, 1], q)) for q in (0.3, 0.5)]
    kind, box = maps.selection_effect({"points": [], "box": [{"xref": "x", "yref": "y", "x": x, "y": y}],
                                       "lasso": []}, xy, shown, **kw)
    assert kind == "region" and box["kind"] == "box" and box["n"] > 0
    poly = {"xref": "x", "yref": "y", "x": [x[0], x[1], x[0]], "y": [y[0], y[0], y[1]]}
    kind, lasso = maps.selection_effect({"points": [], "box": [], "lasso": [poly]}, xy, shown, **kw)
    assert kind == "region" and lasso["kind"] == "lasso" and 0 < lasso["n"] < box["n"]
    assert maps.selection_effect({"points": [], "box": [], "lasso": []}, xy, shown, **kw) == ("region", None)


def test_nearest_neighbours_are_sorted_and_exclude_the_cell(nb201):
    _, _, src = nb201
    x = src["means"]
    idx, dist = maps.nearest_neighbours(x, 6111, 10)
    assert 6111 not in idx and len(idx) == 10 and np.all(np.diff(dist) >= 0)
    # in the one-hot encoding the nearest cells differ on exactly one edge: L2 = sqrt(2)
    assert np.allclose(dist, np.sqrt(2))
    with pytest.raises(NasvizError, match="out of range"):
        maps.nearest_neighbours(x, 15_625)


def test_map_hover_reads_no_result_where_a_column_has_none(nb201):
    """Points whose hover columns lack values get their own trace and template ('no result'), sharing the
    colour scale and one legend entry; the index of a picked point comes back from its customdata row."""
    _, f, src = nb201
    shown = np.arange(200)
    v = f["cifar10 test %"].to_numpy().copy()
    other = f["cifar100 test %"].to_numpy().copy()
    v[[3, 5]] = np.nan
    other[[5, 7, 9]] = np.nan
    cols = {"cifar10 test %": v, "cifar100 test %": other}
    fig, mode, _ = maps.map_figure(src["pca"], v, shown, color_label="cifar10 test %",
                                   labels=maps.hover_labels("nb201", f, shown), hover_columns=cols)
    assert mode == "points"
    frame = f.copy()
    frame["cifar10 test %"], frame["cifar100 test %"] = v, other
    want = maps.hover_texts("nb201", frame, shown, list(cols))
    got = {}
    for t in fig.data:
        for k, row in enumerate(np.asarray(t.customdata)):
            got[int(row[0])] = _fill(t, k)
    assert got == dict(enumerate(want))
    assert "cifar10 test %: no result" in got[5] and "cifar100 test %: no result" in got[5]
    assert "cifar100 test %: no result" in got[7] and "cifar10 test %: no result" not in got[7]
    coloured = [t for t in fig.data if t.legendgroup == "cifar10 test %"]
    assert len(coloured) == 2 and [t.showlegend for t in coloured] == [True, False]
    assert len({(t.marker.cmin, t.marker.cmax) for t in coloured}) == 1
    assert maps.cell_of({"0": 6111.0, "1": 94.37}) == 6111  # a typed-array row, as the browser sends it
    assert maps.cell_of([42.0, 1.0]) == 42 and maps.cell_of(7) == 7

"""The cell editor's library (nasviz.viz.editor), without Streamlit, on the real tables, embeddings and models."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.models import load_model
from nasviz.paths import models_dir
from nasviz.spaces import get_space
from nasviz.spaces.nb101 import NB101Cell
from nasviz.viz import editor as E
from nasviz.viz import maps

CONV3, CONV1, POOL = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"


@pytest.fixture(scope="module")
def nb201():
    return get_space("nb201"), maps.load_source("nb201", "nb201-arch2vec"), load_model(models_dir() / "nb201-arch2vec")


@pytest.fixture(scope="module")
def nb101():
    return get_space("nb101"), maps.load_source("nb101", "nb101-arch2vec"), load_model(models_dir() / "nb101-arch2vec")


# -- building and checking cells ----------------------------------------------------------------
def test_invalid_nb101_graphs_give_the_specific_one_line_error():
    ops5 = ["input", CONV3, CONV1, POOL, "output"]
    chain = [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert E.build_cell("nb101", {"matrix": chain, "ops": ops5}).n_edges == 4
    broken = [r[:] for r in chain]
    broken[2][3] = 0  # the chain cut: nothing reaches the output
    with pytest.raises(NasvizError, match=r"^invalid spec: the input is not connected to the output") as e:
        E.build_cell("nb101", {"matrix": broken, "ops": ops5})
    assert "\n" not in str(e.value)
    full = np.triu(np.ones((6, 6), dtype=int), 1)  # 15 edges, all vertices on a path
    with pytest.raises(NasvizError, match=r"^too many edges: 15 after pruning \(at most 9\)$"):
        E.build_cell("nb101", {"matrix": full.tolist(), "ops": ["input", CONV3, CONV3, CONV1, POOL, "output"]})
    back = [r[:] for r in chain]
    back[3][1] = 1
    with pytest.raises(NasvizError, match=r"adjacency entry \(3,1\) is 1"):
        E.build_cell("nb101", {"matrix": back, "ops": ops5})
    with pytest.raises(NasvizError, match="unknown op 'conv5x5' on vertex 2"):
        E.build_cell("nb101", {"matrix": chain, "ops": ["input", CONV3, "conv5x5", POOL, "output"]})
    with pytest.raises(NasvizError, match="2..7 vertices; this spec has 8"):
        E.nb101_check_shape({"matrix": np.zeros((8, 8), int).tolist(), "ops": ["input", *[CONV3] * 6, "output"]})
    # a vertex off every input -> output path is pruned, the cell stays valid and says which vertex went
    dangling = [r[:] for r in chain]
    dangling[1][2] = 0
    dangling[1][4] = 1  # 0 -> 1 -> 4; vertices 2 and 3 hang off nothing
    c = E.build_cell("nb101", {"matrix": dangling, "ops": ops5})
    assert c.n_vertices == 3 and E.canonical_form(get_space("nb101"), c).pruned == (2, 3)


def test_nb201_spec_is_the_six_edge_ops_and_round_trips_through_the_url_text(nb201):
    sp, _, _ = nb201
    cell = sp.cell(6111)
    spec = E.spec_of("nb201", cell)
    assert spec == list(cell.names) and len(spec) == 6
    text = E.spec_text("nb201", spec)
    assert text == cell.to_str()
    assert E.spec_from_text(sp, text) == spec
    assert E.spec_from_text(sp, "6111") == spec
    with pytest.raises(NasvizError, match="out of range"):
        E.spec_from_text(sp, "15625")


def test_nb101_url_text_keeps_the_grid_as_edited_also_an_invalid_one(nb101):
    sp, _, _ = nb101
    invalid = {"matrix": [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
               "ops": ["input", CONV3, POOL, "output"]}
    text = E.spec_text("nb101", invalid)
    assert E.spec_from_text(sp, text) == invalid  # kept, so a copied URL reopens the same (invalid) grid
    with pytest.raises(NasvizError, match="not connected"):
        E.build_cell("nb101", E.spec_from_text(sp, text))
    cell = sp.cell(12345)
    assert E.build_cell("nb101", E.spec_from_text(sp, cell.hash)) == cell
    assert E.build_cell("nb101", E.spec_from_text(sp, "12345")) == cell
    with pytest.raises(NasvizError, match="malformed NB101 spec JSON"):
        E.spec_from_text(sp, '{"matrix": [[0,1]')


def test_resizing_keeps_edges_into_the_output_and_adds_unconnected_vertices():
    spec = {"matrix": [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]], "ops": ["input", CONV1, POOL, "output"]}
    grown = E.resize_nb101(spec, 6)
    m = np.asarray(grown["matrix"])
    assert grown["ops"] == ["input", CONV1, POOL, CONV3, CONV3, "output"]
    assert m[0, 5] == 1 and m[2, 5] == 1 and m[0, 1] == 1 and m[1, 2] == 1 and m.sum() == 4
    assert E.build_cell("nb101", grown) == E.build_cell("nb101", spec)  # the new vertices are pruned
    shrunk = E.resize_nb101(spec, 3)  # vertex 2 goes; 0 -> out stays, 1 keeps no edge to the output
    assert shrunk == {"matrix": [[0, 1, 1], [0, 0, 0], [0, 0, 0]], "ops": ["input", CONV1, "output"]}
    assert E.compact_nb101(grown) == spec


def test_mutate_is_one_edit_of_the_space_and_reproducible_from_the_seed(nb201, nb101):
    sp201 = nb201[0]
    c = sp201.cell(6111)
    a = [E.mutate(sp201, c, np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    assert E.build_cell("nb201", a[0]).hamming(c) == 1
    sp101 = nb101[0]
    cell = sp101.cell(12345)
    rng = np.random.default_rng(7)
    hashes = {n.hash for n in sp101.neighbours(cell)}
    for _ in range(5):
        new = E.build_cell("nb101", E.mutate(sp101, cell, rng))
        assert new.hash in hashes and new.hash != cell.hash


def test_canonical_form_names_the_class_and_its_representative(nb201, nb101):
    sp = nb201[0]
    # none on 0->1 and 0->2: node 1 is dead, so the ops of 1->2 and 1->3 do not change the benchmark's identity
    a = sp.parse("|none~0|+|none~0|nor_conv_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|")
    b = sp.parse("|none~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    ca, cb = E.canonical_form(sp, a), E.canonical_form(sp, b)
    assert ca.key == cb.key == a.unique_str()
    assert ca.representative == cb.representative and ca.representative_index == cb.representative_index
    assert not (ca.is_representative and cb.is_representative)
    assert ca.index == sp.index(a) != cb.index
    sp101 = nb101[0]
    rep = sp101.cell(12345)
    n = rep.n_vertices
    perm = [0, *reversed(range(1, n - 1)), n - 1]  # the same graph with the interior vertices renumbered
    adj = np.asarray(rep.matrix)
    inv = np.argsort(perm)
    m = np.zeros_like(adj)
    for x, y in zip(*np.nonzero(adj)):
        m[inv[x], inv[y]] = 1
    ops = [rep.ops[perm[v]] for v in range(n)]
    if np.tril(m).any():  # not a topological order for this graph: keep it as given
        m, ops = adj, list(rep.ops)
    other = NB101Cell(m.tolist(), ops)
    c = E.canonical_form(sp101, other)
    assert c.index == 12345 and c.key == rep.hash and c.representative == rep.to_json()


def test_results_are_the_benchmark_values_and_none_outside_the_nb101_sample():
    bench = get_benchmark("nb101")
    frame = maps.space_frame("nb101", bench)
    cols = ["valid % (108 ep)", "params (M)"]
    in_sample = int(bench.indices[0])
    got = E.results(frame, in_sample, cols)
    assert got is not None and got["valid % (108 ep)"] == pytest.approx(float(frame.at[in_sample, cols[0]]))
    outside = int(np.setdiff1d(np.arange(len(frame)), bench.indices)[0])
    assert E.results(frame, outside, cols) is None


# -- embeddings and placement -----------------------------------------------------------------
@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_encoding_a_cell_of_the_enumeration_equals_its_stored_row(space, nb201, nb101):
    sp, src, model = nb201 if space == "nb201" else nb101
    idx = [0, 6111, len(sp) - 1]
    enc = E.encode(model, [sp.cell(i) for i in idx])
    tol = float(src["meta"].get("means_max_abs_err", src["meta"].get("means_max_abs_err_float16", 0))) + 1e-4
    assert 0 < tol < 0.01
    assert np.abs(enc - src["means"][idx]).max() <= tol
    v, how = E.cell_vector(src, sp, sp.cell(6111), model=model)
    assert how == "stored row" and np.array_equal(v, src["means"][6111])


def test_a_cell_an_embedding_does_not_cover_is_encoded_now(nb201):
    sp, src, model = nb201
    sub = dict(src, cells=np.arange(0, len(sp), 2), means=src["means"][::2])  # every other cell only
    cell = sp.cell(6111)
    v, how = E.cell_vector(sub, sp, cell, model=model)
    assert how.startswith("encoded now") and np.abs(v - src["means"][6111]).max() < 0.01
    with pytest.raises(NasvizError, match="not among the cells this embedding covers"):
        E.cell_vector(sub, sp, cell)
    d, how = E.cell_vector(sub, sp, cell, discrete=True)
    assert how.startswith("discrete") and np.array_equal(d, maps.load_source("nb201", maps.DISCRETE)["means"][6111])


def test_discrete_vector_is_the_discrete_sources_row():
    sp = get_space("nb101")
    cell = sp.cell(12345)
    row = maps.nb101_discrete(np.asarray([sp.enumeration.n_vertices[12345]]), np.asarray([sp.enumeration.bits[12345]]),
                              np.asarray([sp.enumeration.labels[12345]]))[0]
    assert np.array_equal(E.discrete_vector(sp, cell), row) and row.sum() == cell.n_edges + cell.n_vertices - 2


def test_a_known_cell_is_placed_at_its_stored_point_and_pca_is_applied_exactly(nb201):
    sp, src, _ = nb201
    for proj in ("pca", "umap", "tsne"):
        p = E.place(src, proj, src["means"][6111], index=6111)
        assert p.how == "stored point" and p.xy == pytest.approx(tuple(src[proj][6111]))
    w, b, resid = E.pca_map(src)
    assert resid < 0.02  # the files' float16 rounding, not a model of the projection
    idx = np.arange(0, len(sp), 997)
    got = np.array([E.place(src, "pca", src["means"][i], pca=(w, b, resid), stored=False).xy for i in idx])
    assert np.abs(got - src["pca"][idx]).max() < 0.02


def test_nb101_cells_outside_the_fit_are_placed_by_the_embed_rule_onto_their_stored_points(nb101):
    """UMAP and t-SNE of NB101 were fitted on seeded subsets; every other cell was placed at the mean of its 10
    nearest fitted cells. The editor's placement, from the stored means, lands those cells on their stored points
    (up to the float16 rounding of the stored points). The stored means are float16 too: where the 10th and 11th
    nearest fitted cells are nearly tied, rounding can swap them (measured: 1 of 12 t-SNE cells), so a few cells may
    land elsewhere; almost all must land on their point, and cells in the fitted subset must land measurably off
    theirs (the rule is not how they were placed)."""
    sp, src, _ = nb101
    for proj, tol in (("umap", 0.02), ("tsne", 0.1)):
        rows = E.fit_rows(src, proj)
        assert len(rows) == (50_000 if proj == "umap" else 20_000)
        rest = np.setdiff1d(np.arange(len(sp)), rows)[::10_000][:40]
        got = np.array([E.place(src, proj, src["means"][i], stored=False).xy for i in rest])
        err = np.abs(got - src[proj][rest]).max(1)
        assert (err < tol).mean() >= 0.9, (proj, np.sort(err)[-5:])
        # fitted cells were placed by the projection itself: the rule misses their points by far more than the
        # rounding it misses the others' by (measured on the shipped NB101 arch2vec: UMAP medians 0.008 vs 0.001,
        # t-SNE 0.14 vs 0.012; UMAP keeps neighbourhoods so well that the rule lands close, not on the point)
        fitted = rows[::1_000][:40]
        got = np.array([E.place(src, proj, src["means"][i], stored=False).xy for i in fitted])
        assert np.median(np.abs(got - src[proj][fitted]).max(1)) > 3 * np.median(err), proj
        span = float(np.nanmax(src[proj]) - np.nanmin(src[proj]))
        assert span > 50 * tol  # the tolerance is small against the map


def test_vector_neighbours_match_the_maps_neighbours_and_exclude_the_cell(nb201):
    sp, src, _ = nb201
    nb, d = E.vector_neighbours(src, src["means"][6111], 8, exclude=6111)
    nb2, d2 = maps.source_neighbours(src, 6111, 8)
    assert nb.tolist() == nb2.tolist() and np.allclose(d, d2) and 6111 not in nb
    assert (np.diff(d) >= 0).all()


def unfaithful_cell(model, sp) -> tuple[int, int]:
    """(cell, what the model decodes it to) for the first NB201 cell a model does not decode back to itself."""
    from nasviz.models import is_valid

    cells = list(sp.enumerate())
    dec = model.decode(model.latent(cells))
    i = next(i for i, d in enumerate(dec) if is_valid(d) and sp.index(d) != i)
    return i, int(sp.index(dec[i]))


def test_round_trip_says_whether_the_model_decodes_the_cell_back(nb201):
    sp, _, model = nb201
    rt = E.round_trip(model, sp, sp.cell(6111))
    assert rt.valid and rt.same and rt.index == 6111
    bvae = load_model(models_dir() / "nb201-bvae-beta1")  # decodes a few cells to others
    cell, other = unfaithful_cell(bvae, sp)
    rt = E.round_trip(bvae, sp, sp.cell(cell))
    assert rt.valid and not rt.same and rt.index == other and rt.decoded == sp.cell(other)
    assert rt.same_class == (sp.cell(other).unique_str() == sp.cell(cell).unique_str())
    sup = load_model(models_dir() / "nb201-arch2vec-supervised")  # reconstructs no cell (traversal tests)
    rt = E.round_trip(sup, sp, sp.cell(6111))
    assert not rt.same and (not rt.valid or rt.index != 6111)


def test_neighbourhood_region_is_the_maps_points_region_and_the_search_reads_it(nb201):
    from nasviz.search.region import parse_region, region_mask
    from nasviz.viz.dense import map_region

    sp, src, _ = nb201
    nb, _ = maps.source_neighbours(src, 6111, 8)
    r = E.neighbourhood_region("nb201", "nb201-arch2vec", "pca", 6111, nb)
    assert set(r) == {"space", "embedding", "projection", "kind", "indices", "n", "origin", "anchor"}
    assert (r["origin"], r["anchor"]) == ("editor", 6111)  # the Dense sampling page names where it came from
    assert r["kind"] == "points" and r["n"] == 9 and r["indices"] == sorted([6111, *nb.tolist()])
    json.dumps(r)  # plain JSON types: it goes into session state and the URL-free search launch
    search = map_region(r)
    mask = region_mask(parse_region(search), "nb201")
    assert mask.sum() == 9 and mask[r["indices"]].all()


def _picture(uri: str):
    import base64
    import io

    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA")


def _pixel(p, xr, yr, size) -> tuple[int, int]:
    return (int((p[0] - xr[0]) / (xr[1] - xr[0]) * size[0]), int((yr[1] - p[1]) / (yr[1] - yr[0]) * size[1]))


def test_editor_figure_marks_the_cell_with_a_star_over_every_cell(nb201):
    sp, src, _ = nb201
    frame = maps.space_frame("nb201", get_benchmark("nb201"))
    shown = frame["index"].to_numpy()
    nb, _ = maps.source_neighbours(src, 6111, 5)
    acc = frame["cifar10 test %"].to_numpy()
    fig, mode = E.editor_figure(src["pca"], acc, shown, (1.5, -2.0), color_label="cifar10 test %", neighbours=nb,
                                cell_label="edited cell #7")
    assert mode == "points"
    star = fig.data[-1]
    assert star.name == "edited cell #7" and star.marker.symbol == "star" and list(star.x) == [1.5]
    assert fig.data[-2].name == "nearest in latent space" and list(fig.data[-2].customdata) == nb.tolist()
    assert np.allclose(fig.data[-2].x, src["pca"][nb, 0])
    # no WebGL: every cell is one picture behind SVG star and rings, with the colour bar of its dots
    assert {t.type for t in fig.data} == {"scatter"}
    (bar,) = fig.data[:-2]
    assert bar.name == "cifar10 test % (15,625 cells)" and bar.marker.showscale
    assert (bar.marker.cmin, bar.marker.cmax) == (float(acc.min()), float(acc.max()))
    (img,) = fig.layout.images
    assert img.source.startswith("data:image/png;base64,") and img.layer == "below" and img.sizing == "stretch"
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    assert (img.x, img.y, img.sizex, img.sizey) == pytest.approx((xr[0], yr[1], xr[1] - xr[0], yr[1] - yr[0]))
    pca = src["pca"]
    assert xr[0] < pca[:, 0].min() and xr[1] > pca[:, 0].max() and yr[0] < pca[:, 1].min() and yr[1] > pca[:, 1].max()
    pic = _picture(img.source)
    assert pic.size == E.RASTER_SIZE
    # a dot at the best cell's place, in the top of the colour scale (Viridis yellow at 80 % over white)
    best = int(np.nanargmax(acc))
    x, y = _pixel(pca[best], xr, yr, pic.size)
    r, g, b, a = pic.getpixel((x, y))
    assert a == 255 and r > 200 and g > 200 and b < 120, (r, g, b, a)
    # the same inputs draw the same picture, from the cache
    again, _ = E.editor_figure(src["pca"], acc, shown, (1.5, -2.0), color_label="cifar10 test %")
    assert again.layout.images[0].source is img.source
    # NB101: cells without results grey (a legend entry says how many), and above MAX_POINTS density shading
    f101 = maps.space_frame("nb101", get_benchmark("nb101"))
    v = f101["valid % (108 ep)"].to_numpy()
    xy = np.random.default_rng(0).normal(size=(len(f101), 2)).astype(np.float32)
    few = np.arange(0, len(f101), 40)
    fig, mode = E.editor_figure(xy, v, few, (0.0, 0.0), color_label="valid % (108 ep)")
    names = [t.name for t in fig.data]
    assert mode == "points" and names[-1] == "edited cell"
    assert names[:2] == [f"no result ({int(np.isnan(v[few]).sum()):,})",
                         f"valid % (108 ep) ({int(np.isfinite(v[few]).sum()):,} cells)"]
    pic = _picture(fig.layout.images[0].source)
    nan_cell = few[np.isnan(v[few])][0]
    x, y = _pixel(xy[nan_cell], fig.layout.xaxis.range, fig.layout.yaxis.range, pic.size)
    hit = [pic.getpixel((x + dx, y + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]
    assert any(a == 255 and abs(r - g) < 8 and abs(g - b) < 8 for r, g, b, a in hit), hit  # grey (not covered here)
    fig, mode = E.editor_figure(xy, v, f101["index"].to_numpy(), (0.0, 0.0), color_label="valid % (108 ep)")
    assert mode == "density" and fig.data[-1].name == "edited cell"
    heat = [t for t in fig.data if t.type == "heatmap"]
    ref, _, _ = maps.map_figure(xy, v, f101["index"].to_numpy(), color_label="valid % (108 ep)")
    # the latent map's shading (same bins, same means), without the per-bin count text it sends
    assert [t.name for t in heat] == [t.name for t in ref.data] and all(t.text is None for t in heat)
    for a, b in zip(heat, ref.data):
        np.testing.assert_allclose(np.asarray(a.z, dtype=float), np.asarray(b.z, dtype=float), rtol=1e-6)

"""Traversal and nearest-neighbour-walk functions (nasviz.viz.traversal), without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.models import load_model, shipped_models
from nasviz.paths import models_dir
from nasviz.viz import maps
from nasviz.viz import traversal as T


@pytest.fixture(scope="module")
def nb201():
    bench = get_benchmark("nb201")
    return bench, bench.space, maps.space_frame("nb201", bench)


@pytest.fixture(scope="module")
def arch2vec():
    if "nb201-arch2vec" not in shipped_models():
        pytest.fail("the shipped models/nb201-arch2vec checkpoint is missing")
    return load_model(models_dir() / "nb201-arch2vec")


def test_resolve_anchor(nb201):
    bench, sp, _ = nb201
    assert sp.index(T.resolve_anchor(sp, bench, "best")) == 6111
    assert sp.index(T.resolve_anchor(sp, bench, " 42 ")) == 42
    with pytest.raises(NasvizError, match="give an anchor"):
        T.resolve_anchor(sp, bench, "  ")
    with pytest.raises(NasvizError, match="malformed NB201 string"):
        T.resolve_anchor(sp, bench, "|nor_conv_3x3~0|+|x")


def test_nn_walk_on_the_one_hot_encoding(nb201):
    _, sp, _ = nb201
    emb = maps.load_source("nb201", maps.DISCRETE)["means"]
    path, dist = T.nn_walk(emb, 6111, 20)
    assert path[0] == 6111 and len(path) == 21 and len(set(path)) == 21
    cells = [sp.cell(i) for i in path]
    # one-hot per edge: squared L2 = 2 x the number of edges that differ, and one edit is always available
    for a, b, d in zip(cells, cells[1:], dist):
        assert d ** 2 == pytest.approx(2 * T.edit_distance(a, b))
    assert all(T.edit_distance(a, b) == 1 for a, b in zip(cells, cells[1:]))
    with pytest.raises(NasvizError, match="out of range"):
        T.nn_walk(emb, -1)


def test_traverse_decodes_the_anchor_in_the_middle_and_counts_edits(nb201, arch2vec):
    bench, sp, table = nb201
    mean, std = T.latent_stats(arch2vec, sp.enumerate())
    assert mean.shape == std.shape == (T.n_dims(arch2vec),) and (std >= 0).all()
    anchor = sp.cell(6111)
    for dim in (int(np.argmax(std)), 26, 57):
        seq = T.traverse(arch2vec, sp, anchor, dim, std, span=4.0, steps=9)
        assert [round(s.offset, 6) for s in seq] == list(np.round(np.linspace(-4, 4, 9), 6))
        assert seq[4].valid and seq[4].index == 6111  # the anchor's own code decodes to itself
        values = [s.value for s in seq]
        assert np.allclose(np.diff(values), std[dim])  # one std per step of 1.0
        prev = None
        for s in seq:
            if s.valid:
                assert s.index == sp.index(s.cell)
                assert s.edit == (None if prev is None else prev.hamming(s.cell))
                prev = s.cell
            else:
                assert s.index is None and s.reason
        f = T.steps_frame(seq, table, ["cifar10 test %"])
        assert len(f) == 9 and f.loc[4, "cifar10 test %"] == pytest.approx(94.3733, abs=1e-3)
    assert T.dim_label(arch2vec, 21) == "node 1, z5"
    with pytest.raises(NasvizError, match="out of range"):
        T.traverse(arch2vec, sp, anchor, T.n_dims(arch2vec), std)
    with pytest.raises(NasvizError, match="steps must be"):
        T.traverse(arch2vec, sp, anchor, 0, std, steps=1)


def test_figures(nb201, arch2vec):
    _, sp, table = nb201
    _, std = T.latent_stats(arch2vec, [sp.cell(i) for i in range(0, 15_625, 7)])
    seq = T.traverse(arch2vec, sp, sp.cell(6111), 25, std, span=4.0, steps=9)
    f = T.steps_frame(seq, table, ["cifar10 test %"])
    fig = T.traversal_figure({"a": f}, "cifar10 test %")
    assert list(fig.data[0].x) == list(f["offset (std)"]) and fig.data[0].name == "a"
    # each valid step at its cell's accuracy in the table, an invalid one as a gap and an x mark at its offset
    want = [table.at[s.index, "cifar10 test %"] if s.valid else np.nan for s in seq]
    np.testing.assert_allclose(np.asarray(fig.data[0].y, dtype=float), want)
    assert [int(c) for c, s in zip(fig.data[0].customdata, seq) if s.valid] == [s.index for s in seq if s.valid]
    invalid = [s.offset for s in seq if not s.valid]
    assert len(fig.data) == 1 + bool(invalid)
    if invalid:
        assert list(fig.data[1].x) == invalid and fig.data[1].name == "a: invalid"
    fig = T.walk_figure({"a": [1, 2, 3]})
    assert list(fig.data[0].y) == [1, 2, 3] and "mean 2.00" in fig.data[0].name


def test_offset_zero_is_the_anchor_even_when_the_model_decodes_it_elsewhere(nb201):
    """nb201-arch2vec-supervised reconstructs no cell (its decode head sees only detached predictor latents): its
    decode of the anchor's code is another cell. The offset-0 step still shows the anchor and carries the cell the
    model actually decodes to."""
    _, sp, _ = nb201
    m = load_model(models_dir() / "nb201-arch2vec-supervised")
    anchor = sp.cell(6111)
    _, std = T.latent_stats(m, [sp.cell(i) for i in range(0, 15_625, 5)])
    seq = T.traverse(m, sp, anchor, 0, std, span=2.0, steps=5)
    mid = seq[2]
    assert mid.is_anchor and mid.cell == anchor and mid.index == 6111 and mid.valid
    # what the decoder returns for the anchor's own code, independently of traverse
    own = m.decode(np.asarray(m.latent([anchor]), dtype=np.float32).reshape(1, *m.latent_shape))[0]
    own_index = sp.index(own) if hasattr(own, "to_str") else None
    assert own_index != 6111  # the premise: this model does not decode the anchor back
    assert not mid.faithful and mid.decoded_index == own_index and mid.decoded_as == own
    assert sum(s.is_anchor for s in seq) == 1


def test_most_active_dim_shows_several_distinct_cells(nb201, arch2vec):
    _, sp, _ = nb201
    anchor = sp.cell(6111)
    _, std = T.latent_stats(arch2vec, sp.enumerate())
    counts = T.distinct_per_dim(arch2vec, sp, anchor, std, span=4.0, steps=9)
    best = T.most_active_dim(arch2vec, sp, anchor, std, span=4.0, steps=9)
    assert counts[best] == counts.max() >= 3
    seq = T.traverse(arch2vec, sp, anchor, best, std, span=4.0, steps=9)
    assert len({s.index for s in seq if s.valid}) == counts[best]  # the count is what the page will show
    assert counts[int(np.argmax(std))] <= counts[best]

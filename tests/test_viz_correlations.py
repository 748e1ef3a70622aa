"""Latent-dimension correlations, edit-distance curves and GP scatter (nasviz.viz.correlations)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from nasviz.analysis.latent import latent_correlations
from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.viz import correlations as C
from nasviz.viz import maps


@pytest.fixture(scope="module")
def nb201():
    bench = get_benchmark("nb201")
    return bench, maps.space_frame("nb201", bench), maps.load_source("nb201", maps.DISCRETE)["means"]


def test_spearman_columns_matches_scipy_and_the_analysis_function(nb201):
    _, f, x = nb201
    y = f["cifar10 test %"].to_numpy()
    rng = np.random.default_rng(0)
    z = rng.standard_normal((2000, 5))
    z[:, 2] = np.round(z[:, 2])  # ties
    z[:, 4] = 1.0  # constant: undefined
    got = C.spearman_columns(z, y[:2000])
    for d in range(4):
        assert got[d] == pytest.approx(spearmanr(z[:, d], y[:2000]).statistic, abs=1e-12)
    assert np.isnan(got[4])
    ref = latent_correlations(x[:3000, :6], a=y[:3000])["a"]
    assert np.allclose(C.spearman_columns(x[:3000, :6], y[:3000]), ref)


def test_dim_ranking_is_sorted_by_absolute_rho(nb201):
    _, f, x = nb201
    r = C.dim_correlation_frame(x, f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy())
    assert len(r) == 30 and r["|rho accuracy|"].is_monotonic_decreasing
    # a 3x3 conv on an edge helps accuracy most: the top dims are 'nor_conv_3x3' slots (op 3 of 5 per edge)
    assert all(d % 5 == 3 and rho > 0.3 for d, rho in zip(r["dim"].head(2), r["rho accuracy"].head(2)))
    fig = C.fig_dim_ranking(r, 5)
    assert list(fig.data[0].x) == list(fig.data[1].x) == [f"z{d}" for d in r["dim"].head(5)]
    np.testing.assert_allclose(fig.data[0].y, r["rho accuracy"].head(5))  # the ranked correlations, not others
    np.testing.assert_allclose(fig.data[1].y, r["rho FLOPs"].head(5))
    acc, flops = f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy()
    fig = C.fig_dim_scatter(x, [0, 3], acc, flops, acc_label="a", max_points=500)
    assert len(fig.data) == 2 and len(fig.data[0].x) == 500
    for trace, d in zip(fig.data, [0, 3]):  # each point is one cell: its z_d, its accuracy, its FLOPs
        idx = np.asarray(trace.customdata)
        assert len(set(idx.tolist())) == 500 and (np.diff(idx) > 0).all()
        np.testing.assert_array_equal(trace.x, x[idx, d])
        np.testing.assert_array_equal(trace.y, acc[idx])
        np.testing.assert_array_equal(trace.marker.color, flops[idx])
    with pytest.raises(NasvizError, match="at least one"):
        C.fig_dim_scatter(x, [], f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy(), acc_label="a")


def test_edit_distance_curve_on_the_one_hot_encoding_is_exact(nb201):
    bench, _, x = nb201
    c = C.edit_distance_curve(x, bench.space, n=300, seed=1)
    assert c["n_cells"] == 300 and c["monotonic"]
    for k, v in c["by_edit"].items():
        assert v["mean"] == pytest.approx(np.sqrt(2 * k)) and v["std"] == pytest.approx(0, abs=1e-6)
    fig = C.fig_edit_distance({"onehot": c})
    assert list(fig.data[0].x) == sorted(k for k in c["by_edit"] if k > 0) and "(monotonic)" in fig.data[0].name


def test_gp_scatter(nb201):
    _, f, x = nb201
    y = f["cifar10 test %"].to_numpy()
    r = C.gp_scatter(x, y, n_train=100, n_test=400, seed=3, restarts=1)
    assert len(r["pred"]) == len(r["true"]) == len(r["test"]) == 400
    assert np.array_equal(r["true"], y[r["test"]])
    assert r["rmse"] == pytest.approx(np.sqrt(np.mean((r["pred"] - r["true"]) ** 2)))
    assert r["pearson"] > 0.15  # the ops of a cell carry information about its accuracy (measured 0.24)
    fig = C.fig_gp({"onehot": r}, "acc")
    assert f"RMSE {r['rmse']:.2f}" in fig.layout.annotations[0].text
    with pytest.raises(NasvizError, match="n_train"):
        C.gp_scatter(x, y, n_train=1)

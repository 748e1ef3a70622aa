"""Property-based tests (hypothesis) beyond the spaces: region parsing and masks, run configurations through the
store, the encode/decode contracts of every shipped latent model, and the CLI's argument parsing."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasviz.errors import NasvizError
from nasviz.search.region import load_region, parse_region, region_mask

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
finite = st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_infinity=False)


@pytest.fixture(scope="module")
def problem():
    from nasviz.search.problem import make_problem

    return make_problem("nb201", "cifar10", budget=None)


@pytest.fixture(scope="module")
def z(problem):
    """A real embedding of every NB201 cell: the shipped arch2vec PCA (what the app's map draws regions in)."""
    from nasviz.search.embeddings import load_embedding

    return np.asarray(load_embedding(problem, "nb201-arch2vec:pca"), dtype=np.float64)


def _interval(draw):
    a, b = draw(finite), draw(finite)
    return [min(a, b), max(a, b)]


@st.composite
def regions(draw):
    kind = draw(st.sampled_from(["box", "lasso", "intervals", "points"]))
    r: dict = {"kind": kind, "embedding": draw(st.sampled_from(["onehot", "arch2vec", "nb201-arch2vec"]))}
    if draw(st.booleans()):
        r["projection"] = draw(st.sampled_from(["pca", "umap", "tsne"]))
    if kind == "box":
        r.update(dims=draw(st.sampled_from([[0, 1], [1, 0], [2, 5]])), x=_interval(draw), y=_interval(draw))
    elif kind == "lasso":
        r.update(dims=[0, 1], polygon=draw(st.lists(st.tuples(finite, finite).map(list), min_size=3, max_size=8)))
    elif kind == "intervals":
        r["intervals"] = {str(k): _interval(draw) for k in draw(st.sets(st.integers(0, 30), min_size=1, max_size=4))}
    else:
        r["indices"] = draw(st.lists(st.integers(0, 15_624), max_size=20))
    return r


# -- regions -------------------------------------------------------------------------------------------------------
@SETTINGS
@given(regions())
def test_a_parsed_region_is_a_fixed_point_and_survives_json(r):
    p = parse_region(r)
    assert parse_region(p) == p
    assert load_region(json.dumps(r)) == p  # the CLI's --region '{...}' and a region file read the same
    if r["kind"] == "points":
        assert p["indices"] == sorted(set(r["indices"]))


@SETTINGS
@given(st.sampled_from(["box", "intervals"]), finite, finite)
def test_an_interval_with_lo_above_hi_is_refused(kind, a, b):
    lo, hi = max(a, b) + 1.0, min(a, b)
    bad = {"kind": "box", "x": [lo, hi], "y": [0, 1]} if kind == "box" else {"kind": kind, "intervals": {"0": [lo, hi]}}
    with pytest.raises(NasvizError, match="lo <= hi"):
        parse_region(bad)


def _mask_or_empty(region, problem, z):
    try:
        return region_mask(parse_region(region), problem=problem, embedding=z)
    except NasvizError as e:
        assert "contains no cell" in str(e)
        return np.zeros(len(z), dtype=bool)


@SETTINGS
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_box_mask_is_exactly_the_cells_inside_and_a_rectangular_lasso_agrees(problem, z, a, b, c, d):
    # corners at quantiles of the real embedding, so boxes of every size, empty ones included, occur
    qx, qy = np.quantile(z[:, 0], sorted([a, b])), np.quantile(z[:, 1], sorted([c, d]))
    box = {"kind": "box", "embedding": "x", "dims": [0, 1], "x": qx.tolist(), "y": qy.tolist()}
    mask = _mask_or_empty(box, problem, z)
    inside = (z[:, 0] >= qx[0]) & (z[:, 0] <= qx[1]) & (z[:, 1] >= qy[0]) & (z[:, 1] <= qy[1])
    np.testing.assert_array_equal(mask, inside)
    swapped = _mask_or_empty({**box, "dims": [1, 0], "x": qy.tolist(), "y": qx.tolist()}, problem, z)
    np.testing.assert_array_equal(swapped, inside)  # the same box drawn with the axes swapped
    # a lasso along the box's border: the same cells, bar those lying exactly on its edges
    poly = [[qx[0], qy[0]], [qx[1], qy[0]], [qx[1], qy[1]], [qx[0], qy[1]]]
    lasso = _mask_or_empty({"kind": "lasso", "embedding": "x", "dims": [0, 1], "polygon": poly}, problem, z)
    edge = np.isin(z[:, 0], qx) | np.isin(z[:, 1], qy)
    np.testing.assert_array_equal(lasso[~edge], inside[~edge])


@SETTINGS
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=3, max_size=7), st.integers(0, 6))
def test_a_lasso_mask_does_not_depend_on_where_or_which_way_its_polygon_starts(problem, z, qs, shift):
    poly = [[float(np.quantile(z[:, 0], a)), float(np.quantile(z[:, 1], b))] for a, b in qs]
    base = {"kind": "lasso", "embedding": "x", "dims": [0, 1]}
    m = _mask_or_empty({**base, "polygon": poly}, problem, z)
    k = shift % len(poly)
    np.testing.assert_array_equal(_mask_or_empty({**base, "polygon": poly[k:] + poly[:k]}, problem, z), m)
    np.testing.assert_array_equal(_mask_or_empty({**base, "polygon": poly[::-1]}, problem, z), m)


@SETTINGS
@given(st.dictionaries(st.integers(0, 1), st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1))
def test_an_intervals_mask_is_the_and_of_its_dimensions(problem, z, ivs):
    region = {"kind": "intervals", "embedding": "x",
              "intervals": {str(k): sorted(np.quantile(z[:, k], [a, b]).tolist()) for k, (a, b) in ivs.items()}}
    mask = _mask_or_empty(region, problem, z)
    want = np.ones(len(z), dtype=bool)
    for k, (lo, hi) in region["intervals"].items():
        want &= (z[:, int(k)] >= lo) & (z[:, int(k)] <= hi)
    np.testing.assert_array_equal(mask, want)


# -- run configurations through the store ----------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strategy=st.sampled_from(["random", "evolution"]), dataset=st.sampled_from(["cifar10", "CIFAR100",
                                                                                   " ImageNet16-120 "]),
       budget=st.integers(1, 15_625), seed=st.integers(0, 2**31 - 1),
       region=st.none() | st.lists(st.integers(0, 15_624), min_size=1, max_size=30))
def test_a_run_config_comes_back_from_the_store_as_it_was_validated(tmp_path_factory, strategy, dataset, budget,
                                                                    seed, region):
    from nasviz.search import jobs as J
    from nasviz.search.runs import RunConfig, build, validate_config
    from nasviz.search.store import RunState, Store

    if region is not None:
        strategy = "region"
        region = {"kind": "points", "indices": region}
    cfg = validate_config(strategy, "nb201", dataset, budget=budget, seed=seed, region=region, preflight=False)
    assert cfg.dataset == dataset.strip().replace("CIFAR100", "cifar100")
    with Store(tmp_path_factory.mktemp("store") / "runs.sqlite") as store:
        rid, _ = J.submit(store, cfg, launch=False)
        run = store.get_run(rid)
    assert RunConfig.from_dict(run.config) == cfg
    assert (run.state, run.strategy, run.space, run.dataset, run.budget, run.seed) == (
        RunState.QUEUED, cfg.strategy, "nb201", cfg.dataset, budget, seed)
    # what a worker builds from the stored config proposes what the validated one does
    (p1, s1), (p2, s2) = build(cfg), build(run.config)
    assert [p1.index(s1.ask()) for _ in range(5)] == [p2.index(s2.ask()) for _ in range(5)]


# -- latent models: encode/decode shape contracts -----------------------------------------------------------------
def _shipped():
    from nasviz.models import shipped_models

    return [m for m in shipped_models() if "controller" not in m]


_MODELS: dict = {}


def _model(name):
    if name not in _MODELS:
        import torch

        from nasviz.models import load_model
        from nasviz.paths import models_dir
        from nasviz.spaces import get_space

        torch.set_num_threads(1)
        m = load_model(models_dir() / name)
        _MODELS[name] = (m, get_space(m.space))
    return _MODELS[name]


@pytest.mark.parametrize("name", _shipped())
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_every_shipped_latent_model_keeps_its_encode_decode_contract(name, data):
    from nasviz.models import Invalid

    m, space = _model(name)
    idx = data.draw(st.lists(st.integers(0, len(space) - 1), min_size=1, max_size=12), label="cells")
    cells = [space.cell(i) for i in idx]
    n = len(cells)
    emb, lat = m.transform(cells), m.latent(cells)
    assert emb.shape == (n, m.embedding_dim) and np.isfinite(emb).all()
    assert lat.shape == (n, *m.latent_shape) and np.isfinite(lat).all()
    # a cell's code does not depend on the batch it is encoded with
    np.testing.assert_allclose(m.latent(cells[-1:])[0], lat[-1], rtol=1e-4, atol=1e-5)
    dec = m.decode(lat)
    assert len(dec) == n
    cell_type = type(cells[0])
    assert all(isinstance(d, (cell_type, Invalid)) for d in dec)
    # any finite code decodes to n answers, each a cell of the model's space or Invalid
    noise = data.draw(st.lists(finite, min_size=int(np.prod(m.latent_shape)), max_size=int(np.prod(m.latent_shape))),
                      label="code")
    out = m.decode(np.asarray(noise, dtype=np.float32).reshape(1, *m.latent_shape))
    assert len(out) == 1 and isinstance(out[0], (cell_type, Invalid))


# -- the CLI's argument parsing ----------------------------------------------------------------------------------
def _main(*args) -> tuple[int, str, str]:
    from nasviz.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exit_:
        main(list(args))
    return int(exit_.value.code or 0), out.getvalue(), err.getvalue()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 15_624), st.booleans())
def test_show_finds_a_cell_by_index_and_by_its_string(i, by_string):
    from nasviz.spaces import get_space

    cell = get_space("nb201").cell(i)
    code, out, err = _main("show", cell.to_str() if by_string else str(i), "--space", "nb201", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["index"] == i


@settings(max_examples=30, deadline=None)
@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=15_625)).map(str)
       | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40))
def test_show_refuses_what_is_no_nb201_cell_in_one_line(arg):
    from nasviz.spaces import get_space

    try:  # a text that happens to name a cell (e.g. "42") is not what this test is about
        get_space("nb201").parse(arg)
        return
    except NasvizError:
        pass
    except Exception as e:  # noqa: BLE001 - the parser must only ever raise NasvizError
        raise AssertionError(f"parse({arg!r}) raised {type(e).__name__}: {e}") from e
    code, out, err = _main("show", arg, "--space", "nb201")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1, err

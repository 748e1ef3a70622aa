"""The Learn page's lessons (nasviz.viz.lessons): every revealed answer recomputed here, independently, from the
shipped data, models and stored results; and every lesson's link checked against its target page, run with
those query parameters (AppTest), whose widgets must start in the lesson's state."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from _helpers import figures, run_page
from scipy.spatial import cKDTree
from scipy.stats import rankdata, spearmanr
from streamlit.testing.v1 import AppTest

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import OPS
from nasviz.viz import lessons as L
from nasviz.viz import maps

REPO = Path(__file__).resolve().parents[1]
ACC = "cifar10 test %"


@pytest.fixture(scope="module")
def bench():
    return get_benchmark("nb201")


@pytest.fixture(scope="module")
def results():
    return {les.number: L.build(les.number) for les in L.LESSONS}


def _arr(v) -> np.ndarray:
    """A Plotly JSON array: a list (of lists), or a typed array {"dtype", "bdata" (base64), "shape"}."""
    import base64

    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        return a.reshape([int(n) for n in str(v["shape"]).split(",")]) if "shape" in v else a
    return np.asarray(v, dtype=np.float64)


def _c10(bench) -> np.ndarray:
    return np.asarray(bench.column("test", "cifar10", 200), dtype=np.float64)


# -- the lessons as a whole ------------------------------------------------------------------------------------
def test_lessons_are_numbered_and_point_at_pages_of_the_app():
    assert [les.number for les in L.LESSONS] == list(range(1, 8))
    app = (REPO / "app.py").read_text()
    for les in L.LESSONS:
        assert len(les.options) >= 2 and les.question.endswith("?")
        assert (REPO / les.page).is_file() and f'st.Page("{les.page}"' in app
    with pytest.raises(NasvizError, match="no lesson 9"):
        L.lesson(9)


def test_lessons_module_never_imports_streamlit():
    tree = ast.parse((REPO / "nasviz" / "viz" / "lessons.py").read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "streamlit" not in mods


def test_every_lesson_has_a_figure_an_answer_and_a_valid_choice(results):
    for n, res in results.items():
        les = L.lesson(n)
        assert 0 <= res.correct < len(les.options)
        assert res.figure.data or res.figure.layout.images, n  # traces, or a picture of many points
        assert any(ch.isdigit() for ch in res.answer), n  # numbers from the data, not words alone
        assert res.query() and all(isinstance(v, str) for v in res.query().values())


# -- 1. NB201 cells --------------------------------------------------------------------------------------------
def test_lesson1_op_shares_of_the_top_cells_recomputed(bench, results):
    res = results[1]
    acc, ops = _c10(bench), np.asarray(bench.space.index_ops)
    top = np.argsort(-acc, kind="stable")[:156]  # 1 % of 15,625
    shares = {op: float(np.mean(ops[top] == o)) for o, op in enumerate(OPS)}
    top_op = max(shares, key=shares.get)
    assert res.facts["n_top"] == 156 and res.facts["top_op"] == top_op and res.correct == OPS.index(top_op)
    assert res.facts["share"][top_op] == pytest.approx(shares[top_op])
    best, _ = bench.best("test", "cifar10", 200)
    assert res.facts["best"] == best and f"#{best}" in res.answer
    names = bench.space.cell(best).names
    assert res.facts["best_counts"] == {op: names.count(op) for op in OPS}
    # the figure shows the shares per edge: rows sum to 1, and they are these cells' ops
    z = np.asarray(res.figure.data[0].z)
    assert z.shape == (6, 5) and np.allclose(z.sum(1), 1)
    assert np.allclose(z[:, OPS.index(top_op)], (ops[top] == OPS.index(top_op)).mean(0))
    assert f"{100 * shares[top_op]:.0f} %" in res.answer
    per_edge = np.stack([(ops[top] == o).mean(0) for o in range(5)], axis=1)
    e, o = np.unravel_index(np.argmax(per_edge), per_edge.shape)
    assert res.facts["strongest"] == (e, o) and f"in {100 * per_edge[e, o]:.0f} % of the top cells" in res.answer
    assert res.facts["none_rarest_edge"] == int(np.argmin(per_edge[:, 0]))
    second = int(np.argsort(-acc, kind="stable")[1])
    assert res.params == {"cell": best, "compare": second}


def test_lesson1_answer_follows_the_data_it_is_given(bench):
    """Ranked by the negated accuracy (the worst cells first), the answer changes: it is read from the table."""
    table = maps.space_frame("nb201", bench).copy()
    table[ACC] = -table[ACC]
    res = L.nb201_cells(table, bench.space.index_ops)
    worst = int(np.argmin(_c10(bench)))
    assert res.facts["best"] == worst
    ops = np.asarray(bench.space.index_ops)[np.argsort(_c10(bench), kind="stable")[:156]]
    assert res.facts["top_op"] == OPS[int(np.bincount(ops.ravel(), minlength=5).argmax())]
    assert res.facts["top_op"] != "nor_conv_3x3"


# -- 2. latent map ---------------------------------------------------------------------------------------------
def test_lesson2_neighbour_differences_recomputed(bench, results):
    res = results[2]
    f = res.facts
    src = maps.load_source("nb201", L.MAP_EMBEDDING)
    acc = _c10(bench)
    q = np.asarray(f["queries"])
    for key, pts, nn in (("d_map", src["pca"], f["map_nn"]), ("d_latent", src["means"], f["latent_nn"])):
        pts = np.asarray(pts, dtype=np.float64)
        d, _ = cKDTree(pts).query(pts[q], k=2)  # k=2: the first is the cell itself (or a cell at distance 0)
        got = np.linalg.norm(pts[q] - pts[np.asarray(nn)], axis=1)
        assert (np.asarray(nn) != q).all()
        assert np.allclose(got, d[:, 1], atol=1e-6)  # the nearest other cell (ties: any at that distance)
        assert f[key] == pytest.approx(np.mean(np.abs(acc[q] - acc[np.asarray(nn)])))
    # random partners: close to the mean |difference| over all pairs of cells
    s = np.sort(acc)
    n = len(s)
    all_pairs = 2 * np.sum((2 * np.arange(n) - n + 1) * s) / (n * (n - 1))
    assert abs(f["d_random"] - all_pairs) / all_pairs < 0.1
    ratio = f["d_map"] / f["d_random"]
    assert res.correct == (0 if ratio < 0.75 else 1 if ratio <= 1.25 else 2)
    # the figure: the sampled cells plus the best one, starred, with its 8 nearest latent neighbours
    best = int(np.argmax(acc))
    d = np.linalg.norm(src["means"] - src["means"][best], axis=1)
    d[best] = np.inf
    star = [t for t in res.figure.data if t.name == f"cell #{best}"]
    ring = [t for t in res.figure.data if t.name == "nearest in latent space"]
    assert star and ring and sorted(ring[0].customdata) == sorted(np.argsort(d, kind="stable")[:8].tolist())
    assert sum(len(t.x) for t in res.figure.data if t.name == ACC) == len(f["shown"]) > 3000


# -- 3. traversal ----------------------------------------------------------------------------------------------
def _distinct_along(model, space, anchor, std, dim, offsets):
    from nasviz.models import is_valid

    z0 = np.asarray(model.latent([anchor]), dtype=np.float32).reshape(-1)
    z = np.repeat(z0[None], len(offsets), 0)
    z[:, dim] += offsets * std[dim]
    return model.decode(z.reshape(len(z), *model.latent_shape)), is_valid


def test_lesson3_traversal_changes_recomputed(bench, results):
    from nasviz.models import load_model
    from nasviz.paths import models_dir

    res = results[3]
    f = res.facts
    sp = bench.space
    model = load_model(models_dir() / L.TRAVERSAL_MODEL)
    lat = np.asarray(model.latent(list(sp.enumerate())), dtype=np.float64).reshape(len(sp), -1)
    std = lat.std(0)
    best = int(np.argmax(_c10(bench)))
    anchor = sp.cell(best)
    offsets = np.linspace(-4.0, 4.0, 9)
    counts = []
    for dim in range(lat.shape[1]):
        decoded, is_valid = _distinct_along(model, sp, anchor, std, dim, offsets)
        seen = {best} | {int(sp.index(c)) for t, c in zip(offsets, decoded) if t != 0 and is_valid(c)}
        counts.append(len(seen))
    assert counts[f["dim"]] == max(counts) == f["distinct"]
    decoded, is_valid = _distinct_along(model, sp, anchor, std, f["dim"], offsets)
    cells = [anchor if t == 0 else c for t, c in zip(offsets, decoded) if t == 0 or is_valid(c)]
    changes = [sum(a != b for a, b in zip(x.names, y.names)) for x, y in zip(cells, cells[1:])]
    assert f["changes"] == [c for c in changes if c > 0]
    mean = np.mean(f["changes"]) if f["changes"] else 0
    assert res.correct == (2 if not f["changes"] else 0 if mean <= 1.5 else 1)
    assert f"{mean:.2f} edges" in res.answer or not f["changes"]
    # the figure's grid: one column per step, the anchor's ops in the middle column
    z = np.asarray(res.figure.data[0].z)
    assert z.shape == (6, 9) and [OPS[int(v)] for v in z[:, 4]] == list(anchor.names)
    sweep = json.loads((REPO / "benchmarks/results/bvae_sweep.json").read_text())["summary"]
    assert f["sweep_scores"] == {b: s["score"]["mean"] for b, s in sweep.items() if s.get("ships")}
    # a mean over several training seeds says so (the Correlations page shows the shipped seed-0 model's score)
    for b, s in sweep.items():
        if s.get("ships") and len(s.get("seeds") or [0]) > 1:
            assert f"{s['score']['mean']:.3f} at beta {b} (mean of {len(s['seeds'])} training seeds)" in res.answer


# -- 4. supervised vs unsupervised -----------------------------------------------------------------------------
def test_lesson4_edit_distance_ratios_recomputed(bench, results):
    from nasviz.analysis.latent import random_walk

    res = results[4]
    cells = random_walk(bench.space, 1000, np.random.default_rng(0))
    idx = bench.space.indices(cells)
    ops = np.array([c.ops for c in cells])
    iu = np.triu_indices(len(cells), 1)
    ed = (ops[:, None, :] != ops[None, :, :]).sum(-1)[iu]
    ratios = {}
    for name in (L.MAP_EMBEDDING, L.SUPERVISED_EMBEDDING):
        e = np.asarray(maps.load_source("nb201", name)["means"], dtype=np.float64)[idx]
        d = np.sqrt(((e[:, None, :] - e[None, :, :]) ** 2).sum(-1))[iu]
        ratios[name] = d[ed == 1].mean() / d[ed == ed.max()].mean()
        assert res.facts["ratio"][name] == pytest.approx(ratios[name], rel=1e-9)
    a, s = ratios[L.MAP_EMBEDDING], ratios[L.SUPERVISED_EMBEDDING]
    assert res.correct == (2 if abs(a - s) / max(a, s) < 0.05 else 0 if a < s else 1)
    assert f"{100 * a:.0f} %" in res.answer and f"{100 * s:.0f} %" in res.answer


# -- 5. dense sampling -----------------------------------------------------------------------------------------
def test_lesson5_band_cells_and_stored_search_recomputed(bench, results):
    res = results[5]
    f = res.facts
    z = np.asarray(maps.load_source("nb201", L.MAP_EMBEDDING)["means"], dtype=np.float64)
    sig = np.asarray(bench.column("valid_acc", "cifar10-valid", 12), dtype=np.float64)
    rho = np.array([spearmanr(z[:, d], sig)[0] for d in range(z.shape[1])])
    dims = sorted(np.argsort(-np.abs(rho))[:2].tolist())
    assert f["dims"] == dims and np.allclose(f["rho"], rho[dims])
    top = np.argsort(-sig, kind="stable")[:3]
    inside = np.ones(len(sig), dtype=bool)
    for d in dims:
        h = 0.25 * z[:, d].std()
        inside &= np.any([np.abs(z[:, d] - z[i, d]) <= h for i in top], axis=0)
    assert f["n_inside"] == int(inside.sum()) and f["mean_inside"] == pytest.approx(sig[inside].mean())
    pct = (rankdata(sig) - 0.5) / len(sig)
    assert f["mean_pct"] == pytest.approx(pct[inside].mean())
    assert res.correct == (0 if f["mean_pct"] > 0.6 else 1 if f["mean_pct"] >= 0.4 else 2)
    stored = json.loads((REPO / "benchmarks/results/search.json").read_text())["results"]["cifar10"]
    assert f["search"]["dense"] == stored["dense-arch2vec"]["at"]["100"]["test_mean"]
    assert f["search"]["random"] == stored["random"]["at"]["100"]["test_mean"]
    assert f"{stored['random']['at']['100']['test_mean']:.2f} %" in res.answer
    assert res.params["dims"] == dims


# -- 6. controller ---------------------------------------------------------------------------------------------
def test_lesson6_hidden_state_variances_are_those_of_the_figure(results):
    res = results[6]
    f = res.facts
    heat = {t.name: np.asarray(t.z, dtype=np.float64) for t in res.figure.data if t.type == "heatmap"}
    if not all(heat):  # heatmaps carry no trace names: map them by panel order (kinds in chosen order)
        heat = dict(zip(f["var"], [np.asarray(t.z, dtype=np.float64) for t in res.figure.data
                                  if t.type == "heatmap"]))
    for kind, h in heat.items():
        assert h.shape[0] == 50
        assert f["var"][kind] == pytest.approx(np.var(h, axis=0).mean(), rel=1e-4)
    ratio = f["var"]["unsupervised"] / f["var"]["supervised"]
    assert res.correct == (0 if ratio < 0.5 else 1 if ratio <= 2 else 2)
    stored = json.loads((REPO / "benchmarks/results/controller.json").read_text())["verdict"]
    assert f["stored"] == stored["numbers"]
    assert ("**yes**" if stored["collapse_without_buffer"] else "**no**") in res.answer


# -- 7. distributions ------------------------------------------------------------------------------------------
def test_lesson7_final_probabilities_and_regret_recomputed(bench, results):
    from nasviz.distributions.results import load_run
    from nasviz.spaces.nb201 import NB201Cell

    res = results[7]
    f = res.facts
    root = REPO / "benchmarks" / "results" / "distribution_runs"
    best = _c10(bench).max()
    final = {}
    for name in L.DIST_RUNS:
        r = load_run(root / name)
        p = np.asarray(r.probs[-1], dtype=np.float64)
        final[name] = p.max(1).mean()
        assert f["final"][name] == pytest.approx(final[name])
        cell = NB201Cell(tuple(int(i) for i in p.argmax(1)))
        assert f["regret"][name] == pytest.approx(best - _c10(bench)[bench.space.index(cell)], abs=1e-6)
    for method in ("darts", "vimnas"):
        folders = sorted(root.glob(f"{method}-seed*"))
        assert f["n_seeds"][method] == len(folders) >= 2
        assert f["over_seeds"][method] == pytest.approx(
            np.mean([load_run(p).probs[-1].max(1).mean() for p in folders]))
    a, b = L.DIST_RUNS
    assert res.correct == (2 if abs(final[a] - final[b]) < 0.05 else 0 if final[a] > final[b] else 1)


# -- the links: each target page, run with the lesson's query parameters, starts in the lesson's state ----------
def _target(res, n: int) -> AppTest:
    at = AppTest.from_file(str(REPO / L.lesson(n).page), default_timeout=300)
    for k, v in res.query().items():
        at.query_params[k] = v
    return run_page("", at)


def test_link_lesson1_opens_the_table_on_the_best_cell_compared(results):
    res = results[1]
    at = _target(res, 1)
    assert at.text_input(key="nb201_arch").value == str(res.params["cell"])
    assert at.text_input(key="nb201_compare").value == str(res.params["compare"])
    assert any(c.value.startswith(f"Compared with #{res.params['compare']}") for c in at.caption)


def test_link_lesson2_opens_the_map_in_the_lesson_state(results):
    res = results[2]
    at = _target(res, 2)
    assert at.radio(key="map_space").value == "nb201"
    assert at.selectbox(key="map_source_nb201").value == L.MAP_EMBEDDING
    assert at.selectbox(key=f"map_proj_nb201_{L.MAP_EMBEDDING}").value == "pca"
    assert at.selectbox(key="map_colour_nb201").value == ACC
    assert at.text_input(key="map_cell").value == str(res.params["cell"])


def test_link_lesson3_opens_the_traversal_in_the_lesson_state(results):
    res = results[3]
    at = _target(res, 3)
    assert at.selectbox(key="trav_model").value == L.TRAVERSAL_MODEL
    assert at.text_input(key="trav_anchor").value == str(res.params["anchor"])
    assert at.number_input(key="trav_dim").value == res.params["dim"]
    assert at.slider(key="trav_span").value == res.params["span"]
    assert at.slider(key="trav_steps").value == res.params["steps"]
    assert any(f"{res.facts['distinct']} distinct cells" in s.value for s in at.subheader)


def test_link_lesson4_opens_the_correlations_in_the_lesson_state(results):
    res = results[4]
    at = _target(res, 4)
    assert at.multiselect(key="corr_models").value == res.params["embeddings"]
    assert at.selectbox(key="corr_acc").value == ACC


def test_link_lesson5_opens_dense_sampling_in_the_lesson_state(results):
    res = results[5]
    at = _target(res, 5)
    assert at.selectbox(key="dense_embedding_nb201").value == L.MAP_EMBEDDING
    assert at.multiselect(key="dense_dims").value == res.params["dims"]
    assert at.slider(key="dense_topk").value == res.params["top_k"]
    assert at.slider(key="dense_sigma").value == pytest.approx(res.params["sigma"])


def test_link_lesson6_opens_the_controller_study_with_the_same_hidden_states(results):
    res = results[6]
    at = _target(res, 6)
    assert at.slider(key="ctrl_n").value == res.params["n"]
    for kind in ("random", "unsupervised", "supervised"):
        assert at.selectbox(key=f"ctrl_seed_nb201_{kind}").value == res.params[f"seed_{kind}"]
    page = [f for f in figures(at) if "final controller hidden state" in json.dumps(f["layout"].get("title", "")).lower()]
    z_page = [_arr(t["z"]).astype(np.float64) for t in page[0]["data"] if t["type"] == "heatmap"]
    z_lesson = [np.asarray(t.z, dtype=np.float64) for t in res.figure.data if t.type == "heatmap"]
    assert len(z_page) == len(z_lesson) == 3
    for a, b in zip(z_page, z_lesson):
        assert np.allclose(a, b, atol=1e-6)  # the page samples the same architectures: the same states


def test_link_lesson7_opens_the_distributions_with_the_same_runs(results):
    res = results[7]
    at = _target(res, 7)
    assert at.multiselect(key="dist_runs").value == list(L.DIST_RUNS)
    assert at.selectbox(key="dist_dataset").value == "cifar10"

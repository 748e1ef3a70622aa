"""What users do in the app that no other browser test did (issue 18): the latent traversal with a second model side
by side, the Resume button of the Search runs page on a real cancelled run, and PNG downloads (a chart's toolbar
camera, drawn by Plotly in the browser, and a cell diagram's PNG button, rendered by Graphviz on the server).

The app runs as ./nasviz-app serves it (scripts/serve.py) with its own run store (NASVIZ_DB in a temporary folder),
so the user's runs are never touched. What the browser shows is checked against values computed here: the traversal
steps and chart by nasviz.viz.traversal, the resumed run against the same seeded run uninterrupted, the PNG's size
against the chart's size in the page. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from _browser import DIAGRAMS, plot_titled, running_app
from playwright.sync_api import expect

from nasviz.search import jobs as J
from nasviz.search.loop import run_loop
from nasviz.search.runs import build, validate_config
from nasviz.search.store import RunState, Store

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: the run the Resume test resumes: cancelled after GATE of its BUDGET trials, held there by the trial gate
CANCELLED = dict(strategy="random", space="nb201", dataset="cifar10", budget=30, seed=2)
GATE = 10
#: a finished run whose chart and best cells the PNG test downloads
FINISHED = dict(strategy="evolution", space="nb201", dataset="cifar10", budget=40, seed=4)


def _trials(store: Store, rid: int) -> list[tuple[int, float]]:
    return [(t.cell_index, t.value) for t in store.trials(rid)]


def _reference(cfg) -> list[tuple[int, float]]:
    """The same seeded run, uninterrupted, in this process (no store, no worker)."""
    problem, strategy = build(cfg)
    return [(t.cell_index, t.value) for t in run_loop(problem, strategy, cfg.budget).trials]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A temporary store with two runs made by real workers: #1 cancelled at trial GATE (the worker held at a
    trial gate when the cancel came, so it cannot have finished first), #2 complete. Yields (db, {name: id})."""
    from _helpers import wait_stored

    folder = tmp_path_factory.mktemp("coverage-e2e")
    db = folder / "runs.sqlite"
    store = Store(db)
    done_id, done_job = J.submit(store, validate_config(**FINISHED))
    gate = folder / "gate"
    gate.write_text(str(GATE))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(J.TRIAL_GATE_ENV, str(gate))  # only this worker inherits the gate
        cancel_id, job = J.submit(store, validate_config(**CANCELLED))
    wait_stored(store, cancel_id, GATE)
    store.request_cancel(cancel_id)
    assert job.wait(600) == 0
    assert done_job.wait(600) == 0
    assert store.get_run(cancel_id).state == RunState.CANCELLED and store.n_trials(cancel_id) == GATE
    assert store.get_run(done_id).state == RunState.COMPLETE and store.n_trials(done_id) == FINISHED["budget"]
    yield db, {"cancelled": cancel_id, "finished": done_id}


@pytest.fixture(scope="module")
def app(runs):
    """The app (scripts/serve.py, as ./nasviz-app) on a free port with NASVIZ_DB pointing at the store of ``runs``;
    no trial gate in its environment, so a run it resumes goes to the end. Yields its URL."""
    db, _ = runs
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false", NASVIZ_DB=str(db))
    env.pop(J.TRIAL_GATE_ENV, None)
    with running_app(env, "coverage-e2e") as (url, _):
        yield url


@pytest.fixture()
def page(browser, app):
    context = browser.new_context(viewport={"width": 1600, "height": 2400}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    try:
        yield pg
    finally:
        context.close()


def _plot(page, title: str):
    """The Plotly chart whose title contains ``title`` (in the page, or in a lean chart's frame)."""
    return plot_titled(page, title)


#: name, x and y of each trace as Plotly drew it (``_fullData``: arrays decoded from the figure's base64 typed arrays)
_TRACES = ("el => el._fullData.map(t => ({name: t.name, x: Array.from(t.x, Number), "
           "y: Array.from(t.y, v => v === null ? NaN : Number(v))}))")


def _same_traces(got: list[dict], fig) -> None:
    want = [t for t in fig.data]
    assert [g["name"] for g in got] == [t.name for t in want]
    for g, t in zip(got, want):
        np.testing.assert_allclose(g["x"], np.asarray(t.x, dtype=float), rtol=0, atol=1e-9, err_msg=t.name)
        np.testing.assert_allclose(g["y"], np.asarray(t.y, dtype=float), rtol=0, atol=1e-6, err_msg=t.name)


# -- (a) the traversal with a second model side by side -------------------------------------------------------
PRIMARY, OTHER = "nb201-bvae-beta1", "nb201-arch2vec"
ANCHOR, DIM, SPAN, STEPS = 6111, 1, 4.0, 9  # the page's default range and steps; a coordinate both models have


def _expected_traversal():
    """What the page computes for both models, computed here with the same library functions on the same data."""
    from nasviz.bench import get_benchmark
    from nasviz.models import load_model
    from nasviz.paths import models_dir
    from nasviz.viz import traversal as T
    from nasviz.viz.maps import space_frame

    bench = get_benchmark("nb201")
    sp = bench.space
    tab = space_frame("nb201", bench)
    metrics = ["cifar10 test %", "cifar100 test %", "ImageNet16-120 test %", "params (M)"]  # pages/traversal.py
    anchor = sp.cell(ANCHOR)
    frames, heads, walks, n_diagrams = {}, {}, {}, 0
    for name in (PRIMARY, OTHER):
        m = load_model(models_dir() / name)
        _, std = T.latent_stats(m, sp.enumerate())
        seq = T.traverse(m, sp, anchor, DIM, std, span=SPAN, steps=STEPS)
        frames[name] = T.steps_frame(seq, tab, metrics)
        heads[name] = (f"{name}: {sum(s.valid for s in seq)}/{len(seq)} valid decodes, "
                       f"{len({s.index for s in seq if s.valid})} distinct cells")
        mid = next(s for s in seq if s.is_anchor)
        # a diagram per valid step, the anchor and its decode when the model decodes the anchor elsewhere
        n_diagrams += sum(s.valid for s in seq) + (2 if mid.decoded_index is not None else 0)
        path, _ = T.nn_walk(T.embeddings(m, sp.enumerate()), ANCHOR, 15)
        cells = [sp.cell(i) for i in path]
        walks[name] = [T.edit_distance(a, b) for a, b in zip(cells, cells[1:])]
        n_diagrams += len(path)  # the walk's cells
    return heads, T.traversal_figure(frames, metrics[0]), walks, T.walk_figure(walks), n_diagrams


def test_traversal_side_by_side_with_a_second_model(page, app, artifacts):
    heads, fig, walks, walk_fig, n_diagrams = _expected_traversal()
    page.goto(f"{app}/traversal?model={PRIMARY}&anchor={ANCHOR}&dim={DIM}")
    expect(page.get_by_text(heads[PRIMARY], exact=True)).to_be_visible(timeout=180_000)
    expect(page.get_by_text(re.compile(rf"^{OTHER}: "))).to_have_count(0)  # one model until the second is picked
    page.get_by_label("Side by side with").click()
    page.get_by_role("option", name=OTHER, exact=True).click()
    expect(page).to_have_url(re.compile(rf"with={OTHER}"))
    for name in (PRIMARY, OTHER):  # both step sequences: their headings, with the counts computed here
        expect(page.get_by_text(heads[name], exact=True)).to_be_visible(timeout=180_000)
        expect(page.get_by_text(f"{name}: mean edit distance per step {np.mean(walks[name]):.2f}",
                                exact=True)).to_be_visible(timeout=180_000)
    # both sequences drawn: a diagram per valid decode of each model (an invalid one is a warning), then both walks
    expect(page.locator(DIAGRAMS)).to_have_count(n_diagrams, timeout=120_000)
    # the combined chart: one line per model (plus each model's invalid marks), the values computed here
    chart = _plot(page, "along the traversal")
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    _same_traces(chart.evaluate(_TRACES), fig)
    assert {t.name for t in fig.data} >= {PRIMARY, OTHER}
    walk = _plot(page, "nearest-neighbour walk")
    _same_traces(walk.evaluate(_TRACES), walk_fig)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    expect(page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    page.screenshot(path=str(artifacts / "50-traversal-side-by-side.png"), full_page=True)


# -- (b) Resume on the Search runs page ----------------------------------------------------------------------------
def test_resume_button_continues_a_cancelled_run_to_the_uninterrupted_result(page, app, runs, artifacts):
    db, ids = runs
    rid = ids["cancelled"]
    store = Store(db, create=False)
    kept = _trials(store, rid)
    assert len(kept) == GATE
    b = CANCELLED["budget"]
    page.goto(f"{app}/runs?run={rid}")
    expect(page.get_by_text(f"Run #{rid}: random on nb201/cifar10, seed {CANCELLED['seed']}, {GATE}/{b} queries, "
                            "cancelled", exact=True)).to_be_visible(timeout=90_000)
    resume = page.get_by_role("button", name="Resume")
    expect(resume).to_be_enabled()
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    resume.click()
    expect(page.get_by_text(f"Run #{rid} resumed: a worker replays its trials and continues.")).to_be_visible(
        timeout=120_000)
    assert store.get_run(rid).state != RunState.CANCELLED  # requeued before the page said so
    page.screenshot(path=str(artifacts / "51-runs-resumed.png"), full_page=True)
    t_end = time.monotonic() + 600  # a guard against a hung worker; at load ~20 one took 2 min to start
    while not store.get_run(rid).state.finished:
        assert time.monotonic() < t_end, store.get_run(rid)
        time.sleep(0.5)
    run = store.get_run(rid)
    assert run.state == RunState.COMPLETE, run.traceback
    after = _trials(store, rid)
    assert after[:GATE] == kept  # finished trials never change
    assert after == _reference(validate_config(**CANCELLED))  # resumed == uninterrupted, trial for trial
    assert run.stats["replayed"] == GATE and run.stats["queries"] == b - GATE
    # the page, opened again, shows the finished run: Resume is off, the best cell is the store's
    page.goto(f"{app}/runs?run={rid}")
    expect(page.get_by_text(f"Run #{rid}: random on nb201/cifar10, seed {CANCELLED['seed']}, {b}/{b} queries, "
                            "complete", exact=True)).to_be_visible(timeout=90_000)
    expect(page.get_by_role("button", name="Resume")).to_be_disabled()
    best = min(store.trials(rid), key=lambda t: (-t.value, t.number))  # the page's first best cell
    expect(page.get_by_text(f"#{best.cell_index}: value {best.value:.2f} (trial {best.number})")).to_be_visible()
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


# -- (c) PNG downloads ---------------------------------------------------------------------------------------------
def _png(data: bytes):
    from PIL import Image

    assert data[:8] == PNG_MAGIC and len(data) > 1000, data[:16]
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    return img


def test_png_downloads_of_a_chart_and_a_cell_diagram(page, app, runs, artifacts):
    db, ids = runs
    rid = ids["finished"]
    store = Store(db, create=False)
    page.goto(f"{app}/runs?run={rid}&compare={rid}")
    chart = _plot(page, "Best so far per run")
    expect(chart).to_be_visible(timeout=90_000)
    # the chart shows this run's best-so-far curve (checked before downloading its picture)
    values = [t.value for t in store.trials(rid)]
    got = chart.evaluate(_TRACES)
    assert [g["name"] for g in got] == [f"#{rid} evolution (seed {FINISHED['seed']})"]
    np.testing.assert_allclose(got[0]["y"], np.maximum.accumulate(values), atol=1e-6)
    chart.hover()
    camera = chart.locator(".modebar-btn[data-title^='Download plot']")
    expect(camera).to_have_attribute("data-title", "Download plot as a PNG")  # the toolbar's title for PNG (SVG: no format)
    with page.expect_download(timeout=60_000) as d:
        camera.click()
    assert d.value.suggested_filename == f"nasviz-runs-{rid}.png"
    img = _png(Path(d.value.path()).read_bytes())
    size = chart.evaluate("el => [el._fullLayout.width, el._fullLayout.height]")
    assert img.size == (2 * size[0], 2 * size[1])  # the toolbar exports at scale 2 (pages/_ui.chart_config)
    colours = img.convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 20  # a drawn chart (axes, line, text), not a blank picture

    best = min(store.trials(rid), key=lambda t: (-t.value, t.number))  # the first best cell (ties: earliest)
    # the diagrams' PNG buttons (st.download_button); the best cell's diagram comes first
    button = page.locator("[data-testid='stDownloadButton'] button").filter(has_text="PNG").first
    with page.expect_download(timeout=60_000) as d:
        button.click()
    assert d.value.suggested_filename == f"nasviz-run-{rid}-cell-{best.cell_index}.png"
    img = _png(Path(d.value.path()).read_bytes())
    assert min(img.size) > 50
    from nasviz.spaces import get_space
    from nasviz.viz.diagrams import cell_dot, render

    # the same picture Graphviz renders here for that cell (dot is deterministic for the same input)
    here = render(cell_dot("nb201", get_space("nb201").parse(best.cell)), "png")
    assert Path(d.value.path()).read_bytes() == here
    page.screenshot(path=str(artifacts / "52-runs-png.png"), full_page=True)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)

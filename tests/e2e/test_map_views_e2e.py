"""The latent map's extra views in a real browser (issue #16 item 12): a box selection keeps the selected cells in
colour and the rest grey, the top k % toggle, and the Pareto view linked to the selection. What is drawn is read
from the chart's own data (plotly's ``gd.data``/``gd._fullData`` in the component iframe) and checked against
the library's numbers for the same cells."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from _browser import MAP_IFRAME, map_plot
from playwright.sync_api import expect

from nasviz.bench import get_benchmark
from nasviz.viz import maps, pareto

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EMB, PROJ = "nb201-arch2vec", "pca"
VIEW = f"latent_map?space=nb201&embedding={EMB}&projection={PROJ}"

#: per cell trace of the map (2-D customdata rows): its cells, selectedpoints and styles, as plotly holds them
#: (``_fullData``: the typed arrays of the figure JSON decoded)
TRACES_JS = """g => g._fullData.map((t, i) => {
    const cd = t.customdata, rows = cd && cd.length && typeof cd[0] === 'object' && cd[0] !== null;
    if (!rows) return null;
    const cells = Array.from(cd, r => Math.round(r[0]));
    return {name: t.name, cells: cells, x: Array.from(t.x), y: Array.from(t.y), color: Array.from(t.marker.color),
            sel: t.selectedpoints == null ? null : Array.from(t.selectedpoints),
            unselected: t.unselected && t.unselected.marker ? t.unselected.marker.color : null};
}).filter(t => t !== null && t.name !== 'no result')"""


@pytest.fixture(scope="module")
def nb201():
    bench = get_benchmark("nb201")
    return maps.space_frame("nb201", bench), maps.load_source("nb201", EMB)[PROJ]


#: per trace: how many points it keeps in colour (-1: all of them, no selectedpoints), a cheap poll
SELECTED_JS = "g => g._fullData.map(t => t.selectedpoints == null ? -1 : t.selectedpoints.length)"


def _wait_traces(plot, ok, timeout_s: float = 30):
    """The map's cell traces once ``ok(selected counts per trace)`` holds (the restyle lands after the page's
    rerun); polled on the counts only, the traces' data read once."""
    end = time.monotonic() + timeout_s
    while not ok(plot.evaluate(SELECTED_JS)) and time.monotonic() < end:
        time.sleep(0.05)
    return plot.evaluate(TRACES_JS)


def _coloured(traces) -> tuple[set[int], set[int]]:
    """(cells drawn in colour, cells drawn grey) of the map's cell traces."""
    col, grey = set(), set()
    for t in traces:
        sel = set(range(len(t["cells"]))) if t["sel"] is None else set(t["sel"])
        for k, c in enumerate(t["cells"]):
            (col if k in sel else grey).add(c)
    return col, grey


def _open(page, url: str):
    page.goto(url)
    plot = map_plot(page)
    expect(plot.locator(".gl-container canvas").first).to_be_attached(timeout=90_000)
    expect(page.get_by_text(re.compile(r"^15,625 of 15,625 cells in view \(points"))).to_be_visible(timeout=60_000)
    return plot


def test_box_select_keeps_the_selection_in_colour_and_the_rest_grey(page, app_url, artifacts):
    plot = _open(page, f"{app_url}/{VIEW}")
    assert all(t["sel"] is None for t in plot.evaluate(TRACES_JS))  # no selection: every cell in colour
    plot.hover()
    plot.locator(".modebar-btn[data-title='Box Select']").click()
    b = plot.locator(".nsewdrag").first.bounding_box()
    x0, y0, x1, y1 = (b["x"] + b["width"] * 0.2, b["y"] + b["height"] * 0.15, b["x"] + b["width"] * 0.6,
                      b["y"] + b["height"] * 0.75)
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    t0 = time.monotonic()
    page.mouse.up()
    heading = page.get_by_text(re.compile(r"^[\d,]+ cells selected \(box\)"))
    expect(heading).to_be_visible(timeout=60_000)
    n = int(heading.inner_text().split(" ")[0].replace(",", ""))
    assert 0 < n < 15_625
    traces = _wait_traces(plot, lambda counts: sum(max(c, 0) for c in counts) == n)
    ms = (time.monotonic() - t0) * 1000
    print(f"box select of {n:,} cells: selection table and map restyled {ms:.0f} ms after mouse up")
    col, grey = _coloured(traces)
    assert len(col) == n and len(col) + len(grey) == 15_625 and not col & grey
    assert all(t["unselected"] == maps.UNSELECTED_COLOR for t in traces)
    # the box drawn is now the page's outline of its region (plotly's own selection outline is replaced, else it
    # would re-select its points on each redraw); coloured = exactly the cells inside it, up to float32 rounding
    # of the points' coordinates at its border
    sel = plot.evaluate("""g => [g._fullLayout.selections.length].concat(
        g._fullLayout.shapes.map(s => [s.type, s.x0, s.x1, s.y0, s.y1]))""")
    assert sel[0] == 0 and len(sel) == 2 and sel[1][0] == "rect"
    sel = sel[1:]
    bx, by = sorted(sel[0][1:3]), sorted(sel[0][3:5])
    pos = {c: (x, y) for t in traces for c, x, y in zip(t["cells"], t["x"], t["y"])}
    inside = {c for c, (x, y) in pos.items() if bx[0] <= x <= bx[1] and by[0] <= y <= by[1]}
    edge = {c for c, (x, y) in pos.items()
            if min(abs(x - bx[0]), abs(x - bx[1])) < 1e-5 or min(abs(y - by[0]), abs(y - by[1])) < 1e-5}
    assert col - edge == inside - edge and len(inside ^ col) <= len(edge)
    expect(page.get_by_text(f"{n:,} cells in view in colour (selected), the other {15_625 - n:,} in grey.")
           ).to_be_visible()
    page.screenshot(path=str(artifacts / "40-map-selection-grey.png"))
    # the toggle off: every cell in colour again, the selection kept
    page.get_by_text("Grey out unselected", exact=True).click()
    traces = _wait_traces(plot, lambda counts: all(c == -1 for c in counts))
    assert all(t["sel"] is None for t in traces)
    expect(heading).to_be_visible()
    # on again, then a double click on an empty corner clears the selection: no outline, nothing grey
    page.get_by_text("Grey out unselected", exact=True).click()
    _wait_traces(plot, lambda counts: sum(max(c, 0) for c in counts) == n)
    page.mouse.dblclick(b["x"] + b["width"] * 0.98, b["y"] + b["height"] * 0.02)
    expect(page.get_by_text("Drag a box or lasso on the map")).to_be_visible(timeout=60_000)
    traces = _wait_traces(plot, lambda counts: all(c == -1 for c in counts))
    assert all(t["sel"] is None for t in traces) and plot.evaluate("g => g._fullLayout.shapes.length") == 0
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_top_k_toggle_colours_only_the_best_cells(page, app_url, artifacts, nb201):
    f, _ = nb201
    acc = f["cifar10 test %"].to_numpy()
    plot = _open(page, f"{app_url}/{VIEW}")
    page.get_by_text("Top k %", exact=True).click()
    top = maps.top_k(acc, 5, column="cifar10 test %")
    cap = (f"Top 5 % by cifar10 test % (highest): {top.n:,} of 15,625 cells with a value "
           f"(cifar10 test % ≥ {top.threshold:.4g}); the others are grey.")
    expect(page.get_by_text(cap, exact=True)).to_be_visible(timeout=60_000)
    traces = _wait_traces(plot, lambda counts: sum(max(c, 0) for c in counts) == top.n)
    col, grey = _coloured(traces)
    assert col == set(np.flatnonzero(top.mask).tolist()) and len(grey) == 15_625 - top.n
    # the coloured points are the ones at or above the threshold by the colour they are drawn with
    drawn = [(c, v) for t in traces for c, v in zip(t["cells"], t["color"])]
    assert min(v for c, v in drawn if c in col) >= top.threshold - 1e-4
    assert max(v for c, v in drawn if c in grey) < top.threshold
    assert "top=5" in page.url
    page.screenshot(path=str(artifacts / "41-map-top-5.png"))
    # 1 %, hidden: the map draws just those cells, and the URL keeps it
    k = page.get_by_label("k (%)")
    k.fill("1")
    k.press("Enter")
    top1 = maps.top_k(acc, 1, column="cifar10 test %")
    expect(page.get_by_text(re.compile(rf"^Top 1 % by cifar10 test % \(highest\): {top1.n:,} of 15,625"))
           ).to_be_visible(timeout=60_000)
    page.get_by_text("hidden", exact=True).click()
    expect(page.get_by_text(re.compile(rf"^{top1.n:,} of 15,625 cells in view \(points"))).to_be_visible(timeout=60_000)
    n_drawn = "g => g._fullData.reduce((s, t) => s + (t.name === 'cifar10 test %' ? t._length : 0), 0)"
    end = time.monotonic() + 30
    while plot.evaluate(n_drawn) != top1.n and time.monotonic() < end:
        time.sleep(0.05)
    traces = plot.evaluate(TRACES_JS)
    assert {c for t in traces for c in t["cells"]} == set(np.flatnonzero(top1.mask).tolist())
    assert re.search(r"[?&]top=1(&|$)", page.url)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def _pareto_plot(page):
    return page.frame_locator(MAP_IFRAME).nth(1).locator(".js-plotly-plot").first


def test_pareto_view_highlights_the_selection_and_a_click_shows_the_cell(page, app_url, artifacts, nb201):
    f, xy = nb201
    x = (float(np.quantile(xy[:, 0], 0.3)), float(np.quantile(xy[:, 0], 0.7)))
    y = (float(np.quantile(xy[:, 1], 0.2)), float(np.quantile(xy[:, 1], 0.8)))
    region = maps.box_region(x, y, xy, np.arange(15_625), space="nb201", embedding=EMB, projection=PROJ)
    acc, cost = f["cifar10 test %"].to_numpy(), f["FLOPs (M)"].to_numpy()
    view = pareto.pareto_view(acc, cost, np.arange(15_625), region["indices"])
    box = ",".join(f"{v:.10g}" for v in (*x, *y))
    _open(page, f"{app_url}/{VIEW}&box={box}&pareto=FLOPs (M)")
    expect(page.get_by_text(f"{region['n']:,} cells selected (box)", exact=False)).to_be_visible(timeout=60_000)
    plot = _pareto_plot(page)
    expect(plot.locator(".gl-container canvas").first).to_be_attached(timeout=60_000)
    got = plot.evaluate("""g => Object.fromEntries(g._fullData.map(t => [t.name + '/' + t.mode,
        t.customdata ? Array.from(t.customdata) : Array.from(t.x)]))""")
    assert sorted(got["selected/markers"]) == region["indices"]
    assert len(got["other cells/markers"]) == 15_625 - region["n"]
    assert got["front (selected)/markers"] == view.highlighted_front.tolist()
    assert got["front (all cells)/markers"] == view.front.tolist()
    colours = plot.evaluate(
        "g => Object.fromEntries(g._fullData.map(t => [t.name + '/' + t.mode, t.marker && t.marker.color]))")
    assert colours["other cells/markers"] == pareto.OTHER_COLOR and colours["selected/markers"] == pareto.SELECTED_COLOR
    on_all = sum(int(c) in set(view.front.tolist()) for c in view.highlighted_front)
    expect(page.get_by_text(f"{region['n']:,} cells selected (of 15,625 with both values): their front holds "
                            f"{len(view.highlighted_front):,} cells, {on_all:,} of them on the front of all cells "
                            f"({len(view.front):,} cells).", exact=False)).to_be_visible()
    page.locator(MAP_IFRAME).nth(1).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "42-map-pareto.png"), full_page=True)
    # a click on the selection's best cell (the front's last point) shows that cell, as a map click does
    frame_box = page.locator(MAP_IFRAME).nth(1).bounding_box()
    px = plot.evaluate("""g => { const t = g._fullData.find(d => d.name === 'front (selected)' && d.mode === 'markers');
        const L = g._fullLayout, k = t.x.length - 1;
        return [L._size.l + L.xaxis.l2p(t.x[k]), L._size.t + L.yaxis.l2p(t.y[k]), t.customdata[k]]; }""")
    best = int(view.highlighted_front[-1])
    assert px[2] == best
    page.mouse.move(frame_box["x"] + px[0], frame_box["y"] + px[1])
    page.mouse.click(frame_box["x"] + px[0], frame_box["y"] + px[1])
    expect(page.get_by_text(f"Cell #{best}", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Cell shown (index, or an NB201 string / NB101 hash or JSON spec)", exact=True)
           ).to_have_value(str(best))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)

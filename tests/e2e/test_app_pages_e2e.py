"""The analysis pages in a real browser (`streamlit run app.py`, headless Debian Chromium).

Latent map: the WebGL scatter draws all 15,625 NB201 cells; a box dragged on it lists
the cells inside and becomes the search region; a typed cell is highlighted with its
nearest neighbours, and clicking a neighbour's marker shows that cell. Traversal: the
decoded sequence of cell diagrams renders. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from _browser import DIAGRAMS, map_plot, map_point, svg_nodes, wait_diagram
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _open(page, app_url: str, link: str) -> None:
    page.goto(app_url)
    expect(page.locator("h1").first).to_be_visible(timeout=90_000)
    page.get_by_role("link", name=link).click()


def _hovered_index(hover) -> str:
    """The cell index of a map hover label: its first line, ``#<index>`` (the next line, the cell, may start
    with a digit, as in ``3x3 + skip ...``, so the label's whole text is no place to read it from)."""
    first = hover.locator("tspan.line").first.text_content()
    assert re.fullmatch(r"#\d+", first), first
    return first[1:]


def _enter(page, label: str, text: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Enter")


def test_map_draws_box_selects_and_clicks(page, app_url, artifacts):
    """Over a minute under load (112 s at load 7): it is the first page of the session's server, so it pays the
    app's cold start (benchmark tables, embeddings, the first WebGL draw of 15,625 points) and then waits for
    four server round trips (typed cell, box select, marker click, neighbour click), each a full page rerun."""
    _open(page, app_url, "Latent map")
    plot = map_plot(page)
    expect(plot.locator(".gl-container canvas").first).to_be_attached(timeout=90_000)
    expect(page.get_by_text(re.compile(r"^15,625 of 15,625 cells in view \(points"))).to_be_visible(timeout=60_000)
    page.screenshot(path=str(artifacts / "10-map.png"))

    # hover a map point: plotly writes its label from the point's data (index, cell, metrics); a click shows it
    xy = map_point(page, plot, """g => {
        const t = g._fullData.find(d => d.name === 'cifar10 test %');
        const L = g._fullLayout, r = g.getBoundingClientRect(), k = Math.floor(t.x.length / 2);
        return [r.left + L._size.l + L.xaxis.l2p(t.x[k]), r.top + L._size.t + L.yaxis.l2p(t.y[k])];
    }""")
    page.mouse.move(xy[0], xy[1])
    hover = plot.locator(".hoverlayer .hovertext").first
    expect(hover).to_contain_text(re.compile(
        r"^#\d+(none|skip|1x1|3x3|pool)[ a-z0-9+]*cifar10 test %: \d+\.\d\dcifar100 test %: \d+\.\d\d"
        r"ImageNet16-120 test %: \d+\.\d\d$"))
    picked = _hovered_index(hover)
    page.mouse.click(xy[0], xy[1])
    expect(page.get_by_text(f"Cell #{picked}", exact=True)).to_be_visible()

    # a typed cell: star + neighbours on the map, its diagram below; clicking a neighbour shows it
    _enter(page, "Cell shown (index, or an NB201 string / NB101 hash or JSON spec)", "6111")
    expect(page.get_by_text("Cell #6111", exact=True)).to_be_visible(timeout=60_000)
    expect(page.locator(DIAGRAMS).first).to_be_visible()
    # the first neighbour's marker, in page pixels (plotly's own axis mapping of the trace's data)
    xy = map_point(page, plot, """g => {
        const t = g._fullData.find(d => d.name === 'nearest in latent space');
        const L = g._fullLayout, r = g.getBoundingClientRect();
        return [r.left + L._size.l + L.xaxis.l2p(t.x[0]), r.top + L._size.t + L.yaxis.l2p(t.y[0]), t.customdata[0]];
    }""")
    page.mouse.move(xy[0], xy[1])
    # the label of the point under the cursor: the neighbour (waited for: the label of the point hovered
    # before stays up until plotly has handled the move; no other cell shares this neighbour's position)
    expect(hover.locator("tspan.line").first).to_have_text(f"#{xy[2]}")
    page.mouse.click(xy[0], xy[1])
    expect(page.get_by_text(f"Cell #{xy[2]}", exact=True)).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Cell shown (index, or an NB201 string / NB101 hash or JSON spec)", exact=True)
           ).to_have_value(str(xy[2]))
    page.screenshot(path=str(artifacts / "11-map-clicked-neighbour.png"))
    # box select (chart toolbar), then drag a box over the upper left of the plot area
    plot.hover()
    plot.locator(".modebar-btn[data-title='Box Select']").click()
    area = plot.locator(".nsewdrag").first
    b = area.bounding_box()
    assert b is not None
    page.mouse.move(b["x"] + b["width"] * 0.05, b["y"] + b["height"] * 0.05)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] * 0.5, b["y"] + b["height"] * 0.6, steps=12)
    page.mouse.up()
    heading = page.get_by_text(re.compile(r"^[\d,]+ cells selected \(box\)"))
    expect(heading).to_be_visible(timeout=60_000)
    n = int(heading.inner_text().split(" ")[0].replace(",", ""))
    assert 0 < n < 15_625
    page.get_by_role("button", name="Use as search region").click()
    expect(page.get_by_text(f"Search region set: {n:,} cells")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(artifacts / "12-map-box-selection.png"))

    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_nb101_density_map_box_and_lasso_select(page, app_url, artifacts):
    """The NB101 map of all 423,624 cells is density-shaded (heatmaps, no points to pick): its toolbar still
    offers box and lasso select, and each selects the cells inside."""
    page.goto(f"{app_url}/latent_map?space=nb101&embedding=discrete")
    plot = map_plot(page)
    expect(plot.locator(".heatmaplayer image, .hm image").first).to_be_attached(timeout=120_000)
    expect(page.get_by_text(re.compile(r"^423,624 of 423,624 cells in view \(density"))).to_be_visible(timeout=60_000)
    for tool, kind, start in (("Box Select", "box", 0.3), ("Lasso Select", "lasso", 0.1)):
        plot.hover()
        plot.locator(f".modebar-btn[data-title='{tool}']").click()
        b = plot.locator(".nsewdrag").first.bounding_box()
        assert b is not None
        page.mouse.move(b["x"] + b["width"] * start, b["y"] + b["height"] * start)  # lasso: outside the box
        page.mouse.down()
        page.mouse.move(b["x"] + b["width"] * 0.6, b["y"] + b["height"] * 0.35, steps=6)
        page.mouse.move(b["x"] + b["width"] * 0.55, b["y"] + b["height"] * 0.7, steps=6)
        page.mouse.up()
        heading = page.get_by_text(re.compile(rf"^[\d,]+ cells selected \({kind}\)"))
        expect(heading).to_be_visible(timeout=60_000)
        assert 0 < int(heading.inner_text().split(" ")[0].replace(",", "")) < 423_624
    # a click on a density bin picks no cell: the lasso selection stays
    b = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(b["x"] + b["width"] * 0.35, b["y"] + b["height"] * 0.45)
    page.wait_for_timeout(3000)
    expect(heading).to_be_visible()
    page.screenshot(path=str(artifacts / "13-map-nb101-lasso.png"))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


ANCHOR = "Anchor: index, arch string (NB201) / module hash or JSON spec (NB101), or 'best'"


def test_traversal_renders_decoded_diagrams(page, app_url, artifacts):
    """Over a minute under load (66 s at load 7): 9 Graphviz diagrams plus the walk's 15 are rendered by `dot`
    on the server for each of three views (default, recovered anchor, NB101), and the NB101 view loads that
    space's model and embedding for the first time."""
    _open(page, app_url, "Latent traversal")
    expect(page.get_by_text(re.compile(r"^Encoded and decoded in \d+ ms"))).to_be_visible(timeout=120_000)
    diagrams = page.locator(DIAGRAMS)
    expect(diagrams.nth(8)).to_be_visible(timeout=60_000)  # 9 decoded steps (default), then the walk
    wait_diagram(diagrams.first, lambda s: svg_nodes(s) == 4)  # NB201 edge view: 4 feature-map nodes
    expect(page.get_by_text(re.compile(r"valid decodes, \d+ distinct cells"))).to_be_visible()
    page.screenshot(path=str(artifacts / "20-traversal.png"), full_page=True)
    # bad anchor: a message, and the page recovers
    _enter(page, ANCHOR, "|bogus")
    expect(page.locator("[data-testid='stAlertContentError']")).to_contain_text("malformed NB201 string")
    _enter(page, ANCHOR, "42")
    expect(page.get_by_text(re.compile(r"^Encoded and decoded in"))).to_be_visible(timeout=60_000)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    # NB101: the best sample cell's traversal, drawn as NB101 diagrams
    page.get_by_text("NAS-Bench-101", exact=True).click()
    expect(page.get_by_text(re.compile(r"^nb101-.*valid decodes, \d+ distinct cells"))).to_be_visible(timeout=120_000)
    expect(page.get_by_text(re.compile(r"^nb101-.*mean edit distance per step"))).to_be_visible(timeout=120_000)
    expect(diagrams.first).to_be_visible(timeout=60_000)
    page.screenshot(path=str(artifacts / "21-traversal-nb101.png"), full_page=True)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_beta_vae_traversal_starts_at_the_anchor_and_shows_several_cells(page, app_url, artifacts):
    """Issue 14: with a beta-VAE, the offset-0 step of the default view is the anchor itself and the default
    coordinate makes the walk pass through at least 3 distinct cells (a first visit shows something change)."""
    from nasviz.bench import get_benchmark
    from nasviz.viz.traversal import resolve_anchor

    bench = get_benchmark("nb201")
    best = int(bench.space.index(resolve_anchor(bench.space, bench, "best")))
    page.goto(f"{app_url}/traversal?model=nb201-bvae-beta1")
    head = page.get_by_text(re.compile(r"^nb201-bvae-beta1: \d+/9 valid decodes, \d+ distinct cells"))
    expect(head).to_be_visible(timeout=120_000)
    distinct = int(re.search(r"(\d+) distinct cells", head.inner_text()).group(1))
    assert distinct >= 3, head.inner_text()
    # the middle step (offset +0.00) is captioned as the anchor, with the anchor's index
    expect(page.get_by_text(re.compile(rf"^#{best} · .* · anchor · \+0\.00 std"))).to_be_visible()
    expect(page.get_by_text("does not decode the anchor back to itself")).to_have_count(0)
    expect(page.locator(DIAGRAMS).nth(8)).to_be_visible(timeout=60_000)
    page.screenshot(path=str(artifacts / "22-traversal-bvae.png"), full_page=True)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


def test_distributions_draws_its_charts_in_one_frame(page, app_url, artifacts):
    """The Distributions page's four charts share one chart frame (pages/_ui.charts): the lean plotly.js is loaded
    and evaluated once for them, not once per chart. Each is drawn, with its title and its own download name."""
    from _browser import MAP_IFRAME, plot_titled

    page.goto(f"{app_url}/distributions")
    expect(page.locator("h1").first).to_be_visible(timeout=90_000)
    titles = ("Anytime architectural weights", "Anytime test regret on NB201 cifar10",
              "Mutual information between sampled edge ops", "UNAS gradient-estimator variance")
    plots = [plot_titled(page, t) for t in titles]
    for plot in plots:
        expect(plot.locator(".main-svg").first).to_be_attached(timeout=60_000)
    assert page.locator(MAP_IFRAME).count() == 1, "the page's charts are drawn in more than one frame"
    frame = page.frame_locator(MAP_IFRAME).first
    expect(frame.locator("body > .nv-chart.js-plotly-plot")).to_have_count(4, timeout=30_000)
    # the frame is as tall as its charts: none is cut off (Streamlit sizes the frame from what the chart sends)
    box = page.locator(MAP_IFRAME).first.bounding_box()
    last = frame.locator("body > .nv-chart").last.bounding_box()
    assert last["y"] + last["height"] <= box["y"] + box["height"] + 1, (last, box)  # both in page coordinates
    # each chart keeps its own download name (the toolbar's camera button)
    names = frame.locator("body > .nv-chart").evaluate_all("els => els.map(e => e._context.toImageButtonOptions.filename)")
    assert names == ["nasviz-distributions-anytime-weights", "nasviz-distributions-regret-cifar10",
                     "nasviz-distributions-mutual-information", "nasviz-distributions-estimator-variance"], names
    page.locator(MAP_IFRAME).first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "distributions-charts.png"), full_page=True)

"""Interaction speed as the user waits for it: from the user's action in headless Chromium until the page
has finished updating (``python benchmarks/bench_app.py --part interactions``).

"Finished" means: Streamlit reports no running script, no spinner is up, and nothing in the page or in any
of its frames (the map is a component iframe) has changed for :data:`QUIET_MS`; the time of an interaction
is the moment of the *last* change after the action (every chart and diagram of the view drawn), not the
moment the quiet period ends. A MutationObserver installed in every frame before any page script runs
records that moment (``Date.now()``, one clock for all frames and for this process).

Measured, each against its target (issue 16, item 3):

* NB201 latent map: a click on a point, a box selection and a lasso selection (~6,800 cells), <= 1 s;
* the traversal page: a change of the latent coordinate, <= 1 s;
* the correlations page: "Fit the GPs" at the default inputs, <= 1 s;
* the controller page: "All seeds (mean ± std)", <= 3 s;
* a deep link into every page (a fresh browser context opening a shared URL on a running server), <= 3 s.

Every interaction runs ``repeats`` times on one server (the first time a server computes something differs
from a repeat, so the first and the rest are reported apart where they differ); the floor is a bare
Streamlit app measured by the same harness: a button that reruns one 15,625-point st.plotly_chart, and a
deep link into it. The machine is shared: every sample carries the 1-minute load average.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

QUIET_MS = 1000
VIEWPORT = {"width": 1600, "height": 1200}

#: Installed in every frame before its scripts: the wall-clock time of the latest DOM change.
OBSERVER = """(() => {
  window.__nvLast = Date.now();
  const mark = () => { window.__nvLast = Date.now(); };
  const start = () => new MutationObserver(mark).observe(document, {subtree: true, childList: true,
                                                                    attributes: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();"""

TARGETS = {"map_click": 1.0, "map_box": 1.0, "map_lasso": 1.0, "traversal_dim": 1.0, "gp_fit": 1.0,
           "controller_all_seeds": 3.0, "deep_link": 3.0, "floor_rerun": None, "floor_deep_link": None}

#: A deep link per page: what a shared URL of each page holds.
DEEP_LINKS = {
    "NB201 table": "/?cell=6111",  # the default page: its file name is no URL path ("Page not found")
    "Latent map": "/latent_map?space=nb201&embedding=nb201-arch2vec&projection=umap&cell=6111",
    "Latent traversal": "/traversal?space=nb201&model=nb201-bvae-beta1&anchor=6111",
    "Controller study": "/controller?space=nb201",
    "Correlations": "/correlations",
    "Distributions": "/distributions",
    "Search runs": "/runs",
    "Dense sampling": "/dense_sampling?space=nb201",
    "Learn": "/learn?lesson=3",
    "Cell editor": "/cell_editor?space=nb201&cell=6111",
}

FLOOR_APP = {
    "app.py": 'import streamlit as st\n\nst.set_page_config(page_title="floor", layout="wide")\n'
              'st.navigation([st.Page("pages/floor.py", title="floor")]).run()\n',
    "pages/floor.py": "import numpy as np\nimport plotly.graph_objects as go\nimport streamlit as st\n\n"
                      "st.title('Floor')\nseed = int(st.button('Redraw')) + st.session_state.get('n', 0)\n"
                      "st.session_state['n'] = seed\n"
                      "x, y, c = np.random.default_rng(seed).normal(size=(3, 15625)).astype(np.float32)\n"
                      "fig = go.Figure(go.Scattergl(x=x, y=y, mode='markers', marker=dict(color=c, size=4)))\n"
                      "st.plotly_chart(fig)\nst.caption(f'drawn {seed}')\n",
}


def now_ms() -> float:
    return time.time() * 1000.0


def busy(page) -> bool:
    """Streamlit still running a script or showing a spinner (main page only: components hold neither)."""
    return page.evaluate("""() => {
        const s = document.querySelector('[data-testid="stStatusWidget"]');
        if (s && /Running/i.test(s.textContent || '')) return true;
        if (document.querySelector('[data-testid="stSpinner"]')) return true;
        return !!document.querySelector('[data-stale="true"]');
    }""")


def last_change(page) -> float:
    latest = 0.0
    for fr in page.frames:
        try:
            latest = max(latest, float(fr.evaluate("() => window.__nvLast || 0")))
        except Exception:  # noqa: BLE001 - a frame detached while we asked
            continue
    return latest


def settle(page, t0: float, ready=None, timeout_s: float = 180.0) -> float:
    """Seconds from ``t0`` (ms, wall clock) to the page's last change, once ``ready()`` holds, nothing runs
    and nothing changed for QUIET_MS."""
    from playwright.sync_api import expect

    if ready is not None:
        ready()
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if not busy(page):
            last = last_change(page)
            if now_ms() - last >= QUIET_MS and not busy(page):
                expect(page.locator("[data-testid='stException']")).to_have_count(0, timeout=1)
                return round(max(last - t0, 0.0) / 1000.0, 3)
        page.wait_for_timeout(50)
    raise TimeoutError("the page did not settle")


def _map_plot(page):
    return page.frame_locator("iframe[title*='plotly_map']").first.locator(".js-plotly-plot").first


def _map_ready(page):
    import re

    from playwright.sync_api import expect

    expect(_map_plot(page).locator(".gl-container canvas").first).to_be_attached(timeout=180_000)
    expect(page.get_by_text(re.compile(r"cells in view \(points"))).to_be_visible(timeout=180_000)


def map_interactions(page, base: str, load) -> list[dict]:
    """Click, box and lasso on the NB201 map (its default view), each followed to the settled page."""
    import re

    from playwright.sync_api import expect

    out = []
    page.goto(f"{base}/latent_map?space=nb201")
    settle(page, now_ms(), lambda: _map_ready(page))
    plot = _map_plot(page)
    frame_box = page.locator("iframe[title*='plotly_map']").first.bounding_box()
    for k in (3, 5, 7):  # a different point each time: a click on the shown cell changes nothing
        xy = plot.evaluate(f"""g => {{
            const t = g._fullData.find(d => d.type === 'scattergl' && d.x && d.x.length > 1000);
            const L = g._fullLayout, r = g.getBoundingClientRect(), i = Math.floor(t.x.length * {k} / 11);
            return [r.left + L._size.l + L.xaxis.l2p(t.x[i]), r.top + L._size.t + L.yaxis.l2p(t.y[i])];
        }}""")
        page.mouse.move(xy[0] + frame_box["x"], xy[1] + frame_box["y"])
        hover = plot.locator(".hoverlayer .hovertext tspan.line").first
        expect(hover).to_have_text(re.compile(r"#\d+"))
        picked = hover.text_content()[1:]
        la = load()
        t0 = now_ms()
        page.mouse.click(xy[0] + frame_box["x"], xy[1] + frame_box["y"])
        s = settle(page, t0, lambda: expect(page.get_by_text(f"Cell #{picked}", exact=True)).to_be_visible(
            timeout=180_000))
        out.append({"what": "map_click", "seconds": s, "loadavg": la, "cell": int(picked)})
    previous = None
    for what, tool in (("map_box", "Box Select"), ("map_lasso", "Lasso Select")):
        kind = "box" if tool == "Box Select" else "lasso"
        for share in (0.42, 0.44, 0.46):  # ~6,800 of the 15,625 cells; a new selection each time
            # the points left of the x quantile `share`, in page pixels: a box, or a lasso around the same area
            x0, x1, y0, y1 = plot.evaluate(f"""g => {{
                const t = g._fullData.find(d => d.type === 'scattergl' && d.x && d.x.length > 1000);
                const xs = Array.from(t.x).sort((a, b) => a - b), ys = Array.from(t.y).sort((a, b) => a - b);
                const L = g._fullLayout, r = g.getBoundingClientRect();
                const px = v => r.left + L._size.l + L.xaxis.l2p(v), py = v => r.top + L._size.t + L.yaxis.l2p(v);
                const q = xs[Math.floor(xs.length * {share})], pad = (xs[xs.length - 1] - xs[0]) * 0.02;
                const padY = (ys[ys.length - 1] - ys[0]) * 0.02;
                return [px(xs[0] - pad), px(q), py(ys[ys.length - 1] + padY), py(ys[0] - padY)];
            }}""")
            fx, fy = frame_box["x"], frame_box["y"]
            corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)] if kind == "lasso" else [(x0, y0), (x1, y1)]
            plot.hover()
            plot.locator(f".modebar-btn[data-title='{tool}']").click()
            page.mouse.move(corners[0][0] + fx, corners[0][1] + fy)
            page.mouse.down()
            for cx, cy in corners[1:] + ([corners[0]] if kind == "lasso" else []):
                page.mouse.move(cx + fx, cy + fy, steps=8)
            la = load()
            t0 = now_ms()
            page.mouse.up()
            heading = page.get_by_text(re.compile(rf"^[\d,]+ cells selected \({kind}\)"))

            def ready():
                expect(heading).to_be_visible(timeout=180_000)
                if previous is not None:
                    expect(heading).not_to_have_text(previous, timeout=180_000)

            s = settle(page, t0, ready)
            previous = heading.inner_text()
            n = int(previous.split(" ")[0].replace(",", ""))
            out.append({"what": what, "seconds": s, "loadavg": la, "cells": n})
            page.mouse.move(5, 5)
            settle(page, now_ms())
    return out


def traversal_interactions(page, base: str, load) -> list[dict]:
    import re

    from playwright.sync_api import expect

    out = []
    page.goto(f"{base}/traversal?space=nb201&model=nb201-bvae-beta1&anchor=6111&dim=0")
    label = page.locator("input[aria-label^='Latent coordinate']")
    settle(page, now_ms(), lambda: expect(label).to_be_visible(timeout=180_000))
    for dim in (1, 2, 3, 4, 5):
        la = load()
        label.fill(str(dim))
        t0 = now_ms()
        label.press("Enter")
        s = settle(page, t0, lambda: page.wait_for_url(re.compile(rf"[?&]dim={dim}(&|$)"), timeout=180_000))
        out.append({"what": "traversal_dim", "seconds": s, "loadavg": la, "dim": dim})
    return out


def gp_interactions(page, base: str, load) -> list[dict]:
    from playwright.sync_api import expect

    out = []
    for r in range(3):
        page.goto(f"{base}/correlations")
        button = page.get_by_role("button", name="Fit the GPs")
        settle(page, now_ms(), lambda: expect(button).to_be_visible(timeout=180_000))
        la = load()
        t0 = now_ms()
        button.click()
        s = settle(page, t0, lambda: _wait_chart_titled(page, "GP on the embeddings", 300.0))
        out.append({"what": "gp_fit", "seconds": s, "loadavg": la, "first_on_server": r == 0})
    return out


def _wait_chart_titled(page, text: str, timeout_s: float) -> None:
    """Until a Plotly chart whose title holds ``text`` is drawn, in the page (st.plotly_chart) or in a chart
    component's frame (the lean charts of pages/_ui.chart)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for fr in page.frames:
            try:
                if fr.locator(".js-plotly-plot .gtitle", has_text=text).count():
                    return
            except Exception:  # noqa: BLE001 - a frame detached while we asked
                continue
        page.wait_for_timeout(50)
    raise TimeoutError(f"no chart titled {text!r} was drawn")


def controller_interactions(page, base: str, load) -> list[dict]:
    from playwright.sync_api import expect

    out = []
    for r in range(3):
        page.goto(f"{base}/controller?space=nb201")
        toggle = page.get_by_text("All seeds (mean ± std)")
        settle(page, now_ms(), lambda: expect(toggle).to_be_visible(timeout=180_000))
        la = load()
        t0 = now_ms()
        toggle.click()
        s = settle(page, t0)
        out.append({"what": "controller_all_seeds", "seconds": s, "loadavg": la, "first_on_server": r == 0})
    return out


def deep_links(browser, base: str, load, repeats: int, links: dict[str, str]) -> list[dict]:
    from playwright.sync_api import expect

    out = []
    for r in range(repeats):
        for name, link in links.items():
            ctx = browser.new_context(viewport=VIEWPORT)
            ctx.add_init_script(OBSERVER)
            page = ctx.new_page()
            la = load()
            t0 = now_ms()
            page.goto(base + link)
            s = settle(page, t0, lambda: expect(page.locator("h1").first).to_be_visible(timeout=180_000))
            out.append({"what": "deep_link", "page": name, "seconds": s, "loadavg": la, "first_on_server": r == 0})
            print(f"deep link {name}: {s:.2f} s, load {la}", flush=True)
            ctx.close()
    return out


def floor(browser, start_server, stop, wait_healthy, free_port, load, repeats: int) -> list[dict]:
    """The same harness on a bare Streamlit app: deep link into it, and a button rerun redrawing one
    15,625-point WebGL scatter."""
    from playwright.sync_api import expect

    out = []
    with tempfile.TemporaryDirectory() as d:
        for rel, text in FLOOR_APP.items():
            (Path(d) / rel).parent.mkdir(parents=True, exist_ok=True)
            (Path(d) / rel).write_text(text)
        port = free_port()
        proc = start_server(port, Path(d))
        try:
            wait_healthy(proc, port)
            base = f"http://127.0.0.1:{port}"
            out += deep_links(browser, base, load, repeats, {"floor": "/"})
            for row in out:
                row["what"] = "floor_deep_link"
            ctx = browser.new_context(viewport=VIEWPORT)
            ctx.add_init_script(OBSERVER)
            page = ctx.new_page()
            page.goto(base)
            settle(page, now_ms(), lambda: expect(page.get_by_text("drawn 0")).to_be_visible(timeout=60_000))
            for r in range(repeats):
                la = load()
                t0 = now_ms()
                page.get_by_role("button", name="Redraw").click()
                s = settle(page, t0, lambda: expect(page.get_by_text(f"drawn {r + 1}")).to_be_visible())
                out.append({"what": "floor_rerun", "seconds": s, "loadavg": la})
            ctx.close()
        finally:
            stop(proc)
    return out


def measure(start_server, stop, wait_healthy, free_port, load, chromium: str, args: list[str], repeats: int,
            only: set[str] | None = None) -> list[dict]:
    """Every interaction on one fresh nasviz server (as ./nasviz-app starts it), then the floor."""
    from playwright.sync_api import sync_playwright

    rows: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
        try:
            port = free_port()
            proc = start_server(port)
            try:
                wait_healthy(proc, port)
                base = f"http://127.0.0.1:{port}"
                for name, fn in (("map", map_interactions), ("traversal", traversal_interactions),
                                 ("gp", gp_interactions), ("controller", controller_interactions)):
                    if only and name not in only:
                        continue
                    ctx = browser.new_context(viewport=VIEWPORT)
                    ctx.add_init_script(OBSERVER)
                    page = ctx.new_page()
                    got = fn(page, base, load)
                    for g in got:
                        extra = {k: v for k, v in g.items() if k not in ("what", "seconds", "loadavg")}
                        print(f"{g['what']}: {g['seconds']:.2f} s, load {g['loadavg']} {extra}", flush=True)
                    rows += got
                    ctx.close()
                if not only or "deep" in only:
                    rows += deep_links(browser, base, load, repeats, DEEP_LINKS)
            finally:
                stop(proc)
            if not only or "floor" in only:
                rows += floor(browser, start_server, stop, wait_healthy, free_port, load, repeats)
        finally:
            browser.close()
    return rows


def summary(rows: list[dict]) -> dict:
    out = {}
    for what in TARGETS:
        got = [r for r in rows if r["what"] == what]
        if not got:
            continue
        v = [r["seconds"] for r in got]
        out[what] = {"median": round(statistics.median(v), 2), "min": round(min(v), 2), "max": round(max(v), 2),
                     "n": len(v), "target_s": TARGETS[what],
                     "loadavg": [round(statistics.median(r["loadavg"][0] for r in got), 2)]}
    for page in {r.get("page") for r in rows if r["what"] == "deep_link"}:
        v = [r["seconds"] for r in rows if r["what"] == "deep_link" and r.get("page") == page]
        out[f"deep_link:{page}"] = {"median": round(statistics.median(v), 2), "min": round(min(v), 2),
                                    "max": round(max(v), 2), "n": len(v), "target_s": TARGETS["deep_link"]}
    return out


LABELS = {
    "map_click": "NB201 map: click a point -> its diagram, metrics and neighbours drawn",
    "map_box": "NB201 map: box selection -> selection table and region drawn",
    "map_lasso": "NB201 map: lasso selection -> selection table and region drawn",
    "traversal_dim": "Traversal: change the latent coordinate -> every decoded diagram drawn",
    "gp_fit": "Correlations: 'Fit the GPs' (default inputs) -> GP chart drawn",
    "controller_all_seeds": "Controller: 'All seeds (mean ± std)' -> table and chart drawn",
    "deep_link": "Deep link, any page (fresh browser context, running server) -> page settled",
    "floor_rerun": "floor: bare Streamlit, a button rerun redrawing one 15,625-point WebGL scatter",
    "floor_deep_link": "floor: bare Streamlit, deep link into its one page (fresh browser context)",
}


def markdown(res: dict, history: list[dict]) -> str:
    s = res["summary"]
    lines = ["## Interaction speed in the browser (`benchmarks/bench_app.py --part interactions`)", "",
             "From the user's action in headless Chromium to the page's last change once it has settled (no "
             "script running, no spinner, nothing changed for 1 s in the page or its frames): what a user waits "
             "for, not the server's script time. One fresh server started as `./nasviz-app` does; each "
             "interaction repeated on it. Load = median 1-minute load average over the samples.", "",
             f"Run {res['started']} UTC at commit {res['commit']}, load at start {res['loadavg_start']}.", "",
             "| interaction | median (s) | min | max | n | load | target |", "|---|---|---|---|---|---|---|"]
    for what, label in LABELS.items():
        if what in s:
            v = s[what]
            t = f"<= {v['target_s']:g} s" if v["target_s"] else "(floor)"
            met = "" if not v["target_s"] else (" met" if v["median"] <= v["target_s"] else " **not met**")
            if what == "deep_link" and v["target_s"]:  # the target is for every page, not for the median of all
                over = [k.split(":", 1)[1] for k in s if k.startswith("deep_link:")
                        and s[k]["median"] > v["target_s"]]
                met = (" met by the median of all; **not met** by " + ", ".join(sorted(over))) if over else met
            lines.append(f"| {label} | {v['median']} | {v['min']} | {v['max']} | {v['n']} | {v['loadavg'][0]} | "
                         f"{t}{met} |")
    floors = [(w, f) for w, f in (("map_click", "floor_rerun"), ("map_box", "floor_rerun"),
                                  ("map_lasso", "floor_rerun"), ("deep_link", "floor_deep_link")) if w in s and f in s]
    if floors:
        lines += ["", "Against the floor of the same run: " + "; ".join(
            f"{w} {s[w]['median']} s vs {s[f]['median']} s ({s[w]['median'] - s[f]['median']:+.2f} s)"
            for w, f in floors) + "."]
        below = [w for w, f in floors if s[f]["median"] > (TARGETS[w] or 0)]
        if below:
            lines.append(f"In this run the floor itself is above the target of {', '.join(below)}: a bare Streamlit "
                         "page doing the same kind of update does not meet it on this machine.")
    pages = sorted(k for k in s if k.startswith("deep_link:"))
    if pages:
        lines += ["", "Deep links per page (median / max of the repeats, s): "
                  + "; ".join(f"{k.split(':', 1)[1]} {s[k]['median']} / {s[k]['max']}" for k in pages) + "."]
    firsts = [r for r in res["rows"] if r.get("first_on_server") and r["what"] in ("gp_fit", "controller_all_seeds")]
    if firsts:
        lines += ["", "First time on the server (computed, not cached) vs the repeats: " + "; ".join(
            f"{LABELS[r['what']].split(':')[0]} {r['what']} {r['seconds']} s" for r in firsts) + "."]
    if history:
        lines += ["", "Run history (`benchmarks/results/app_interactions_runs.jsonl`, medians in s):", "",
                  "| run (UTC) | commit | load | " + " | ".join(k for k in TARGETS) + " |",
                  "|---|---|---|" + "---|" * len(TARGETS)]
        for h in history:
            lines.append(f"| {h['started']} | {h['commit']} | {h['loadavg_start'][0]} | "
                         + " | ".join(str(h['medians'].get(k, '')) for k in TARGETS) + " |")
    return "\n".join(lines) + "\n"


def render(results: Path) -> str:
    """Rewrite app_interactions.md from the stored JSON and history (no measuring)."""
    res = json.loads((results / "app_interactions.json").read_text())
    runs = results / "app_interactions_runs.jsonl"
    history = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    md = markdown(res, history)
    (results / "app_interactions.md").write_text(md)
    return md


def write(res: dict, results: Path) -> str:
    runs = results / "app_interactions_runs.jsonl"
    with runs.open("a") as f:
        f.write(json.dumps({"started": res["started"], "commit": res["commit"], "loadavg_start": res["loadavg_start"],
                            "medians": {k: v["median"] for k, v in res["summary"].items() if ":" not in k}}) + "\n")
    history = [json.loads(line) for line in runs.read_text().splitlines() if line.strip()]
    (results / "app_interactions.json").write_text(json.dumps(res, indent=2) + "\n")
    md = markdown(res, history)
    (results / "app_interactions.md").write_text(md)
    return md

"""Helpers shared by several test modules (imported as ``_helpers``: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path

from streamlit.testing.v1 import AppTest

from nasviz.search.store import RunState


def run_page(script: str, at: AppTest | None = None, timeout: float = 300) -> AppTest:
    """Run (or rerun) a page's AppTest and fail on any exception it raised."""
    if at is None:  # (an AppTest is falsy before its first run)
        at = AppTest.from_file(script, default_timeout=timeout)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


class TrialGate:
    """The file of :data:`nasviz.search.jobs.TRIAL_GATE_ENV`: a worker started while it is set holds once its run
    has ``allowed`` trials (distribution steps), so a kill or cancel lands at an exact trial and the run can
    never finish before it. ``open()`` lets the run (or its resume) go on to the end."""

    def __init__(self, monkeypatch, path, allowed: int) -> None:
        from nasviz.search.jobs import TRIAL_GATE_ENV

        self.path = path
        self.allow(allowed)
        monkeypatch.setenv(TRIAL_GATE_ENV, str(path))  # workers inherit this process's environment

    def allow(self, n: int) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(int(n)))
        tmp.replace(self.path)  # atomic: the worker never reads a half-written number

    def open(self) -> None:
        self.allow(10**9)


def wait_stored(store, rid, n, timeout=600, unit="trials"):
    """Poll until run ``rid`` is running with exactly ``n`` stored trials (held at a :class:`TrialGate` of ``n``).

    The gate, not this wait, decides when the run stops; ``timeout`` only guards against a hung worker, so it is
    generous: at load ~20 on the shared 2 cores a worker took over two minutes to import torch and start."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        r = store.get_run(rid)
        got = store.n_trials(rid)
        assert got <= n, f"run {rid} stored {got} {unit}, past its gate of {n}"
        assert not r.state.finished, f"run finished before it could be interrupted: {r}"
        if r.state == RunState.RUNNING and got == n:
            return r
        time.sleep(0.05)
    raise AssertionError(f"run {rid} never stored {n} {unit}")


def wait_healthy(proc: subprocess.Popen, url: str, log: str | Path, timeout: float = 90) -> None:
    """Wait until the Streamlit server ``proc`` answers ``url``/_stcore/health; fail with the tail of its ``log``
    file if it exits first or is not healthy within ``timeout`` seconds."""
    import pytest

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the app exited with {proc.returncode}:\n{Path(log).read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the app was not healthy after {timeout:g} s:\n{Path(log).read_text()[-4000:]}")
        time.sleep(0.3)


def stop_server(proc: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it has not exited within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def diagrams(at: AppTest) -> list[str]:
    """The SVG of every cell diagram on the page, in page order: pages/_ui.graph renders them on the server
    with Graphviz and shows each as an image (a data URI), so the SVG is what the browser draws."""
    import base64

    head = "data:image/svg+xml;base64,"
    return [base64.b64decode(img.url[len(head):]).decode() for el in at.get("image") for img in el.proto.imgs
            if img.url.startswith(head)]


def _elements(node):
    """Every element under an AppTest node, in page order."""
    children = getattr(node, "children", None)
    if not children:
        yield node
        return
    for child in children.values():
        yield from _elements(child)


def chart_args(at: AppTest) -> list[tuple[str, dict]]:
    """Every Plotly chart on the page in page order, as ``(kind, args)``: ``("plotly_chart", {"spec", "config"})``
    for st.plotly_chart, ``("component", component args)`` for the chart component of pages/_plotly_map (the
    latent map, and the charts pages/_ui.chart draws with the lean plotly.js)."""
    import json

    out = []
    for el in _elements(at._tree):
        if el.type == "plotly_chart":
            out.append(("plotly_chart", {"spec": el.proto.spec, "config": el.proto.config, "id": el.proto.id}))
        elif el.type == "component_instance" and el.proto.component_name.endswith("plotly_map"):
            args = json.loads(el.proto.json_args)
            if "spec_urls" in args:  # several figures in one frame (pages/_ui.charts): one entry per figure
                out += [("component", {"spec_url": u, "config": json.dumps(c), "overlay": "[]", "group": True})
                        for u, c in zip(json.loads(args["spec_urls"]), json.loads(args["configs"]))]
            else:
                out.append(("component", args))
    return out


def figures(at: AppTest) -> list[dict]:
    """Every Plotly figure on the page in page order, as drawn: a component's figure is read from the file the
    browser fetches, with its overlay traces (the map's star and neighbours) after its own."""
    import json

    from pages._plotly_map import read_figure

    out = []
    for kind, args in chart_args(at):
        if kind == "plotly_chart":
            out.append(json.loads(args["spec"]))
        else:
            fig = read_figure(args)
            fig["data"] = fig["data"] + json.loads(args.get("overlay") or "[]")
            out.append(fig)
    return out


def chart_configs(at: AppTest) -> list[dict]:
    """The Plotly config (toolbar, download format and name) of every chart on the page, in page order."""
    import json

    return [json.loads(args["config"]) for _, args in chart_args(at)]


def html_tables(at: AppTest):
    """Every HTML table on the page (``pages/_ui.small_table`` and ``cell_list``) as a DataFrame of its text
    (columns drawn as numbers parsed, "–" as NaN), with a ``diagram`` column: whether the row unfolds a cell diagram (in the row under it)."""
    from html.parser import HTMLParser

    import pandas as pd

    class _Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.cell, self.row, self.in_cell, self.img = [], None, None, False, False
            self.diagram_row = False

        def handle_starttag(self, tag, attrs):
            if tag == "table" and ("class", "nv-cells") in attrs:
                self.tables.append({"head": [], "rows": []})
            elif tag in ("th", "td"):
                self.cell, self.in_cell, self.img = "", True, False
                self.num = ("class", "num") in attrs
            elif tag == "tr":
                self.row = []
                self.diagram_row = ("class", "nv-diagram") in attrs
            elif tag == "img" and self.in_cell and dict(attrs).get("src", "").startswith("data:image/svg+xml"):
                self.img = True

        def handle_data(self, data):
            if self.in_cell:
                self.cell += data

        def handle_endtag(self, tag):
            if tag == "th":
                self.tables[-1]["head"].append(self.cell)
                self.in_cell = False
            elif tag == "td":
                self.row.append((self.cell, self.img, self.num))
                self.in_cell = False
            elif tag == "tr" and self.row:
                if self.diagram_row:  # the diagram unfolded under the row before
                    rows = self.tables[-1]["rows"]
                    rows[-1][0] = (rows[-1][0][0], self.row[0][1], rows[-1][0][2])
                else:
                    self.tables[-1]["rows"].append(self.row)
                self.row = None

    out = []
    for el in at.get("html"):
        p = _Parser()
        p.feed(el.proto.body)
        for t in p.tables:
            frame = pd.DataFrame([[v for v, _, _ in r] for r in t["rows"]], columns=t["head"])
            for j, c in enumerate(frame.columns):  # a column of numbers (drawn as such; "–" is a missing one)
                if t["rows"] and all(r[j][2] for r in t["rows"]):
                    frame[c] = pd.to_numeric(frame[c].replace("–", None), errors="raise")
            frame["diagram"] = [r[0][1] for r in t["rows"]]
            out.append(frame)
    return out

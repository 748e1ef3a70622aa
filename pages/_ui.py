"""What every page shares: figure downloads (PNG/SVG) and view state kept in the URL.

Not a page (st.navigation in app.py lists the pages). Figures are built by ``nasviz.viz``;
this module only puts them on the page the same way everywhere:

* :func:`chart` draws a Plotly figure whose toolbar camera button downloads it as PNG or
  SVG (the sidebar's "Figure downloads" choice, session state :data:`FORMAT`), rendered in
  the browser by Plotly itself, with a file name that says what the figure is;
* :func:`diagram` draws a Graphviz cell diagram with SVG and PNG download buttons
  (rendered by ``dot`` when the Graphviz binary is installed);
* :func:`from_url` / :func:`to_url` keep a page's key choices in the query string, so a
  copied URL opens the same view: a widget starts from its query parameter (when valid)
  the first time a session shows it, and the page writes its current choices back.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.viz.diagrams import dot_available, render, render_svgs
from nasviz.viz.markdown import escape_markdown

log = logging.getLogger("nasviz.app")
_logged_runs: set[tuple[str, int]] = set()


def one_line(e: BaseException | str) -> str:
    """The message a browser user sees for an error: one line, never a traceback."""
    text = str(e).strip()
    first = text.splitlines()[0].strip() if text else ""
    if isinstance(e, NasvizError) or isinstance(e, str):
        return first or "error"
    return (f"Something went wrong on this page ({type(e).__name__}{': ' + first if first else ''}); the details "
            "are in the server's log.")


def guarded(fn: Callable) -> Callable:
    """For the body of an ``st.fragment``: an error shows as one line and its trace goes to the server log, as
    :func:`run_page` does for a page (a fragment catches errors itself and would show Streamlit's traceback,
    and a fragment-only rerun never reaches ``run_page``). Streamlit's rerun/stop (BaseExceptions) pass."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            log.exception("section %s failed", getattr(fn, "__qualname__", fn))
            st.error(escape_markdown(one_line(e)))
    return wrapper


def run_page(page) -> None:
    """Run the page st.navigation picked; an error it raises shows as one line, its trace goes to the server log."""
    try:
        page.run()
    except Exception as e:  # noqa: BLE001 - Streamlit's rerun/stop are BaseExceptions and pass through
        log.exception("page %s failed", getattr(page, "title", page))
        st.error(escape_markdown(one_line(e)))


def failed_run(run) -> None:
    """A failed background run in one line; its traceback goes to the server's log (once per run and process)."""
    st.error(escape_markdown(f"Run #{run.id} failed: {one_line(run.error or 'no message')}"))
    key = (int(run.id), run.error, run.traceback)  # runs carry no store path: two stores' run #1 differ by content
    if run.traceback and key not in _logged_runs:
        _logged_runs.add(key)
        log.error("run #%s failed:\n%s", run.id, run.traceback)

def _leave_legacy_pages_mode() -> None:
    """Run every session through app.py, also the first one of a fresh server opened on a page URL.

    Streamlit (1.67: ``PagesManager.uses_pages_directory``, ``script_runner._mpa_v1``) serves a
    session from its legacy ``pages/``-folder mode until some session in the process has called
    ``st.navigation``: a shared link such as ``/latent_map?...`` opened first on a fresh server
    would run the page without app.py (no wide layout, no sidebar choices, a menu of file names
    with this module in it). The first page to import this module in that mode switches the
    legacy mode off and reruns, now through app.py, on the same page and query string.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()

FORMAT = "figure_format"  # session-state key of the sidebar's PNG/SVG choice (set in app.py)
FORMATS = ("png", "svg")


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "figure"


def figure_format() -> str:
    fmt = st.session_state.get(FORMAT, "png")
    return fmt if fmt in FORMATS else "png"


def code_line(text: str) -> None:
    """A cell string or JSON as inline code in markdown: ``st.code`` would load Streamlit's 1.5 MB syntax
    highlighter in the browser for a one-line string (on a deep link, before the page finishes)."""
    text = str(text)
    fence = "``" if "`" in text else "`"
    st.markdown(f"{fence}{text}{fence}")


#: characters of cell strings and specs (NB201's ``|op~0|``, NB101 JSON): such table text is shown as code
_CODE_LIKE = re.compile(r"[~|*_`\[\]<]")


def small_table(frame) -> None:
    """A few rows as a static HTML table (no index), drawn with the rerun that sends it: ``st.dataframe``'s
    canvas grid paints again ~0.2-0.3 s after the rest of the page (and loads 1.2 MB of JavaScript the first
    time), and ``st.table`` renders every cell as Markdown (a bare Streamlit page rerunning a 100 x 7 table took
    0.46 s to settle in Chromium with ``st.table``, 0.34 s with ``st.dataframe``, 0.21 s as one HTML table).
    Floats show 4 significant digits (a collapsed embedding's 2e-9 is not 0.0000); cell strings show verbatim
    in code."""
    _html_table(frame)


def chart_config(name: str) -> dict:
    """Plotly's config for a figure downloaded as ``nasviz-<name>.png`` or ``.svg`` from its toolbar."""
    return {"displaylogo": False,
            "toImageButtonOptions": {"format": figure_format(), "filename": f"nasviz-{_file_name(name)}",
                                     "scale": 2 if figure_format() == "png" else 1}}


#: trace types the lean plotly.js build draws (pages/_plotly_map: plotly.js core + scattergl, heatmap, bar, histogram)
LEAN_TRACES = frozenset({"scatter", "scattergl", "heatmap", "bar", "histogram"})


def chart(fig, *, key: str, name: str | None = None, lean: bool = True, **kwargs):
    """A Plotly chart with the download format and a file name; ``name`` defaults to ``key``.

    Lean (the default): a figure of scatter, scattergl, heatmap, bar and histogram traces only is drawn by the
    latent map's component with its 1.56 MB plotly.js instead of Streamlit's 4.7 MB one, which takes ~1.8 s to
    load in the browser before a page's first chart (deep links into the chart-heavy pages went from 5.6-6.7 s to
    2.7-3.3 s, BENCHMARKS). Its frame is drawn anew whenever the figure changes, so a chart that updates while a
    run goes passes ``lean=False`` for ``st.plotly_chart``, as does a figure with other trace types or with
    ``st.plotly_chart`` arguments (``kwargs``). ``fig`` may also be :func:`lean_spec`'s JSON (a cached figure)."""
    if isinstance(fig, str) or (lean and not kwargs and all((t.type or "scatter") in LEAN_TRACES for t in fig.data)):
        from pages import _plotly_map

        # no widget key: a chart that reports nothing needs no state, and a keyed component frame that moves
        # on the page (a rerun adding elements above it) is mounted again without being sent its arguments
        return _plotly_map.plotly_map(fig if isinstance(fig, str) else lean_spec(fig), key=None,
                                      config=chart_config(name or key), events=False)
    return st.plotly_chart(fig, key=key, config=chart_config(name or key), **kwargs)


def charts(items: list[tuple]) -> None:
    """Consecutive charts, each ``(fig, name)``, drawn as :func:`chart` draws them but in one frame when all are
    lean: a frame per chart loads and evaluates the lean plotly.js once each (~0.3 s apiece in headless Chromium
    on the benchmark machine), which made a page of four charts the slowest deep link (BENCHMARKS)."""
    from pages import _plotly_map

    # a figure may come as lean_spec()'s JSON already (a page caching a costly figure)
    figs = [f for f, _ in items if not isinstance(f, str)]
    if len(items) < 2 or not all(all((t.type or "scatter") in LEAN_TRACES for t in f.data) for f in figs):
        for fig, name in items:
            chart(fig, key=name, name=name)
        return
    _plotly_map.plotly_charts([f if isinstance(f, str) else lean_spec(f) for f, _ in items],
                              [chart_config(n) for _, n in items])


def lean_spec(fig) -> str:
    """A figure of :data:`LEAN_TRACES` as the JSON the lean chart component draws (Streamlit's look instead of
    plotly's default template, as :func:`chart` gives it): what a page can cache for :func:`charts`."""
    import plotly.io as pio

    from pages import _plotly_map

    if fig.layout.template == pio.templates["plotly"]:  # Streamlit's chart restyles plotly's default look
        fig.update_layout(template="plotly_white")
    return _plotly_map.figure_json(fig)


#: SVGs of the diagrams drawn so far, by DOT source (the same cell drawn again is not rendered again)
_SVGS: OrderedDict[str, str] = OrderedDict()
_SVG_LOCK = threading.Lock()
_SVG_MAX = 4096
#: the alt text of every cell diagram drawn as an image (tests and tools find the diagrams by it)
DIAGRAM_ALT = "Cell diagram"


def svgs(dots: list[str]) -> list[str] | None:
    """The SVG of each DOT graph, rendered on the server with Graphviz (new ones in one ``dot`` run) and kept;
    None without the ``dot`` binary or when it fails (the caller falls back to the browser's renderer)."""
    if not dot_available():
        return None
    with _SVG_LOCK:
        missing = [d for d in dict.fromkeys(dots) if d not in _SVGS]
    if missing:
        try:
            rendered = render_svgs(missing)
        except (NasvizError, OSError) as e:
            log.warning("server-side diagram rendering failed (%s); the browser draws them", e)
            return None
        with _SVG_LOCK:
            _SVGS.update(zip(missing, rendered))
            while len(_SVGS) > _SVG_MAX:
                _SVGS.popitem(last=False)
    with _SVG_LOCK:
        out = [_SVGS.get(d) for d in dots]
    return None if any(o is None for o in out) else out


def graph(dot: str, svg: str | None = None, width: str | int = "content") -> None:
    """One cell diagram: an SVG drawn on the server (``svg``, or rendered now), shown as an image that
    Streamlit's fullscreen button enlarges; Streamlit's in-browser Graphviz only where ``dot`` is missing
    (it loads a WebAssembly Graphviz into the page before its first diagram). New diagrams cost the server one
    ``dot`` run per page (:func:`svgs`); a diagram drawn before costs nothing."""
    if svg is None:
        got = svgs([dot])
        svg = got[0] if got else None
    if svg is None:
        st.graphviz_chart(dot, width=width)
    else:
        st.image(svg, alt=DIAGRAM_ALT, width=width)


def diagram(dot: str, *, name: str, key: str, width: str | int = "content") -> None:
    """A cell diagram, with its SVG and PNG as downloads (rendered only when clicked)."""
    graph(dot, width=width)
    if dot_available():
        base = f"nasviz-{_file_name(name)}"
        c1, c2 = st.columns(2)
        c1.download_button("SVG", lambda: render(dot, "svg"), f"{base}.svg", mime="image/svg+xml",
                           key=f"{key}_svg", icon=":material/download:")
        c2.download_button("PNG", lambda: render(dot, "png"), f"{base}.png", mime="image/png",
                           key=f"{key}_png", icon=":material/download:")


def cell_of_row(space: str, row: dict):
    """The cell a table row names: its ``cell`` string when it has one (search trials: an NB101 trial's
    ``index`` is a row of the benchmark's sample, not of the space), else its ``index`` in the space."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    text = row.get("cell")
    if isinstance(text, str) and text.strip():
        return sp.parse(text)
    try:
        return sp.cell(int(row["index"]))
    except (KeyError, TypeError, ValueError, OverflowError) as e:
        raise NasvizError("this row names no cell") from e


def cell_table(frame, *, space: str, key: str, scope: str | None = None, **kwargs) -> None:
    """A table of cells where clicking a row shows that cell's diagram under it: a cell id or string says
    nothing by itself ("I don't know (4, 0, 3, 1, 4, 3) represents what architecture", NASLib #144).

    Streamlit keeps a keyed table's selection across reruns by its key alone, so the key carries what the table
    lists: ``scope`` when given (a table that only grows, such as a live run's trials: its rows keep their
    positions), else a digest of the rows' cells (a new box or neighbourhood starts with no row selected instead
    of drawing whatever cell now sits in the old row)."""
    import hashlib

    import pandas as pd

    from nasviz.viz.diagrams import cell_dot

    kwargs.setdefault("hide_index", True)
    if scope is None:
        names = [c for c in ("cell", "index", "arch") if c in frame.columns]
        cells = pd.util.hash_pandas_object(frame[names], index=False).to_numpy().tobytes() if names else b""
        scope = hashlib.sha1(cells).hexdigest()[:10]
    event = st.dataframe(frame, key=f"{key}-{scope}", on_select="rerun", selection_mode="single-row", **kwargs)
    rows = list(getattr(getattr(event, "selection", None), "rows", None) or [])
    if not rows or rows[0] >= len(frame):
        st.caption("Click a row to see that cell's diagram.")
        return
    row = frame.iloc[rows[0]].to_dict()
    try:
        cell = cell_of_row(space, row)
    except (NasvizError, ValueError) as e:
        st.caption(f"Row {rows[0] + 1}: {escape_markdown(one_line(e))}")
        return
    from nasviz.spaces import get_space

    index = int(get_space(space).index(cell))
    st.markdown(f"**Row {rows[0] + 1}: cell #{index}**")
    diagram(cell_dot(space, cell), name=f"{space}-cell-{index}", key=f"{key}_diagram")


#: the look of :func:`cell_list` (st.html puts it in the page itself, so the rules are scoped to its class)
_CELL_LIST_CSS = """<style>
.nv-cells-wrap {overflow-x: auto; max-width: 100%; container-type: inline-size}
.nv-cells {border-collapse: collapse; font-size: 0.9rem; margin-bottom: 0.5rem}
.nv-cells th, .nv-cells td {border-bottom: 1px solid rgba(128, 128, 128, 0.25); padding: 0.15rem 0.6rem;
  text-align: left; vertical-align: top}
.nv-cells td.num {text-align: right; font-variant-numeric: tabular-nums}
.nv-cells td.num:first-child {text-align: left}
.nv-cells summary {cursor: pointer; white-space: nowrap}
.nv-cells td code {font-size: 0.8rem; white-space: nowrap}
.nv-cells tr.nv-diagram {display: none}
.nv-cells tr:has(details[open]) + tr.nv-diagram {display: table-row}
.nv-cells tr.nv-diagram img {display: block; max-width: min(480px, 100cqw - 1.2rem); max-height: 420px;
  margin: 0.2rem 0; background: white; position: sticky; left: 0.6rem}
</style>"""


def _list_value(value) -> tuple[str, bool]:
    """A table value as HTML text (floats to 4 significant digits, strings escaped, cell strings as code)
    and whether it is a number (right-aligned)."""
    import html
    import math
    import numbers

    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–", True
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # Python's or numpy's
        return ("yes" if value else "no"), False
    if isinstance(value, numbers.Integral):
        return str(int(value)), True
    if isinstance(value, numbers.Real):
        return f"{float(value):.4g}", True
    text = html.escape(str(value))
    return (f"<code>{text}</code>" if _CODE_LIKE.search(str(value)) else text), False


def cell_list(frame, *, space: str) -> None:
    """A few rows of cells as a static HTML table whose first column opens the row's cell diagram in place:
    clicking the cell's number unfolds the diagram in a row under it (an HTML ``<details>`` and a CSS ``:has()``
    rule; no rerun, no server round trip), so a cell id is never shown without its architecture (NASLib #144).
    Drawn with the rerun that sends it: no canvas grid to load and paint as :func:`cell_table`
    (``st.dataframe``) has, which cost a box selection on the map ~0.3 s and a deep link the grid's 1.2 MB of
    JavaScript. For short lists (the diagrams travel with the page,
    ~7 KB each, rendered on the server by one ``dot`` run and cached); long or sortable lists use
    :func:`cell_table`. Without Graphviz the table is shown without diagrams."""
    from nasviz.viz.diagrams import cell_dot

    rows = frame.to_dict("records")
    cells = []
    for row in rows:
        try:
            cells.append(cell_of_row(space, row))
        except (NasvizError, ValueError):
            cells.append(None)
    dots = [cell_dot(space, c) for c in cells if c is not None]
    got = iter(svgs(dots) or []) if dots else iter(())
    _html_table(frame, [next(got, None) if c is not None else None for c in cells])


def _html_table(frame, diagrams: list[str | None] | None = None) -> None:
    """``frame`` (no index) as one HTML table (:func:`small_table`, :func:`cell_list`); ``diagrams``: an SVG
    or None per row, unfolded under the row by a click on its first cell."""
    import base64
    import html

    rows = frame.to_dict("records")
    diagrams = diagrams or [None] * len(rows)
    columns = list(frame.columns)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row, svg in zip(rows, diagrams):
        tds = []
        for j, c in enumerate(columns):
            text, num = _list_value(row[c])
            if j == 0 and svg is not None:  # the row under it (shown while this is open, by CSS) holds the diagram
                text = f'<details><summary title="Click to show this cell\'s diagram">{text}</summary></details>'
            tds.append(f'<td class="num">{text}</td>' if num else f"<td>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
        if svg is not None:
            src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
            body.append(f'<tr class="nv-diagram"><td colspan="{len(columns)}"><img alt="{DIAGRAM_ALT}" '
                        f'loading="lazy" decoding="async" src="{src}"></td></tr>')  # loaded when unfolded
    st.html(f'{_CELL_LIST_CSS}<div class="nv-cells-wrap"><table class="nv-cells"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def from_url(key: str, param: str, default: Any, *, parse: Callable[[str], Any] = str,
             valid: Callable[[Any], bool] | None = None, many: bool = False) -> None:
    """Start widget ``key`` from query parameter ``param`` the first time this session shows it.

    ``many``: a comma-separated list (multiselects), each item parsed and validated. A value
    that does not parse or is not ``valid`` falls back to ``default`` with a toast saying so: a hand-edited URL
    never breaks the page. Widgets started this way must not also pass a default of their own.
    """
    if key in st.session_state:
        return
    raw = st.query_params.get(param)
    value = default
    if raw is not None:
        try:
            if many:
                got = [parse(s) for s in raw.split(",") if s.strip()]
                ok = all(valid(v) for v in got) if valid else True
            else:
                got = parse(raw)
                ok = valid(got) if valid else True
        except (TypeError, ValueError):
            ok = False
        if ok:
            value = got
        elif raw != st.session_state.get(_URL_WRITTEN, {}).get(param):
            # said, not silent: a mistyped link otherwise looks as if it had worked (a value this session's own
            # to_url left for another space's widget, e.g. after a space switch, is not the user's link)
            shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else str(default)
            st.toast(f"This link's {param}={raw[:40]!r}{'...' if len(raw) > 40 else ''} cannot be used here; the page "
                     f"starts from its default ({shown[:60]}) instead.", icon="⚠️", duration=12)
    st.session_state[key] = value


#: session state: the URL values this session's pages wrote (from_url raises no toast for its own leftovers)
_URL_WRITTEN = "_nv_url_written"


def to_url(**params: Any) -> None:
    """Write the page's current choices into the URL (lists comma-joined; ``None`` removes a parameter)."""
    written = st.session_state.setdefault(_URL_WRITTEN, {})
    for k, v in params.items():
        if v is None:
            if k in st.query_params:
                del st.query_params[k]
            continue
        text = ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)
        written[k] = text
        if st.query_params.get(k) != text:
            st.query_params[k] = text


def one_of(options: Iterable) -> Callable[[Any], bool]:
    opts = list(options)
    return lambda v: v in opts


def in_range(lo: float, hi: float) -> Callable[[Any], bool]:
    return lambda v: lo <= v <= hi

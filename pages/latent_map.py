"""Latent map: every cell of a space at its 2-D projection, coloured by a benchmark column."""

import json
import time

import numpy as np
import streamlit as st

from nasviz.errors import NasvizError
from nasviz.viz import maps
from nasviz.viz.diagrams import cell_dot
from nasviz.viz.markdown import escape_markdown
from pages import _map_data, _plotly_map, _ui

SPACES = tuple(maps.SPACE_LABELS)
CHART, CELL, REGION, SHOWN = "map_chart", "map_cell", "map_region", "map_shown"
PARETO_CHART, TYPED_BOX = "map_pareto_chart", "map_typed_box"
TABLE_ROWS = 20_000  # rows of the selection table sent to the browser
BEST_ROWS = 10  # the selection's best cells, listed with their diagrams
SEARCH_REGION = "search_region"  # what the search pages read (format: nasviz.viz.maps module docstring)
T0 = time.perf_counter()  # server time of this run, shown at the bottom (and read by benchmarks/bench_app.py)


bench, frame, sources, source, labels_for = (_map_data.bench, _map_data.frame, _map_data.sources,
                                           _map_data.source, _map_data.labels_for)


def _on_select() -> None:
    """Chart callback: a clicked cell is shown; a box/lasso becomes the selection (maps.selection_effect)."""
    sel = _plotly_map.selection(st.session_state.get(CHART))
    ctx = st.session_state.get(SHOWN)
    if ctx is None:
        return
    space, name, proj, shown = ctx
    effect = maps.selection_effect(sel, source(space, name)[proj], shown, space=space, embedding=name,
                                   projection=proj)
    if effect is None:  # a click on no cell (a density bin): nothing changes
        return
    kind, value = effect
    if kind == "cell":
        st.session_state[CELL] = str(value)
    else:
        st.session_state[REGION] = value


def _on_pareto_select() -> None:
    """Pareto chart callback: a clicked point shows its cell, as a click on the map does."""
    cell = maps.clicked_cell(_plotly_map.selection(st.session_state.get(PARETO_CHART)))
    if cell is not None:
        st.session_state[CELL] = str(cell)


def _on_typed_box() -> None:
    """'Select this box': the box is applied before the map is drawn in the rerun this click starts."""
    st.session_state[TYPED_BOX] = tuple(float(st.session_state[k]) for k in ("map_bx0", "map_bx1", "map_by0",
                                                                              "map_by1"))


def _percent(text: str) -> float:
    v = float(text)
    if not 0.1 <= v <= 100:
        raise ValueError(text)
    return v


def _box_from_url() -> tuple[tuple[float, float], tuple[float, float]] | None:
    """``box=x0,x1,y0,y1`` of a shared URL, or None when absent or not four numbers."""
    try:
        v = [float(x) for x in st.query_params.get("box", "").split(",")]
    except ValueError:
        return None
    return ((min(v[:2]), max(v[:2])), (min(v[2:]), max(v[2:]))) if len(v) == 4 and np.isfinite(v).all() else None


st.title("Latent map")
st.markdown(
    "Every cell of the search space placed at the 2-D projection of its latent embedding and coloured by a real "
    "benchmark result: the view of arch2vec's Fig. 4 (Yan et al. 2020), where nearby points should be similar "
    "cells with similar accuracy. Click a point to see its diagram, metrics and nearest neighbours in the "
    "latent space; drag a box or lasso to list the cells inside and hand them to a search as its region."
)

_ui.from_url("map_space", "space", "nb201", valid=_ui.one_of(SPACES))
c1, c2, c3, c4 = st.columns([1.3, 1.6, 0.8, 1.3])
space = c1.radio("Space", SPACES, format_func=maps.SPACE_LABELS.get, key="map_space", horizontal=True)
with st.spinner(f"Loading the {space} table and embeddings..."):
    srcs = {s.name: s for s in sources(space)}
    table = frame(space)
names = list(srcs)
preferred = _map_data.preferred_source(space, names)
_ui.from_url(f"map_source_{space}", "embedding", preferred, valid=_ui.one_of(srcs))
name = c2.selectbox("Embedding", names, key=f"map_source_{space}", format_func=lambda n: srcs[n].label,
                    help="Precomputed latent means in data/embeddings/ (nasviz embed), plus the plain one-hot "
                         "encoding of the cell for comparison.")
projs = srcs[name].projections
_ui.from_url(f"map_proj_{space}_{name}", "projection", projs[0], valid=_ui.one_of(projs))
proj = c3.selectbox("Projection", projs, format_func=maps.PROJECTION_LABELS.get, key=f"map_proj_{space}_{name}")
if srcs[name].note(proj):
    st.caption(f"{maps.PROJECTION_LABELS.get(proj, proj)}: {srcs[name].note(proj)}.")
colour_options = maps.numeric_columns(table)
_ui.from_url(f"map_colour_{space}", "colour", maps.default_color(space, table), valid=_ui.one_of(colour_options))
colour = c4.selectbox("Colour by", colour_options, key=f"map_colour_{space}")
has_result = np.isfinite(table[maps.default_color(space, table)].to_numpy(dtype=np.float64))
sample_only = False
if not has_result.all():  # NB101: real results exist for the benchmark's sample only
    i1, i2 = st.columns([3, 1])
    i1.info(f"{maps.SPACE_LABELS[space]}: all {len(table):,} cells are placed on the map, but real benchmark "
            f"results exist for the {int(has_result.sum()):,}-cell sample only; the other cells have no accuracy "
            "(grey, 'no result' in tables).", icon="ℹ️")
    sample_only = i2.toggle("Sample cells only", False, key=f"map_sample_only_{space}",
                            help="Show, select and list only the cells that have real benchmark results.")

with st.expander("Filters", expanded=False):
    f1, f2, f3 = st.columns(3)
    acc_cols = [c for c in colour_options if "%" in c]
    cost_cols = [c for c in colour_options if "params" in c or "FLOPs" in c or "time" in c]
    ranges = {}
    for col_box, options, label in ((f1, acc_cols, "Accuracy"), (f2, cost_cols, "Cost")):
        which = col_box.selectbox(f"{label} column", options, key=f"map_{label}_col_{space}")
        v = table[which].to_numpy(dtype=np.float64)
        lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
        got = col_box.slider(f"{which} range", lo, hi, (lo, hi), key=f"map_{label}_range_{space}_{which}")
        if got != (lo, hi):  # an untouched range keeps cells without results
            ranges[which] = got
    ops = list(maps.op_columns(table))
    with_ops = f3.multiselect("Has op", ops, key=f"map_with_{space}")
    without_ops = f3.multiselect("Has no op", ops, key=f"map_without_{space}")

emb = source(space, name)
xy = emb[proj]
try:
    mask = maps.filter_mask(table, ranges=ranges, with_ops=with_ops, without_ops=without_ops)
except NasvizError as e:
    st.error(escape_markdown(e))
    mask = np.ones(len(table), dtype=bool)
if sample_only:
    mask &= has_result
if srcs[name].subset:  # e.g. NB101 controller hidden states: embedded for the benchmark's sample cells only
    mask &= maps.covered(emb, len(table))
    st.info(f"This embedding covers only the {srcs[name].n_cells:,} cells of the benchmark's sample (the cells "
            f"the controller was trained and evaluated on), not all {len(table):,} cells of the space: the map "
            "shows just those cells, and clicks and neighbours stay among them.")

# -- what is kept in colour: the selection (box/lasso) and the top k % by a column --------------------------
v1, v2, v3, v4, v5 = st.columns([1.25, 0.75, 0.9, 1.5, 1.2], vertical_alignment="bottom")
grey = v1.toggle("Grey out unselected", True, key="map_grey",
                 help="With a box or lasso selection, the selected cells keep their colours and the others stay "
                      "visible in light grey. Off: every cell in colour.")
_ui.from_url("map_top_on", "top", False, parse=lambda t: _percent(t) > 0)
_ui.from_url("map_top_pct", "top", 5.0, parse=_percent)
top_on = v2.toggle("Top k %", key="map_top_on", help="Keep only the best k % of the cells in colour (or shown).")
top_pct = v3.number_input("k (%)", min_value=0.1, max_value=100.0, step=0.5, format="%.1f", key="map_top_pct",
                          disabled=not top_on)
top_options = list(dict.fromkeys([colour, *(c for c in colour_options if "%" in c)]))
_ui.from_url(f"map_top_by_{space}", "topby", colour, valid=_ui.one_of(top_options))
if st.session_state[f"map_top_by_{space}"] not in top_options:  # the colour it was set from changed
    st.session_state[f"map_top_by_{space}"] = colour
top_by = v4.selectbox("Best by", top_options, key=f"map_top_by_{space}", disabled=not top_on,
                      help="The colour column or an accuracy; costs (params, FLOPs, time) rank lowest first.")
top_mode = v5.radio("Outside the top k %", ("grey", "hidden"), key="map_top_mode", horizontal=True,
                    disabled=not top_on)
top = None
if top_on:
    top = maps.top_k(table[top_by].to_numpy(dtype=np.float64), top_pct, mask, column=top_by)
    if top_mode == "hidden":
        mask &= top.mask
shown = table["index"].to_numpy()[mask]

window = None
with st.expander("Zoom window (drill down from density to points)", expanded=space == "nb101"):
    z1, z2 = st.columns(2)
    (xlo, ylo), (xhi, yhi) = np.nanmin(xy, 0).astype(float), np.nanmax(xy, 0).astype(float)
    wx = z1.slider("x range", xlo, xhi, (xlo, xhi), key=f"map_wx_{space}_{name}_{proj}")
    wy = z2.slider("y range", ylo, yhi, (ylo, yhi), key=f"map_wy_{space}_{name}_{proj}")
    if (wx, wy) != ((xlo, xhi), (ylo, yhi)):
        window = (wx, wy)
    st.caption(f"Above {maps.MAX_POINTS:,} cells in view the map shades density (2-D histogram coloured by the "
               "mean of the colour column); narrow the window to see individual cells.")

_ui.from_url(CELL, "cell", "")
# one cell box per space: "6111" typed on NB201 must not show NB101 cell #6111 after a space switch
_cells = st.session_state.setdefault("map_cells", {})
if st.session_state.get("map_cell_space", space) != space:
    _cells[st.session_state["map_cell_space"]] = st.session_state.get(CELL, "")
    st.session_state[CELL] = _cells.get(space, "")
st.session_state["map_cell_space"] = space
if "map_box_from_url" not in st.session_state:  # a shared URL's box selection, restored once per session
    st.session_state["map_box_from_url"] = True
    if (box := _box_from_url()) is not None:
        st.session_state[REGION] = maps.box_region(*box, xy, shown, space=space, embedding=name, projection=proj)
if (typed := st.session_state.pop(TYPED_BOX, None)) is not None:  # 'Select this box' (its callback)
    if typed[0] > typed[1] or typed[2] > typed[3]:
        st.session_state["map_box_error"] = True
    else:
        st.session_state[REGION] = maps.box_region(typed[:2], typed[2:], xy, shown, space=space, embedding=name,
                                                   projection=proj)
region = st.session_state.get(REGION)
if region is not None and (region["space"], region["embedding"], region["projection"]) != (space, name, proj):
    region = None  # a selection drawn in another map
hover_cols = _map_data.hover_columns(colour, colour_options)
focus = maps.focus_mask(len(table), region["indices"] if region is not None and grey else None,
                        top.mask if top is not None and top_mode == "grey" else None)
if len(shown) == 0:
    st.info("No cell passes these filters: widen the ranges or remove an op condition.")
else:
    t0 = time.perf_counter()
    highlight, nbrs = None, None
    try:
        sp = bench(space).space
        if st.session_state[CELL].strip():
            highlight = int(sp.index(sp.parse(st.session_state[CELL])))
            nbrs, _ = maps.source_neighbours(emb, highlight, 8)
    except NasvizError:
        highlight = None
    view = _map_data.map_view(space, name, proj, colour, shown, window=window, focus=focus)
    mode, in_view = view.mode, view.in_view
    st.session_state[SHOWN] = (space, name, proj, in_view)
    build_ms = (time.perf_counter() - t0) * 1000
    _plotly_map.plotly_map(view.spec, key=CHART, config=_ui.chart_config(f"map-{space}-{name}-{proj}"),
                           on_select=_on_select,
                           focus=maps.focus_points(view.trace_cells, focus) if mode == "points" else None,
                           outline=maps.region_outline(region),
                           overlay=_map_data.cell_overlay(space, name, proj, highlight, nbrs))
    st.caption(f"{len(in_view):,} of {len(table):,} cells in view ({mode}; {len(shown):,} pass the filters); "
               f"figure ready in {build_ms:.0f} ms. Click a point to show that cell; pick box or lasso select in the chart's toolbar to select a region.")
    if focus is not None:
        n_col = int(focus[in_view].sum())
        st.caption(f"{n_col:,} cells in view in colour ("
                   + " and ".join(w for w, on in (("selected", region is not None and grey),
                                                  (f"in the top {top_pct:g} %", top is not None)) if on)
                   + f"), the other {len(in_view) - n_col:,} in grey"
                   + (" (density: bins coloured by the mean over those cells)." if mode == "density" else "."))
if top is not None:
    st.caption(top.caption() + ("; the others are hidden." if top_mode == "hidden" else "; the others are grey."))

_ui.to_url(space=space, embedding=name, projection=proj, colour=colour, cell=st.session_state[CELL].strip() or None,
           top=f"{top_pct:g}" if top_on else None, topby=top_by if top_on and top_by != colour else None)

left, right = st.columns([1, 1])
with left:
    st.subheader("Cell")
    st.text_input("Cell shown (index, or an NB201 string / NB101 hash or JSON spec)", key=CELL,
                  help="Clicking a point in the map fills this in.")
    text = st.session_state[CELL].strip()
    if not text:
        st.info("Click a point in the map (or type a cell) to see its diagram, metrics and nearest neighbours.")
    else:
        try:
            sp = bench(space).space
            cell = sp.parse(text)
            index = int(sp.index(cell))
        except NasvizError as e:
            st.error(escape_markdown(e))
        else:
            st.session_state["map_anchor"] = {"space": space, "index": index}
            st.markdown(f"**Cell #{index}**")
            _ui.code_line(table.at[index, "arch"] if space == "nb201" else cell.to_json())
            _ui.diagram(cell_dot(space, sp.cell(index)), name=f"{space}-cell-{index}", key="map_diagram")
            row = table.loc[index]
            metric_cols = [c for c in colour_options if c not in maps.op_columns(table).values()]
            _ui.small_table(row[metric_cols].astype(float).to_frame("value").T)
            try:
                nb, dist = maps.source_neighbours(emb, index, 8)
            except NasvizError as e:  # a cell outside a subset embedding
                st.info(f"{escape_markdown(e)}; pick one of the points on the map for its neighbours.")
            else:
                st.markdown(f"**Nearest neighbours in {srcs[name].label}** (L2 on the latent means)")
                nb_frame = maps.selection_frame(table, nb, ["index", "arch", colour] if space == "nb201"
                                                else ["index", "vertices", "edges", colour])
                nb_frame.insert(1, "L2 distance", maps.shown_numbers(dist))
                if not has_result.all():
                    nb_frame.insert(2, "has result", np.where(has_result[nb], "yes", "no (not in the sample)"))
                _ui.cell_list(nb_frame, space=space)
                st.caption("Click a cell's number to unfold its diagram.")
                if (np.asarray(dist) == 0).any():
                    st.caption(f"L2 distance 0: {srcs[name].label} maps these distinct cells to exactly the same "
                               "point (as stored), so the map and the searches cannot tell them apart; it is a "
                               "limit of this embedding, not the same cell.")

with right:
    st.subheader("Selection")
    _bounds = (float(np.nanmin(xy[:, 0])), float(np.nanmax(xy[:, 0])), float(np.nanmin(xy[:, 1])),
               float(np.nanmax(xy[:, 1])))
    if st.session_state.get("map_box_for") != (space, name, proj):  # start at this projection's data bounds
        for k, v in zip(("map_bx0", "map_bx1", "map_by0", "map_by1"), _bounds):
            st.session_state[k] = v
        st.session_state["map_box_for"] = (space, name, proj)
    with st.expander("Select a box by numbers"):
        b1, b2 = st.columns(2)
        bx = (b1.number_input("x from", key="map_bx0", format="%.4f"), b1.number_input("x to", key="map_bx1", format="%.4f"))
        by = (b2.number_input("y from", key="map_by0", format="%.4f"), b2.number_input("y to", key="map_by1", format="%.4f"))
        st.button("Select this box", key="map_box_button", on_click=_on_typed_box)
        if st.session_state.pop("map_box_error", False):
            st.error("A box needs 'from' <= 'to' on both axes.")
    _ui.to_url(box=",".join(f"{v:.10g}" for v in (*region["x"], *region["y"]))
               if region is not None and region["kind"] == "box" else None)
    if region is None:
        st.info("Drag a box or lasso on the map (or select a box by numbers) to list the cells inside.")
    elif region["n"] == 0:
        st.info(f"The {region['kind']} selection holds no cell that passes the filters; draw it where the points are.")
    else:
        cols = (["index", colour, *hover_cols[1:], "arch"] if space == "nb201"
                else ["index", "vertices", "edges", *hover_cols])
        sel = maps.selection_frame(table, region["indices"], list(dict.fromkeys(cols)))
        st.markdown(f"**{region['n']:,} cells selected** ({region['kind']})")
        # the colour is a numeric column (colour_options) and heads hover_cols, so the frame has it
        best = sel.sort_values(colour, ascending=False, na_position="last", kind="stable").head(BEST_ROWS)
        st.caption(f"The {len(best)} with the highest {colour}; click a cell's number to unfold its diagram.")
        _ui.cell_list(best, space=space)
        # the whole selection as a sortable grid, on request: Streamlit's grid paints ~0.3 s after the rest of the
        # page (and loads 1.2 MB of JavaScript the first time), which a box or lasso would otherwise wait for
        if st.toggle(f"List all {region['n']:,} cells (a sortable table)", key="map_selection_all"):
            if len(sel) > TABLE_ROWS:
                st.caption(f"The table shows the first {TABLE_ROWS:,} (by index); the downloads hold all "
                           f"{len(sel):,}.")
            _ui.cell_table(sel.head(TABLE_ROWS), space=space, key="map_selection_table", height=320)
        d1, d2, d3 = st.columns(3)
        d1.download_button("CSV", lambda: sel.to_csv(index=False), f"{space}-selection.csv", mime="text/csv")
        d2.download_button("JSON", lambda: sel.to_json(orient="records"), f"{space}-selection.json",
                           mime="application/json")
        if d3.button("Use as search region", key="map_use_region"):
            st.session_state[SEARCH_REGION] = region
        if st.session_state.get(SEARCH_REGION) is region or st.session_state.get(SEARCH_REGION) == region:
            st.success(f"Search region set: {region['n']:,} cells ({region['kind']} in {region['embedding']} "
                       f"{region['projection']}); the search pages read it from the session.")
            st.code(json.dumps({k: v for k, v in region.items() if k != "indices"}), language="json")

# -- Pareto view: accuracy against a cost, linked to the map's selection --------------------------------------
st.subheader("Pareto view")
costs = maps.cost_columns(table)
accs = [c for c in colour_options if "%" in c]
_ui.from_url("map_pareto_on", "pareto", False, parse=lambda t: t in costs)
_ui.from_url(f"map_pareto_x_{space}", "pareto", costs[0], valid=_ui.one_of(costs))
_ui.from_url(f"map_pareto_y_{space}", "paretoy", colour if colour in accs else maps.default_color(space, table),
             valid=_ui.one_of(accs))
p1, p2, p3 = st.columns([1, 1.2, 1.6], vertical_alignment="bottom")
pareto_on = p1.toggle("Show the Pareto view", key="map_pareto_on",
                      help="Accuracy against params or FLOPs for the cells passing the filters, with the front of "
                           "the non-dominated cells (highest accuracy for their cost); the map's selection "
                           "highlighted, with its own front.")
px = p2.radio("x (cost)", costs, key=f"map_pareto_x_{space}", horizontal=True, disabled=not pareto_on)
py = p3.selectbox("y (accuracy)", accs, key=f"map_pareto_y_{space}", disabled=not pareto_on)
_ui.to_url(pareto=px if pareto_on else None, paretoy=py if pareto_on and py != colour else None)
if pareto_on:
    highlight_cells = None
    if region is not None:
        highlight_cells = np.asarray(region["indices"], dtype=np.int64)
        if top is not None:
            highlight_cells = highlight_cells[top.mask[highlight_cells]]
    elif top is not None:
        highlight_cells = np.flatnonzero(top.mask)
    what = " and ".join(w for w, on in (("selected", region is not None),
                                        (f"in the top {top_pct:g} %", top is not None)) if on)
    pv, pfig = _map_data.pareto_view(space, px, py, shown, highlight_cells, what or "selected")
    pconfig = {**_ui.chart_config(f"pareto-{space}-{py}-vs-{px}"), "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
    _plotly_map.plotly_map(pfig, key=PARETO_CHART, config=pconfig, on_select=_on_pareto_select)
    on_all = set(pv.front.tolist())
    if pv.highlighted is None:
        st.caption(f"Front of all {len(pv.cells):,} cells with both values: {len(pv.front):,} cells. Select a region "
                   "on the map (or turn on top k %) to highlight its cells and draw their own front. Click a point "
                   "to show that cell.")
        front = pv.front
    else:
        front = pv.highlighted_front
        st.caption(f"{len(pv.highlighted):,} cells {what} (of {len(pv.cells):,} with both values): their front holds "
                   f"{len(front):,} cells, {sum(int(c) in on_all for c in front):,} of them on the front of all cells "
                   f"({len(pv.front):,} cells). Click a point to show that cell.")
    cols = ["index", py, px, *([colour] if colour not in (py, px) else [])] + (
        ["arch"] if space == "nb201" else ["vertices", "edges"])
    front_frame = maps.selection_frame(table, front, cols)
    front_frame.insert(3, "on the front of all cells", np.isin(front, pv.front))
    _ui.cell_table(front_frame, space=space, key="map_pareto_table")

st.session_state["map_server_ms"] = (time.perf_counter() - T0) * 1000
st.caption(f"Server time for this view: {st.session_state['map_server_ms']:.0f} ms.")

"""Cell editor: build a cell by hand and see what it is, what it scored and where it lands in latent space."""

import json
import time

import numpy as np
import pandas as pd
import streamlit as st

from nasviz.errors import NasvizError
from nasviz.models import load_model
from nasviz.paths import models_dir
from nasviz.viz import editor as E
from nasviz.viz import maps
from nasviz.viz.diagrams import cell_dot
from nasviz.viz.markdown import escape_markdown
from pages import _map_data, _ui

SPACES = E.SPACES
SPACE_LABELS = {"nb201": "NAS-Bench-201", "nb101": "NAS-Bench-101"}
STORE = "ed_specs"  # space -> the editor spec shown (nasviz.viz.editor module docstring); widgets are drawn from it
SEARCH_REGION = "search_region"  # what the dense-sampling page reads (format: nasviz.viz.maps module docstring)
EDGE_LABELS = ("0 → 1", "0 → 2", "1 → 2", "0 → 3", "1 → 3", "2 → 3")  # NB201 EDGES, official-string order
T0 = time.perf_counter()


@st.cache_resource(show_spinner=False)
def model(name: str):
    return load_model(models_dir() / name)


@st.cache_resource(show_spinner=False)
def pca_of(space: str, name: str):
    return E.pca_map(_map_data.source(space, name))


@st.cache_resource(show_spinner=False)
def default_spec(space: str):
    from nasviz.viz.traversal import BEST, resolve_anchor

    b = _map_data.bench(space)
    return E.spec_of(space, resolve_anchor(b.space, b, BEST))


def _space() -> object:
    return _map_data.bench(st.session_state["ed_space"]).space


# -- widgets <-> spec ------------------------------------------------------------------------
def _widget_values(space: str, spec) -> dict:
    if space == "nb201":
        return {f"ed_nb201_op{k}": op for k, op in enumerate(spec)}
    n = len(spec["ops"])
    out = {"ed_nb101_n": n}
    out.update({f"ed_nb101_op{v}": spec["ops"][v] for v in range(1, n - 1)})
    out.update({f"ed_nb101_e{x}_{y}": bool(spec["matrix"][x][y]) for x in range(n) for y in range(x + 1, n)})
    return out


def _load(space: str, spec, overwrite: bool = True) -> None:
    """Make ``spec`` the space's cell and set its widgets (all of them, or only those not shown yet)."""
    st.session_state[STORE][space] = spec
    for k, v in _widget_values(space, spec).items():
        if overwrite or k not in st.session_state:
            st.session_state[k] = v


def _spec_from_widgets(space: str):
    s = st.session_state
    if space == "nb201":
        return [s[f"ed_nb201_op{k}"] for k in range(6)]
    n = int(s["ed_nb101_n"])
    ops = ["input", *(s[f"ed_nb101_op{v}"] for v in range(1, n - 1)), "output"]
    m = [[int(y > x and bool(s[f"ed_nb101_e{x}_{y}"])) for y in range(n)] for x in range(n)]
    return {"matrix": m, "ops": ops}


def _on_resize() -> None:
    """The vertex count changed: the stored spec (the grid as last shown) resized, edges to the output kept."""
    _load("nb101", E.resize_nb101(st.session_state[STORE]["nb101"], int(st.session_state["ed_nb101_n"])))


def _on_load_text() -> None:
    space = st.session_state["ed_space"]
    text = st.session_state.get("ed_load", "").strip()
    st.session_state.pop("ed_load_error", None)
    if not text:
        return
    try:
        _load(space, E.spec_from_text(_space(), text))
    except NasvizError as e:
        st.session_state["ed_load_error"] = _ui.one_line(e)  # the text stays, to be corrected
    else:
        st.session_state["ed_load"] = ""  # typing the same cell again (after edits) loads it again


def _on_mutate() -> None:
    space = st.session_state["ed_space"]
    seed = int(st.session_state.get("ed_seed", 0))
    if st.session_state.get("ed_rng_seed") != seed:  # one generator per seed: each click draws the next edit
        st.session_state["ed_rng"] = np.random.default_rng(seed)
        st.session_state["ed_rng_seed"] = seed
    try:
        cell = E.build_cell(space, st.session_state[STORE][space])
    except NasvizError:
        return  # the button is disabled for invalid graphs
    _load(space, E.mutate(_space(), cell, st.session_state["ed_rng"]))


# -- first run: the URL's space and cell -----------------------------------------------------
if STORE not in st.session_state:
    specs = {sp: json.loads(json.dumps(default_spec(sp))) for sp in SPACES}  # a copy: the cached one is shared
    url_space = st.query_params.get("space") or SPACES[0]  # a cell without a space is in the default space
    if st.query_params.get("cell"):
        if url_space not in SPACES:
            st.session_state["ed_load_error"] = (f"The URL's cell was not loaded: its space {url_space[:40]!r} is "
                                                 f"not one of {', '.join(SPACES)}")
        else:
            try:
                specs[url_space] = E.spec_from_text(_map_data.bench(url_space).space, st.query_params["cell"])
            except NasvizError as e:  # a hand-edited URL never breaks the page: the default cell, and why
                st.session_state["ed_load_error"] = f"The URL's cell was not loaded: {_ui.one_line(e)}"
    st.session_state[STORE] = specs

st.title("Cell editor")
st.markdown(
    "Build a cell by hand: pick the op on each edge (NAS-Bench-201) or the vertices, ops and edges of a "
    "NAS-Bench-101 graph. The page shows, as you edit, its diagram, whether it is a valid cell, its canonical "
    "form, its real benchmark results, where it lands on a latent map, whether the latent model decodes it back "
    "to itself, and its nearest neighbours in latent space."
)
_ui.from_url("ed_space", "space", "nb201", valid=_ui.one_of(SPACES))
space = st.radio("Space", SPACES, format_func=SPACE_LABELS.get, key="ed_space", horizontal=True)
sp = _map_data.bench(space).space
_load(space, st.session_state[STORE][space], overwrite=False)  # widgets not drawn yet start from the spec

l1, l2, l3 = st.columns([3, 1, 1])
l1.text_input("Load a cell: index, arch string (NB201), module hash or JSON spec (NB101)", key="ed_load",
              on_change=_on_load_text, placeholder="6111" if space == "nb201" else "an index, hash or JSON spec")
l2.number_input("Mutation seed", 0, 2**31 - 1, 0, key="ed_seed",
                help="Mutate draws from one numpy Generator per seed: the same seed gives the same edits in turn.")
if load_error := st.session_state.pop("ed_load_error", None):  # shown once: the next edit moves on
    st.error(escape_markdown(load_error))

# -- the editor ------------------------------------------------------------------------------
edit, show = st.columns([1.1, 1])
with edit:
    st.subheader("Edit")
    if space == "nb201":
        ops = list(sp.ops)
        cols = st.columns(3)
        for k in range(6):
            cols[k % 3].selectbox(f"Edge {EDGE_LABELS[k]}", ops, key=f"ed_nb201_op{k}")
        st.caption("Nodes 0 (input) to 3 (output); each edge carries one op (NB201 paper, Fig. 1).")
    else:
        from nasviz.spaces.nb101 import MAX_VERTICES, OPS as NB101_OPS

        st.number_input(f"Vertices (2..{MAX_VERTICES}, input and output included)", 2, MAX_VERTICES,
                        key="ed_nb101_n", on_change=_on_resize)
        n = int(st.session_state["ed_nb101_n"])
        if n > 2:
            cols = st.columns(min(n - 2, 3))
            for v in range(1, n - 1):
                cols[(v - 1) % len(cols)].selectbox(f"Vertex {v} op", NB101_OPS, key=f"ed_nb101_op{v}")
        st.markdown("**Edges** (row: from vertex, column: to vertex; 0 is the input, "
                    f"{n - 1} the output)")
        for x in range(n - 1):
            row = st.columns(n)
            row[0].markdown(f"from **{x}**")
            for y in range(x + 1, n):
                row[y].checkbox(f"{x}→{y}", key=f"ed_nb101_e{x}_{y}")

spec = _spec_from_widgets(space)
st.session_state[STORE][space] = spec
try:
    cell = E.build_cell(space, spec)
    invalid = None
except NasvizError as e:
    cell, invalid = None, _ui.one_line(e)
_ui.to_url(space=space, cell=E.spec_text(space, spec))

canon = E.canonical_form(sp, cell) if cell is not None else None
with show:
    st.subheader("Cell")
    if cell is not None:
        st.success(f"Valid {SPACE_LABELS[space]} cell **#{canon.index}**.")
        _ui.diagram(cell_dot(space, cell), name=f"{space}-cell-{canon.index}", key="ed_diagram")
    else:
        st.error(escape_markdown(f"Not a valid {SPACE_LABELS[space]} cell: {invalid}"))
        st.caption("Fix the edges or ops on the left: the diagram, results and map need a valid cell.")
with l3:
    st.write("")
    st.button("Mutate", key="ed_mutate", on_click=_on_mutate, disabled=cell is None, icon=":material/shuffle:",
              help="One random edit with the space's own mutation (NB201: one edge's op; NB101: one edge or op).")

if cell is None:
    st.stop()

index = canon.index
with show:
    if space == "nb201":
        st.markdown("**Canonical form** (NB201 `unique_str`, the benchmark's identity of isomorphic cells)")
        _ui.code_line(canon.key)
        if canon.is_representative:
            st.caption(f"This cell is its class's representative (#{canon.representative_index}).")
        else:
            st.caption(f"Same class as #{canon.representative_index}, its representative:")
            _ui.code_line(canon.representative)
    else:
        st.markdown(f"**Canonical form**: module hash `{canon.key}`; the official spec after pruning:")
        _ui.code_line(canon.representative)
        if canon.pruned:
            st.caption(f"Pruned: vertex {', '.join(map(str, canon.pruned))} (not on an input → output path).")

# -- benchmark results -----------------------------------------------------------------------
table = _map_data.frame(space)
metric_cols = [c for c in maps.numeric_columns(table) if c not in maps.op_columns(table).values()
               and c not in ("vertices", "edges")]
st.subheader("Benchmark results")
res = E.results(table, index, metric_cols)
if res is None:
    st.info(f"Cell #{index} is not in the sample: NAS-Bench-101 recorded results for 30,001 of its "
            f"{maps.SPACE_SIZES[space]:,} cells, not for this one.")
else:
    shown_cols = [c for c in metric_cols if np.isfinite(res[c])]
    cols = st.columns(min(len(shown_cols), 6))
    for k, c in enumerate(shown_cols):
        cols[k % len(cols)].metric(c, f"{res[c]:.4g}" if abs(res[c]) < 1000 else f"{res[c]:,.0f}")

# -- latent map ------------------------------------------------------------------------------
st.subheader("In latent space")
srcs = {s.name: s for s in _map_data.sources(space)}
names = list(srcs)
_ui.from_url(f"ed_emb_{space}", "embedding", _map_data.preferred_source(space, names), valid=_ui.one_of(srcs))
m1, m2, m3 = st.columns([1.6, 0.8, 0.8])
name = m1.selectbox("Embedding", names, key=f"ed_emb_{space}", format_func=lambda n: srcs[n].label)
projs = srcs[name].projections
_ui.from_url(f"ed_proj_{space}_{name}", "projection", projs[0], valid=_ui.one_of(projs))
proj = m2.selectbox("Projection", projs, format_func=maps.PROJECTION_LABELS.get, key=f"ed_proj_{space}_{name}")
k_nb = m3.number_input("Neighbours", 1, 50, 8, key="ed_k")
_ui.to_url(embedding=name, projection=proj)

src = _map_data.source(space, name)
mname = E.latent_model_name(name)
lm = model(mname) if mname else None
try:
    vec, how = E.cell_vector(src, sp, cell, model=lm, discrete=name == maps.DISCRETE)
except NasvizError as e:
    st.warning(escape_markdown(_ui.one_line(e)))
    st.stop()
covered = E.stored_row(src, index) is not None
pca = pca_of(space, name) if proj == "pca" and not covered else None
placed = E.place(src, proj, vec, index=index if covered else None, pca=pca)
if covered:
    nb, dist = maps.source_neighbours(src, index, int(k_nb))
else:
    nb, dist = E.vector_neighbours(src, vec, int(k_nb), exclude=index)

colour = maps.default_color(space, table)
xy = src[proj]
shown_idx = table["index"].to_numpy()[maps.covered(src, len(table))]
label = maps.PROJECTION_LABELS[proj]
fig, mode = E.editor_figure(
    xy, table[colour].to_numpy(), shown_idx, placed.xy, color_label=colour, neighbours=nb,
    cell_label=f"edited cell #{index}",
    title=f"{srcs[name].label}, {label}: the edited cell (star) among all cells",
    axis_labels=(f"{label} 1", f"{label} 2"), uirevision=f"{space}/{name}/{proj}")
_ui.chart(fig, key="ed_map", name=f"editor-{space}-{name}-{proj}-{index}")
st.caption(f"Cell #{index} at ({placed.xy[0]:.3f}, {placed.xy[1]:.3f}): its embedding is the {how}; placed by "
           f"{placed.how}. " + (f"Density shading of {len(shown_idx):,} cells." if mode == "density" else
                                 f"A picture of all {len(shown_idx):,} cells, one dot each; hover and pick them on "
                                 "the Latent map page."))
if srcs[name].note(proj):
    st.caption(f"{label}: {srcs[name].note(proj)}.")

r1, r2 = st.columns(2)
with r1:
    st.markdown("**Decode round trip** (encode, then decode with the model)")
    if lm is None:
        st.info(f"{srcs[name].label} has no decoder; pick an arch2vec or beta-VAE embedding for the round trip.")
    else:
        rt = E.round_trip(lm, sp, cell)
        if not rt.valid:
            st.warning(escape_markdown(f"{mname} decodes this cell to an invalid graph ({rt.reason})."))
        elif rt.same:
            st.success(f"{mname} decodes this cell back to itself (#{rt.index}).")
        else:
            extra = " (the same NB201 class)" if rt.same_class else ""
            st.warning(f"{mname} decodes this cell to another cell, #{rt.index}{extra}; changes outlined red:")
            _ui.graph(cell_dot(space, rt.decoded, compare=cell))
with r2:
    st.markdown(f"**Nearest neighbours** in {srcs[name].label} (L2 on the latent means)")
    acc = table[colour].to_numpy(dtype=np.float64)[nb]
    nb_frame = pd.DataFrame({"index": nb, "L2 distance": maps.shown_numbers(dist), colour: np.round(acc, 2)})
    if space == "nb201":
        nb_frame["arch"] = table["arch"].to_numpy()[nb]
    _ui.cell_list(nb_frame, space=space)
    st.caption("Click a cell's number to unfold its diagram.")

# -- hand it on ------------------------------------------------------------------------------
st.subheader("Take it further")
a1, a2 = st.columns(2)
if a1.button("Open in traversal", key="ed_traversal", icon=":material/timeline:"):
    st.session_state["map_anchor"] = {"space": space, "index": index}  # what the traversal page starts from
    st.switch_page("pages/traversal.py", query_params={"space": space, "anchor": str(index)})
if a2.button(f"Use its neighbourhood as a search region ({len(nb) + 1} cells)", key="ed_region",
             icon=":material/travel_explore:"):
    st.session_state[SEARCH_REGION] = E.neighbourhood_region(space, name, proj, index, nb)
region = st.session_state.get(SEARCH_REGION)
if region and region.get("space") == space and index in region.get("indices", []) and region.get("kind") == "points":
    st.success(f"Search region set: cell #{index} and its {region['n'] - 1} nearest neighbours in "
               f"{region['embedding']} ({region['n']} cells).")
    st.code(json.dumps(region), language="json")
    st.page_link("pages/dense_sampling.py", label="Search this region on the Dense sampling page",
                 icon=":material/travel_explore:", query_params={"space": space, "strategy": "region"})
st.session_state["ed_server_ms"] = (time.perf_counter() - T0) * 1000
st.caption(f"Server time for this view: {st.session_state['ed_server_ms']:.0f} ms.")

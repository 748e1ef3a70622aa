"""Latent traversal: decode a cell's latent code with one coordinate moved, and nearest-neighbour walks."""

import time

import numpy as np
import streamlit as st

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.models import load_model, shipped_models
from nasviz.paths import models_dir
from nasviz.viz import traversal as T
from nasviz.viz.diagrams import cell_dot, dot_available
from nasviz.viz.maps import space_frame
from nasviz.viz.markdown import escape_markdown
from pages import _ui

METRICS = {"nb201": ["cifar10 test %", "cifar100 test %", "ImageNet16-120 test %", "params (M)"],
           "nb101": ["valid % (108 ep)", "params (M)"]}
PER_ROW = 3  # diagrams large enough to read the ops on a laptop-width page
SPACES = ("nb201", "nb101")
SPACE_LABELS = {"nb201": "NAS-Bench-201", "nb101": "NAS-Bench-101"}
#: NB101 latent statistics come from this many seeded random cells (encoding all 423,624 cells with
#: arch2vec's per-node latent would take minutes); the NB101 walk uses the precomputed embeddings.
NB101_STATS_CELLS = 10_000
T0 = time.perf_counter()  # server time of this run, shown at the bottom (and read by benchmarks/bench_app.py)


@st.cache_resource(show_spinner=False)
def models_of(space: str) -> list[str]:
    import json

    out = []
    for name in shipped_models():
        try:
            cfg = json.loads((models_dir() / name / "config.json").read_text())
        except (OSError, ValueError):
            continue
        if cfg.get("format") == "nasviz-latent-model" and cfg.get("config", {}).get("space") == space:
            out.append(name)
    return out


@st.cache_resource(show_spinner=False)
def model(name: str):
    return load_model(models_dir() / name)


@st.cache_resource(show_spinner=False)
def bench(space: str):
    return get_benchmark(space)


@st.cache_resource(show_spinner=False)
def table(space: str):
    return space_frame(space, bench(space))


@st.cache_resource(show_spinner=False)
def stats(name: str):
    m = model(name)
    sp = bench(m.space).space
    if m.space == "nb101":
        pick = np.sort(np.random.default_rng(0).choice(sp.n_cells, NB101_STATS_CELLS, replace=False))
        return T.latent_stats(m, [sp.cell(int(i)) for i in pick])
    return T.latent_stats(m, sp.enumerate())


@st.cache_resource(show_spinner=False)
def embedding(name: str):
    """The model's embedding of every cell. NB101: the precomputed means (nasviz embed); NasvizError when
    they are missing or were computed from another checkpoint than the one in models/."""
    m = model(name)
    if m.space == "nb101":
        from nasviz.analysis.embeddings import load_embeddings

        return load_embeddings(name, checkpoint=models_dir() / name)["means"]
    return T.embeddings(m, bench(m.space).space.enumerate())


@st.cache_data(show_spinner=False)
def active_dim(name: str, anchor_index: int, span: float, steps: int) -> int:
    m = model(name)
    sp = bench(m.space).space
    return T.most_active_dim(m, sp, sp.cell(anchor_index), stats(name)[1], span=span, steps=steps)


@st.cache_data(show_spinner=False)
def walk(name: str, start: int, n: int):
    return T.nn_walk(embedding(name), start, n)


def cell_caption(space: str, index: int, extra: str) -> str:
    t = table(space)
    m = METRICS[space][0]
    v = t.at[index, m]
    metric = f"{m} {v:.2f}" if np.isfinite(v) else "no result (not in the benchmark sample)"
    return f"#{index} · {metric}" + (f" · {extra}" if extra else "")


def draw_sequence(space: str, cells: list, captions: list[str], key: str) -> None:
    """Diagrams in rows; each cell's changes against the previous valid one are outlined red."""
    prev, dots = None, {}
    for k, c in enumerate(cells):  # each valid cell against the previous valid one
        if c is not None:
            dots[f"{key}-{k:02d}"] = cell_dot(space, c, compare=prev)
            prev = c
    svgs = _ui.svgs(list(dots.values())) or [None] * len(dots)  # new diagrams in one Graphviz run
    svg_of = dict(zip(dots, svgs))
    for start in range(0, len(cells), PER_ROW):
        cols = st.columns(PER_ROW)
        for col, c, cap, k in zip(cols, cells[start:start + PER_ROW], captions[start:start + PER_ROW],
                                  range(start, start + PER_ROW)):
            with col:
                if c is None:
                    st.warning(cap)
                    continue
                name = f"{key}-{k:02d}"
                _ui.graph(dots[name], svg_of[name])
                st.caption(cap)
    if dots and dot_available():
        st.download_button("Diagrams as SVG (zip)", lambda: T.svg_zip(dots), f"{key}.zip", mime="application/zip",
                           key=f"{key}_svg")


st.title("Latent traversal")
st.markdown(
    "Take one cell's latent code, move a single latent coordinate from -k to +k of its standard deviation and "
    "decode each point: the DNAS paper's Fig. 3 (a disentangled coordinate changes one thing at a time). Red "
    "outlines mark what changed from the previous decoded cell. Below, arch2vec's Fig. 5: a walk that always "
    "steps to the nearest not-yet-visited cell in latent space, with the edit distance of every step."
)

_ui.from_url("trav_space", "space", "nb201", valid=_ui.one_of(SPACES))
space = st.radio("Space", SPACES, format_func=SPACE_LABELS.get, key="trav_space", horizontal=True)
names = models_of(space)
if not names:
    st.info(f"No decodable latent model for {SPACE_LABELS[space]} under models/ yet: train one with "
            f"`nasviz train arch2vec --space {space}` or `nasviz train beta-vae --space {space}`.")
    st.stop()
shown_space = st.session_state.get("trav_shown_space", space)
if shown_space != space:  # switching space: this space's last anchor (as the editor and the map keep theirs)
    kept = st.session_state.setdefault("trav_anchor_of", {})
    last = st.session_state.get("trav_anchor_ok")
    if last and last[0] == shown_space:  # the last anchor that resolved there, not a bad text left in the box
        kept[shown_space] = last[1]
    for k in ("trav_anchor", "trav_model", "trav_other", "trav_dim"):
        st.session_state.pop(k, None)
    for q in ("anchor", "model", "with", "dim"):  # the URL still holds the other space's choices
        st.query_params.pop(q, None)
    if space in kept:
        st.session_state["trav_anchor"] = kept[space]
st.session_state["trav_shown_space"] = space

sp, tab = bench(space).space, table(space)
from_map = st.session_state.get("map_anchor")
_ui.from_url("trav_anchor", "anchor", str(from_map["index"]) if from_map and from_map.get("space") == space else T.BEST)
_ui.from_url("trav_model", "model", names[0], valid=_ui.one_of(names))
_ui.from_url("trav_other", "with", "(none)", valid=_ui.one_of(names))

c1, c2, c3 = st.columns([2.2, 1.2, 1.2])
c1.text_input("Anchor: index, arch string (NB201) / module hash or JSON spec (NB101), or 'best'",
              key="trav_anchor",
              help="'best' is the cell with the best CIFAR-10 test accuracy (NB201, 200 epochs) or the best "
                   "108-epoch validation accuracy in the NB101 sample. The latent map page sets this to the cell "
                   "you clicked there.")
from_map = st.session_state.get("map_anchor")
if from_map and from_map.get("space") == space and c1.button(f"Use the map's cell #{from_map['index']}"):
    st.session_state["trav_anchor"] = str(from_map["index"])
    st.rerun()
name = c2.selectbox("Model", names, key="trav_model")
if st.session_state.get("trav_other") == name:  # the model just picked on the left
    st.session_state["trav_other"] = "(none)"
other = c3.selectbox("Side by side with", ["(none)", *[n for n in names if n != name]], key="trav_other")

with st.spinner(f"Loading {name} and the latent statistics of all cells..."):
    m = model(name)
    mean, std = stats(name)
total = T.n_dims(m)
try:
    anchor = T.resolve_anchor(sp, bench(space), st.session_state["trav_anchor"])
except NasvizError as e:
    # the page goes on with the last anchor that resolved (or 'best'): stopping here would drop what was shown
    # and, since the sliders below would not be drawn, reset them to their defaults on the next rerun
    last = st.session_state.get("trav_anchor_ok")
    fallback = last[1] if last and last[0] == space else T.BEST
    anchor = T.resolve_anchor(sp, bench(space), fallback)
    st.error(f"{escape_markdown(e)} — showing #{int(sp.index(anchor))} "
             f"({'the last anchor that was valid' if fallback != T.BEST else 'the best cell'}) until the anchor is fixed.")
else:
    st.session_state["trav_anchor_ok"] = (space, st.session_state["trav_anchor"])
anchor_index = int(sp.index(anchor))
_ui.from_url("trav_span", "span", 4.0, parse=float, valid=lambda v: 0.5 <= v <= 6.0 and (v * 2).is_integer())
_ui.from_url("trav_steps", "steps", 9, parse=int, valid=lambda v: 3 <= v <= 15 and v % 2 == 1)
d1, d2, d3 = st.columns(3)
span = d2.slider("Range (± std of the coordinate)", 0.5, 6.0, step=0.5, key="trav_span")
steps = d3.slider("Steps", 3, 15, step=2, key="trav_steps")
# default coordinate: the one whose traversal around this anchor passes through the most distinct cells, so a
# first look shows something change; chosen again whenever the model or the anchor changes
default_dim = active_dim(name, anchor_index, float(span), int(steps))
if st.session_state.get("trav_dim_for") != (name, anchor_index):
    if st.session_state.get("trav_dim_for") is not None or st.session_state.get("trav_dim", 0) >= total:
        st.session_state["trav_dim"] = default_dim
    st.session_state["trav_dim_for"] = (name, anchor_index)
_ui.from_url("trav_dim", "dim", default_dim, parse=int, valid=_ui.in_range(0, total - 1))
dim = d1.number_input(f"Latent coordinate (0..{total - 1})", 0, total - 1, key="trav_dim",
                      help="arch2vec has one 16-d latent per node: coordinate = node * 16 + d. The default is the "
                           f"coordinate whose traversal around this anchor decodes to the most distinct cells "
                           f"(here {default_dim}).")
_ui.to_url(space=space, model=name, anchor=st.session_state["trav_anchor"], dim=int(dim), span=span, steps=steps,
           **{"with": None if other == "(none)" else other})
over = (f"all {len(tab):,} cells" if space == "nb201" else
        f"{NB101_STATS_CELLS:,} random cells of the {sp.n_cells:,}")
anchor_text = anchor.to_str() if space == "nb201" else anchor.to_json()
st.markdown(f"Anchor **#{anchor_index}** `{anchor_text}` — coordinate **{T.dim_label(m, dim)}**: "
            f"mean {mean[dim]:.3f}, std {std[dim]:.3f} over {over}.")

models = [name] + ([other] if other != "(none)" else [])
frames = {}
for mname in models:
    mm = model(mname)
    if dim >= T.n_dims(mm):
        st.error(f"{mname} has only {T.n_dims(mm)} latent coordinates; pick one below {T.n_dims(mm)}.")
        continue
    _, sstd = stats(mname)
    t0 = time.perf_counter()
    seq = T.traverse(mm, sp, anchor, int(dim), sstd, span=span, steps=steps)
    ms = (time.perf_counter() - t0) * 1000
    frames[mname] = T.steps_frame(seq, tab, METRICS[space])
    n_valid = sum(s.valid for s in seq)
    n_distinct = len({s.index for s in seq if s.valid})
    st.subheader(f"{mname}: {n_valid}/{len(seq)} valid decodes, {n_distinct} distinct cells")
    st.caption(f"Encoded and decoded in {ms:.0f} ms on the server.")
    mid = next((s for s in seq if s.is_anchor), None)
    if mid is not None and not mid.faithful:
        got = (f"cell #{mid.decoded_index}" if mid.decoded_index is not None else
               f"an invalid cell ({getattr(mid.decoded_as, 'reason', 'invalid')})")
        st.warning(f"{mname} does not decode the anchor back to itself: the anchor's own latent code decodes to "
                   f"{got}. Offset 0 below shows the anchor; the other steps are what the model decodes, so "
                   "part of what changes along this walk is the model's reconstruction error.", icon="⚠️")
        if mid.decoded_index is not None:
            a_col, d_col, _ = st.columns(3)
            with a_col:
                _ui.graph(cell_dot(space, anchor))
                st.caption(cell_caption(space, anchor_index, "the anchor"))
            with d_col:
                _ui.graph(cell_dot(space, mid.decoded_as, compare=anchor))
                st.caption(cell_caption(space, mid.decoded_index, f"what {mname} decodes the anchor to"))
    caps = []
    for s in seq:
        if not s.valid:
            caps.append(f"offset {s.offset:+.2f} std: invalid ({s.reason})")
        else:
            caps.append(cell_caption(space, s.index, ("anchor · " if s.is_anchor else "") + f"{s.offset:+.2f} std" + (
                f" · edit {s.edit}" if s.edit is not None else "")))
    draw_sequence(space, [s.cell if s.valid else None for s in seq], caps, f"traversal-{mname}")
    with st.expander("Steps as a table"):
        _ui.small_table(frames[mname])

if frames:
    _ui.chart(T.traversal_figure(frames, METRICS[space][0]), key="trav_fig", name=f"traversal-dim{dim}-{anchor_index}")

st.header("Nearest-neighbour walk (arch2vec Fig. 5)")
n_walk = st.slider("Walk length", 5, 30, 15, key="trav_walk_len")
walk_edits = {}
for mname in models:
    with st.spinner(f"Embedding every cell with {mname}..."):
        try:
            embedding(mname)
        except NasvizError as e:
            st.warning(f"No walk for {mname}: {escape_markdown(e)}")
            continue
    path, _ = walk(mname, anchor_index, n_walk)
    cells = [sp.cell(i) for i in path]
    edits = [T.edit_distance(a, b) for a, b in zip(cells, cells[1:])]
    walk_edits[mname] = edits
    st.subheader(f"{mname}: mean edit distance per step {np.mean(edits):.2f}")
    caps = [cell_caption(space, i, "start" if k == 0 else f"edit {edits[k - 1]}") for k, i in enumerate(path)]
    draw_sequence(space, cells, caps, f"walk-{mname}")
st.caption("Paper (NB101): arch2vec's walk averages 2.9 edits per step, the supervised encoder's 8.9.")
_ui.chart(T.walk_figure(walk_edits), key="walk_fig", name=f"nn-walk-{anchor_index}")
st.session_state["trav_server_ms"] = (time.perf_counter() - T0) * 1000
st.caption(f"Server time for this view: {st.session_state['trav_server_ms']:.0f} ms.")

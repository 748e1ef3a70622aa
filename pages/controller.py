"""The ENAS controller study: what trained controllers' hidden states know about architectures."""

import streamlit as st

from nasviz.analysis import controller as A
from nasviz.bench import get_benchmark
from nasviz.controllers.train import RewardSpec
from nasviz.errors import NasvizError
from nasviz.viz import controller as V
from nasviz.viz.markdown import escape_markdown
from pages import _ui


SPACES = {"nb201": "NAS-Bench-201", "nb101": "NAS-Bench-101"}
DECISIONS = {"nb201": "an op for each of the 6 NB201 edges",
             "nb101": "for each NB101 vertex an op, then which earlier vertices feed it (26 decisions)"}


@st.cache_resource(show_spinner=False)
def controllers(space: str):
    return A.load_shipped(space)


@st.cache_resource(show_spinner=False)
def bench(space: str):
    return get_benchmark(space)


@st.cache_data(show_spinner=False)
def figure_data(space: str, seed_of: tuple, n: int, sample_seed: int):
    ctr = controllers(space)
    chosen = {k: next(item for item in ctr[k] if item[1].get("seed") == s) for k, s in seed_of}
    return V.figure_data(chosen, bench(space), n=n, n_acc=1000, seed=sample_seed)


@st.cache_data(show_spinner=False)
def live_table(space: str, all_seeds: bool, n_archs: int, n_pairs: int):
    ctr = controllers(space)
    return V.table1_live(ctr if all_seeds else {k: v[:1] for k, v in ctr.items()}, bench(space), n_archs=n_archs,
                         n_pairs=n_pairs)


st.title("ENAS controller study")
st.markdown(
    "ENAS controllers (an LSTM that picks an op for each NB201 edge, or for each NB101 vertex an op and the earlier "
    "vertices feeding it) trained with REINFORCE on the benchmark's accuracy, with and without the paper's "
    "memory-buffer reconstruction loss, next to an untrained (random) one. This page reproduces Adam & Lorraine's "
    "Fig. 1/4 (how sure the controller is at each decision), Fig. 2 (the accuracy of what it samples), Fig. 3 (its "
    "final hidden states) and Table 1 (does hidden-state distance track architecture similarity?), on NB201 or "
    "NB101 cells instead of the paper's PTB RNN cells."
)
_ui.from_url("ctrl_space", "space", "nb201", valid=_ui.one_of(SPACES))
space = st.radio("Space", list(SPACES), format_func=SPACES.get, key="ctrl_space", horizontal=True,
                 help=f"NB101: {DECISIONS['nb101']}; controllers trained on the benchmark's 30,001 sample cells.")

try:
    with st.spinner(f"Loading the shipped {space} controller checkpoints..."):
        ctr = controllers(space)
except NasvizError as e:
    st.error(escape_markdown(e))
    st.stop()

kinds = list(ctr)
cols = st.columns(len(kinds) + 2)
seed_of = []
for col, kind in zip(cols, kinds):
    seeds = [doc.get("seed") for _, doc in ctr[kind]]
    _ui.from_url(f"ctrl_seed_{space}_{kind}", f"seed_{kind}", seeds[0], parse=int, valid=_ui.one_of(seeds))
    seed_of.append((kind, col.selectbox(f"{kind} checkpoint seed", seeds, key=f"ctrl_seed_{space}_{kind}")))
_ui.from_url("ctrl_n", "n", 100, parse=int, valid=lambda v: 20 <= v <= 300 and v % 10 == 0)
n = cols[-2].slider("Sampled architectures", 20, 300, step=10, key="ctrl_n")
_ui.from_url("ctrl_sample_seed", "sample_seed", 0, parse=int, valid=_ui.in_range(0, 10_000))
sample_seed = cols[-1].number_input("Sampling seed", 0, 10_000, key="ctrl_sample_seed")
_ui.to_url(space=space, **{f"seed_{k}": s for k, s in seed_of}, n=n, sample_seed=int(sample_seed))

with st.spinner("Sampling architectures from each controller..."):
    data = figure_data(space, tuple(seed_of), n, int(sample_seed))
reward = ctr[kinds[0]][0][1].get("reward") or ctr[kinds[0]][0][1].get("train", {}).get("reward")
_ui.chart(A.fig_max_action_probs(data["probs"]), key="ctrl_probs", name=f"controller-{space}-max-action-probs")
st.caption(V.determinism_caption(data["probs"]))
try:
    reward_title = RewardSpec.parse(reward, space).title
except NasvizError:  # a checkpoint whose stored reward does not parse: its text, verbatim
    reward_title = f"reward column (%): {reward}"
_ui.chart(A.fig_accuracy_distribution(data["acc"], label=reward_title), key="ctrl_acc",
          name=f"controller-{space}-accuracy")
med = ", ".join(f"{k} {float(sorted(v)[len(v) // 2]):.2f}" for k, v in data["acc"].items())
st.caption(f"Paper Fig. 2: trained controllers sample better architectures than random ones. Median here: {med}.")
_ui.chart(A.fig_hidden_heatmap(data["hidden"]), key="ctrl_hidden", name=f"controller-{space}-hidden-states")
st.caption(V.hidden_caption(data["hidden"]))

st.header("Table 1: Spearman correlation of ||h(A1) - h(A2)|| with architecture similarity")
stored = V.stored_table1(space=space)
if stored is not None:
    where = "" if space == "nb201" else f" under `{space}`"
    st.markdown(f"**Stored benchmark result** (`benchmarks/results/controller.json`{where}: every shipped seed, "
                f"{stored['n_archs']:,} sampled architectures, {stored['n_pairs']:,} pairs):")
    _ui.small_table(V.table1_frame(stored["table1"]))
    _ui.chart(A.fig_table1(stored["table1"], space=space), key="ctrl_table1_stored",
              name=f"controller-{space}-table1-stored")
    if "separation" in stored:
        st.markdown("**Is the supervised controller separated from the unsupervised one, as in the paper?** "
                    "Welch 95 % interval of the difference of seed means; the verdict is read from it and the sign "
                    "of the paper's difference.")
        sep_pairs = st.radio("Pairs", ["all", "distinct"], horizontal=True, key="ctrl_sep_pairs",
                             format_func={"all": "all sampled pairs",
                                          "distinct": "pairs of different architectures"}.get)
        _ui.small_table(V.separation_frame(stored["separation" if sep_pairs == "all"
                                               else "separation_distinct_pairs"]))
    sched = V.stored_schedule(space)
    if sched is not None:
        st.subheader("How separation appears with training")
        curve_pairs = st.radio("Pairs in the curve", ["distinct", "all"], horizontal=True, key="ctrl_sched_pairs",
                               format_func={"all": "all sampled pairs",
                                            "distinct": "pairs of different architectures"}.get)
        _ui.chart(A.fig_schedule(sched["curve"], curve_pairs), key="ctrl_schedule",
                  name=f"controller-{space}-schedule-{curve_pairs}")
        st.caption(A.schedule_caption(sched["curve"], curve_pairs, sched.get("buffer_start_step"),
                                      sched.get("sup_start_step")))


@st.fragment
@_ui.guarded
def computed_here(space: str) -> None:
    """A new size or 'All seeds' reruns this table only, not the figures above it."""
    st.markdown("**Computed here** (pick the size; larger takes longer):")
    t1, t2, t3 = st.columns(3)
    n_archs = t1.select_slider("Sampled architectures per controller", [200, 500, 1000], 200, key="ctrl_t_archs")
    n_pairs = t2.select_slider("Pairs", [500, 1000, 2000, 5000, 10_000], 1000, key="ctrl_t_pairs")
    all_seeds = t3.toggle("All seeds (mean ± std)", False, key="ctrl_t_all")
    with st.spinner("Sampling pairs and computing graph edit distances..."):
        table = live_table(space, all_seeds, n_archs, n_pairs)
    _ui.small_table(V.table1_frame(table))
    _ui.chart(A.fig_table1(table, space=space), key="ctrl_table1_live", name=f"controller-{space}-table1-computed")
    st.caption(f"Paper values are for ENAS RNN cells on PTB (Adam & Lorraine, Table 1); ours are {space.upper()} "
               "cells, the reward column above, similarity measures as defined in nasviz.analysis.controller.")


computed_here(space)

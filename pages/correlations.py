"""Correlations: what each latent dimension says about accuracy, cost and structure."""
import pandas as pd
import streamlit as st

from nasviz.bench import get_benchmark
from nasviz.errors import NasvizError
from nasviz.viz import correlations as C
from nasviz.viz import maps
from nasviz.viz.markdown import escape_markdown
from pages import _ui

SPACE = "nb201"


@st.cache_resource(show_spinner=False)
def bench():
    return get_benchmark(SPACE)


@st.cache_resource(show_spinner=False)
def frame():
    return maps.space_frame(SPACE, bench())


@st.cache_resource(show_spinner=False)
def sources():
    return {s.name: s for s in maps.list_sources(SPACE, whole_space_only=True)}


@st.cache_resource(show_spinner=False)
def means(name: str):
    return maps.load_source(SPACE, name)["means"]


@st.cache_data(show_spinner=False)
def ranking(name: str, acc_col: str):
    f = frame()
    return C.dim_correlation_frame(means(name), f[acc_col].to_numpy(), f["FLOPs (M)"].to_numpy())


@st.cache_data(show_spinner=False)
def edit_curve(name: str, n: int, seed: int):
    return C.edit_distance_curve(means(name), bench().space, n, seed)


@st.cache_data(show_spinner=False)
def gp(name: str, acc_col: str, n_train: int, seed: int):
    return C.gp_scatter(means(name), frame()[acc_col].to_numpy(), n_train=n_train, n_test=2000, seed=seed,
                        restarts=1)


st.title("Latent dimensions vs accuracy, cost and structure")
st.markdown(
    "How much each embedding knows about what matters. Every latent dimension is ranked by its Spearman "
    "correlation with accuracy and FLOPs, and the top ones are plotted against accuracy (DNAS Fig. 4/5). Below, "
    "the latent distance between cells by how many edits apart they are (arch2vec Fig. 3), and a Gaussian process "
    "fitted on a few labelled embeddings predicting the rest (arch2vec Fig. 2)."
)

srcs = sources()
table = frame()
acc_cols = [c for c in table.columns if isinstance(c, str) and "%" in c]
c1, c2 = st.columns(2)
_ui.from_url("corr_models", "embeddings", [n for n in srcs if n != maps.DISCRETE][:2] or [maps.DISCRETE],
             valid=_ui.one_of(srcs), many=True)
chosen = c1.multiselect("Embeddings", list(srcs), format_func=lambda n: srcs[n].label, key="corr_models")
_ui.from_url("corr_acc", "accuracy", acc_cols[0], valid=_ui.one_of(acc_cols))
acc_col = c2.selectbox("Accuracy column", acc_cols, key="corr_acc")
_ui.to_url(embeddings=chosen or None, accuracy=acc_col)
if not chosen:
    st.info("Pick at least one embedding.")
    st.stop()

st.header("Each latent dimension vs accuracy and FLOPs (DNAS Fig. 4/5)")
top = st.slider("Dimensions to show", 3, 30, 10, key="corr_top")
for name in chosen:
    with st.spinner(f"Ranking the dimensions of {srcs[name].label}..."):
        r = ranking(name, acc_col)
    st.subheader(srcs[name].label)
    _ui.charts([(C.fig_dim_ranking(r, top), f"dim-ranking-{name}"),  # one frame for both (plotly.js loads once)
                (C.fig_dim_scatter(means(name), r["dim"].head(4), table[acc_col].to_numpy(),
                                   table["FLOPs (M)"].to_numpy(), acc_label=acc_col), f"dims-vs-accuracy-{name}")])
    with st.expander("All dimensions as a table"):
        _ui.small_table(r)

st.header("Latent distance by edit distance (arch2vec Fig. 3)")
w1, w2 = st.columns(2)
walk_n = w1.select_slider("Random-walk length (cells one edit apart)", [200, 500, 1000], 1000, key="corr_walk")
walk_seed = w2.number_input("Walk seed", 0, 10_000, 0, key="corr_walk_seed")
curves = {srcs[n].label: edit_curve(n, walk_n, int(walk_seed)) for n in chosen}
_ui.chart(C.fig_edit_distance(curves), key="corr_edit", name="latent-distance-by-edit-distance")
st.caption(C.edit_distance_caption(curves))

st.header("GP predictive performance (arch2vec Fig. 2)")


@st.fragment
@_ui.guarded
def gp_section(chosen: list[str], acc_col: str) -> None:
    """Fitting (or refitting on new inputs of its own) reruns this section only, not the page above it."""
    g1, g2, g3 = st.columns(3)
    n_train = g1.select_slider("Labelled cells", [50, 100, 250, 500], 100, key="corr_gp_train")
    gp_seed = g2.number_input("GP seed", 0, 10_000, 0, key="corr_gp_seed")
    g3.write("")
    current = (tuple(chosen), acc_col, n_train, int(gp_seed))
    if g3.button("Fit the GPs", key="corr_gp_run") or st.session_state.get("corr_gp_args") not in (None, current):
        st.session_state["corr_gp_args"] = current  # once fitted, the chart follows its inputs (never a stale fit)
    args = st.session_state.get("corr_gp_args")
    if args is None:
        st.info("Fitting one GP per embedding takes from seconds to a minute on a shared CPU: press 'Fit the GPs'.")
    else:
        try:
            with st.spinner("Fitting Gaussian processes..."):
                results = {srcs[n].label: gp(n, args[1], args[2], args[3]) for n in args[0] if n in srcs}
            _ui.chart(C.fig_gp(results, args[1]), key="corr_gp_fig", name="gp-predictive")
            st.caption(f"{args[2]} labelled cells, 2,000 held-out cells, seed {args[3]}; kernel C * RBF (ARD) + white "
                       "noise on standardised embeddings, as nasviz.analysis.latent.gp_predictive.")
        except NasvizError as e:
            st.error(escape_markdown(e))


gp_section(chosen, acc_col)

st.header("Disentanglement (DNAS)")
from nasviz.models import shipped_models  # noqa: E402  (torch import only when the page gets here)

bvae = [m for m in shipped_models() if m.startswith(f"{SPACE}-bvae")]  # this page is NB201; NB101 beta-VAEs ship too
if not bvae:
    st.info("The disentanglement table needs a beta-VAE checkpoint (models/nb201-bvae-beta*/; `nasviz train "
            "beta-vae`); none is shipped yet.")
else:
    from nasviz.analysis.latent import disentanglement
    from nasviz.models import load_model
    from nasviz.paths import models_dir
    from nasviz.viz.traversal import one_thread

    @st.cache_data(show_spinner=False)
    def dis(name: str, n_anchors: int):
        with one_thread():
            return disentanglement(load_model(models_dir() / name), list(bench().space.enumerate()),
                                   n_anchors=n_anchors).to_dict()

    @st.fragment
    @_ui.guarded
    def dis_section() -> None:
        """Another number of anchors reruns this section only."""
        stored = {m: C.stored_disentanglement(m) for m in bvae}
        counts = sorted({10, 25, 50, 100} | {d["n_anchors"] for d in stored.values() if d})
        default = max((d["n_anchors"] for d in stored.values() if d), default=25)
        n_anchors = st.select_slider("Anchors", counts, default, key="corr_dis_anchors",
                                     help="At the stored benchmark's number of anchors the table is read from "
                                          "benchmarks/results/models.json (same function, same seed); any other "
                                          "number is computed here, about a second per model for 25 anchors.")
        rows, read = [], []
        for m in bvae:
            if stored[m] is not None and stored[m]["n_anchors"] == n_anchors:
                d = stored[m]
                read.append(m)
            else:
                with st.spinner(f"Traversing every dimension of {m}..."):
                    d = dis(m, n_anchors)
            rows.append({"model": m, "score": round(d["score"], 3), "active dims": d["active_dims"],
                         **{f"z{x['dim']}": (f"{x['top_factor']} ({x['share']:.2f})" if x["top_factor"] else "-")
                            for x in d["dims"]}})
        _ui.small_table(pd.DataFrame(rows))
        if read:
            st.caption(f"{', '.join(read)}: read from the stored benchmark result (benchmarks/results/models.json, "
                       f"{n_anchors} anchors); other rows computed here.")

    dis_section()
    st.caption("Per dimension: the edge whose op changes most along its traversal and that edge's share of all "
               "changes; score = change-weighted mean share (1 = each dimension controls one edge).")

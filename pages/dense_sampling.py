"""Dense sampling: DNAS Eq. 4 regions, launch a background search, watch it, see its best cells."""

import json

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from nasviz.errors import NasvizError
from nasviz.search.problem import DATASETS
from nasviz.search.store import Store, default_db_path
from nasviz.spaces import get_space
from nasviz.viz import dense as D
from nasviz.viz import runs as R
from nasviz.viz.diagrams import cell_dot
from nasviz.viz.maps import SPACE_LABELS
from nasviz.viz.markdown import escape_markdown
from pages import _ui

BATCH, JOBS = "dense_batch", "dense_jobs"


@st.cache_resource(show_spinner="Loading the embedding...")
def table(embedding: str, dataset: str, space: str) -> D.LatentTable:
    return D.latent_table(embedding, dataset, space)


@st.cache_resource(show_spinner=False)
def _gpu() -> bool:
    """Whether torch sees a CUDA GPU on this server (the Device choice offers cuda only then)."""
    import torch

    return bool(torch.cuda.is_available())


@st.cache_data(show_spinner=False)
def region_size(region_json: str, dataset: str, space: str) -> int:
    return D.region_size(json.loads(region_json), dataset, space)


st.title("Dense sampling")
st.markdown(
    "DNAS samples densely where good cells live: the promising region of Eq. 4 is, per latent dimension, the "
    "union of intervals of width 2 sigma around the top-k cells found so far, and Algorithm 1 draws candidates "
    "there (eps1), at the FLOPs edge (eps2) or anywhere (eps3 = 1 - eps1 - eps2), screens them with a learned "
    "accuracy predictor and queries the best. Below, each chosen latent dimension is plotted against the accuracy "
    "the search sees, with the top-k bands of Eq. 4; launch a search (or a search restricted to your region, or "
    "a baseline) as a background job and watch its best-so-far curve."
)

# -- space, embedding, dimensions, Eq. 4 bands --------------------------------------------------
# NB201 offers the one-hot encoding too; NB101 only learned embeddings of all its cells (its one-hot
# matrix of 423,624 cells takes minutes to build) and only once one is shipped.
learned = {sp: D.searchable_embeddings(sp) for sp in SPACE_LABELS}
spaces = ["nb201"] + (["nb101"] if learned.get("nb101") else [])
_ui.from_url("dense_space", "space", "nb201", valid=_ui.one_of(spaces))
c0, c1, c2 = st.columns([1.4, 1, 1])
space = c0.radio("Space", spaces, format_func=SPACE_LABELS.get, key="dense_space", horizontal=True)
if len(spaces) == 1:
    c0.caption("NAS-Bench-101 appears here once an NB101 latent model's embedding of all 423,624 cells is shipped "
               "(data/embeddings/nb101-*.npz, written by `nasviz embed`); none is yet.")
names = learned[space] + (["onehot"] if space == "nb201" else [])
preferred = f"{space}-arch2vec" if f"{space}-arch2vec" in names else names[0]
# each space's embedding and dataset, and each embedding's dimensions, are kept here and written back through the
# session-state API when the widget is drawn anew: on the run that switches space back (the browser redraws the
# boxes from their defaults while the server still holds the earlier values, so the page used one embedding and
# showed another) and after a visit to another page (Streamlit has dropped the widget's state)
kept = st.session_state.setdefault("_dense_kept", {})
space_switched = st.session_state.get("_dense_last_space", space) != space
st.session_state["_dense_last_space"] = space


def _put_back(key: str, options: list) -> None:
    if (space_switched or key not in st.session_state) and kept.get(key) in options:
        st.session_state[key] = kept[key]


_put_back(f"dense_embedding_{space}", names)
_ui.from_url(f"dense_embedding_{space}", "embedding", preferred, valid=_ui.one_of(names))
embedding = kept[f"dense_embedding_{space}"] = c1.selectbox("Embedding", names, key=f"dense_embedding_{space}")
datasets = list(DATASETS[space])
_put_back(f"dense_dataset_{space}", datasets)
_ui.from_url(f"dense_dataset_{space}", "dataset", datasets[0], valid=_ui.one_of(datasets))
dataset = kept[f"dense_dataset_{space}"] = c2.selectbox("Dataset", datasets, key=f"dense_dataset_{space}")
try:
    t = table(embedding, dataset, space)
except NasvizError as e:
    st.error(escape_markdown(e))
    st.stop()
d = t.z.shape[1]
c1, c2, c3 = st.columns(3)
# each embedding keeps its own dimensions: a dimension only a wider embedding has (e.g. 50 of a controller's 64)
# would otherwise be dropped by the narrower one's list and be gone on the way back
switched = st.session_state.get("_dense_dims_embedding", embedding) != embedding
if switched or "dense_dims" not in st.session_state:
    if f"dims:{embedding}" in kept:
        st.session_state["dense_dims"] = kept[f"dims:{embedding}"]
    elif switched:
        st.session_state["dense_dims"] = [0, 1, 2][: min(3, d)]
st.session_state["_dense_dims_embedding"] = embedding
_ui.from_url("dense_dims", "dims", [0, 1, 2][: min(3, d)], parse=int, valid=_ui.in_range(0, d - 1), many=True)
dims = c1.multiselect("Latent dimensions", list(range(d)), key="dense_dims")
kept[f"dims:{embedding}"] = list(dims)
_ui.from_url("dense_topk", "top_k", 3, parse=int, valid=_ui.in_range(1, 10))
top_k = c2.slider("top-k (Eq. 4)", 1, 10, key="dense_topk")
_ui.from_url("dense_sigma", "sigma", 0.25, parse=float, valid=lambda v: 0.05 <= v <= 1.0)
sigma = c3.slider("sigma (standardised units)", 0.05, 1.0, step=0.05, key="dense_sigma")

# the strategy widget is further down; its value (from the last run or the URL) decides whether a region is asked for
_ui.from_url("dense_strategy", "strategy", next(iter(D.STRATEGY_LABELS)), valid=_ui.one_of(D.STRATEGY_LABELS))
uses_region = st.session_state.get("dense_strategy") == "region"
source = "Eq. 4 bands (sliders below)"
map_region = st.session_state.get("search_region")
if uses_region:
    if map_region and map_region.get("space", "nb201") != space:
        what = ("The Cell editor's neighbourhood is" if map_region.get("origin") == "editor" else
                "The map selection was drawn")
        st.caption(f"{what} on the {map_region.get('space')} map; it can only be searched in that space. Select "
                   f"cells on the {space} map to search them here.")
        map_region = None
    elif not map_region:
        st.caption("No map selection yet: box- or lasso-select cells on the Latent map and press \"Use as search "
                   "region\" to bring it here.")
    sources = [source] + (["map selection"] if map_region else [])
    source = st.radio("Region for region search", sources, index=len(sources) - 1, horizontal=True,
                      key="dense_source")

chosen = {}
if dims:
    bands = D.eq4_bands(t, dims, top_k, sigma)
    with st.expander("Your interval per dimension (defaults: the hull of the Eq. 4 bands)",
                     expanded=source.startswith("Eq")):
        for s in dims:
            lo, hi = float(t.z[:, s].min()), float(t.z[:, s].max())
            hlo, hhi = D.band_hull(bands[s])
            chosen[s] = st.slider(f"dim {s}", lo, hi, (max(lo, hlo), min(hi, hhi)), key=f"dense_iv_{embedding}_{s}")
    fig = D.fig_bands(t, bands, chosen if source.startswith("Eq") else None)
    _ui.chart(fig, key="dense_bands", name=f"eq4-bands-{embedding}-dims-{'-'.join(map(str, dims))}")
    st.caption(f"Bands: the top {top_k} cells by {t.signal}, +- {sigma:g} standard deviations of each dimension.")
else:
    st.info("Choose at least one latent dimension to see the Eq. 4 bands.")

# -- search settings --------------------------------------------------------------------------
st.header("Search")
strategy = st.selectbox("Strategy", list(D.STRATEGY_LABELS), format_func=D.STRATEGY_LABELS.get, key="dense_strategy")
c1, c2, c3 = st.columns(3)
eps1 = c1.slider("eps1: sample in the promising region", 0.0, 1.0, 0.5, 0.05, key="dense_eps1")
eps2 = c2.slider("eps2: sample at the FLOPs edge", 0.0, 1.0, 0.1, 0.05, key="dense_eps2")
eps3 = 1.0 - eps1 - eps2
c3.metric("eps3 = 1 - eps1 - eps2: anywhere", f"{eps3:.2f}")
problems = []
if eps1 + eps2 > 1 + 1e-9:
    problems.append(f"eps1 + eps2 = {eps1 + eps2:.2f} exceeds 1: eps3 = 1 - eps1 - eps2 would be negative. "
                    "Lower eps1 or eps2 so that they add up to at most 1.")
fmax = float(np.max(t.flops))
c1, c2, c3, c4 = st.columns(4)
flops = c1.number_input("FLOPs limit F (MFLOPs; max = no limit)", 1.0, fmax, fmax, key="dense_flops")
_ui.from_url("dense_budget", "budget", 100, parse=int, valid=_ui.in_range(1, 5000))
budget = int(c2.number_input("Budget (queries)", 1, 5000, key="dense_budget"))
seeds = int(c3.number_input("Seeds", 1, 20, 1, key="dense_seeds"))
seed0 = int(c4.number_input("First seed", 0, 10_000, 0, key="dense_seed0"))
c1, c2, c3 = st.columns(3)
devices = ["cpu"] + (["cuda"] if _gpu() else [])
device = c1.selectbox("Device", devices, key="dense_device",
                      help="Where the search's models compute. " + ("A CUDA GPU is available on this server."
                                                                  if len(devices) > 1 else
                                                                  "This server has no CUDA GPU, so searches run on "
                                                                  "its CPU."))
backend = c2.selectbox("Backend", ["local", "ray"], key="dense_backend")
compare = c3.multiselect("Also launch baselines (same budget and seeds)", list(D.BASELINES), key="dense_compare")

region = None
if strategy == "region":
    try:
        if source == "map selection":
            region = D.map_region(map_region)
            n_sel = map_region.get("n")
            n_sel = f"{n_sel:,}" if isinstance(n_sel, int) else "?"
            if map_region.get("origin") == "editor":  # the Cell editor's "Use its neighbourhood", not a map selection
                what = f"the Cell editor's neighbourhood of #{map_region.get('anchor', '?')} ({n_sel} cells)"
            else:
                what = f"the map selection ({n_sel} cells selected, {region['kind']})"
        else:
            region = D.intervals_region(embedding, chosen)
            what = "your intervals on dims " + ", ".join(map(str, chosen))
        n = region_size(json.dumps(region, sort_keys=True), dataset, space)
        st.caption(f"Region: {what}; {n:,} cells inside.")
    except NasvizError as e:
        problems.append(f"The region cannot be searched: {e}")
        region = None
elif strategy == "dense":
    st.caption("Dense sampling learns its own Eq. 4 region from the cells it queries (top-k and sigma above).")

for p in problems:
    st.error(escape_markdown(p))
db = default_db_path()
st.caption(f"Runs are stored in {db} (NASVIZ_DB picks another file); the Search runs page lists them.")
if st.button("Launch", type="primary", disabled=bool(problems), key="dense_launch"):
    try:
        params = D.dense_params(strategy, embedding=embedding, eps1=eps1, eps2=eps2,
                                flops_limit=None if flops >= fmax else float(flops), top_k=top_k, sigma=sigma)
        with st.spinner("Validating and starting the workers..."):
            kw = dict(space=space, dataset=dataset, budget=budget, seeds=seeds, seed0=seed0, device=device, backend=backend, db=db)
            store, ids, handles = D.launch(strategy, params=params, region=region, **kw)
            base_ids = []
            for b in compare:
                if b == strategy:
                    continue
                _, bi, bh = D.launch(b, store=store, **kw)
                base_ids += bi
                handles += bh
            store.close()  # no connection is held between reruns: each poll opens the file afresh
        st.session_state[BATCH] = {"db": str(db), "ids": ids, "baselines": base_ids, "dataset": dataset,
                                   "strategy": strategy, "space": space}
        st.session_state[JOBS] = handles
        st.success(f"Started run(s) {', '.join(f'#{i}' for i in ids + base_ids)} in the background.")
    except NasvizError as e:
        st.error(escape_markdown(e))

_ui.to_url(space=space, embedding=embedding, dataset=dataset, dims=dims or None, top_k=top_k, sigma=sigma,
           strategy=strategy, budget=budget)

# -- progress and results ---------------------------------------------------------------------
batch = st.session_state.get(BATCH)
if batch and batch.get("space", "nb201") != space:  # the other space's batch: switching space clears it
    st.session_state.pop(BATCH, None)
    st.session_state.pop(JOBS, None)
    batch = None
if not batch:
    st.stop()
all_ids = batch["ids"] + batch["baselines"]
try:
    with Store(batch["db"], create=False) as s:
        running = not all(s.get_run(i).state.finished for i in all_ids)
except NasvizError as e:
    st.error(escape_markdown(e))
    st.stop()


@st.fragment(run_every=1.0 if running else None)
@_ui.guarded
def progress() -> None:
    with Store(batch["db"], create=False) as s:
        runs = _progress(s)
    if running and all(r.state.finished for r in runs):
        st.rerun()  # the whole page, to draw the results


def _progress(s: Store) -> list:
    from nasviz.search import jobs as J

    local = [j for j in st.session_state.get(JOBS, []) if isinstance(j, J.LocalJob)]
    for j in local:
        j.poll()  # reaps the worker; a worker that died leaves its run failed
    if not local:
        J.reap_stale(s)
    runs = [s.get_run(i) for i in all_ids]
    st.subheader("Progress")
    for r in runs:
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        c1.progress(min(1.0, r.progress / r.budget),
                    text=f"run #{r.id} {r.strategy} seed {r.seed}: {r.progress}/{r.budget} [{r.state.value}]")
        with c2:
            _path_link(r.id)
        if r.error:
            _ui.failed_run(r)
    curves = {f"#{r.id} {r.strategy} (seed {r.seed})": R.trials_frame(s.trials(r.id)) for r in runs}
    curves = {k: f for k, f in curves.items() if len(f)}
    if curves:
        _ui.chart(R.fig_curves(curves), key="dense_progress_curve", name="dense-progress", lean=False)
    main = [tr for i in batch["ids"] for tr in s.trials(i)]
    st.dataframe(R.trials_frame(s.trials(batch["ids"][0])), hide_index=True, height=240, key="dense_trials")
    st.caption(f"Trials of run #{batch['ids'][0]} ({len(main)} trials in this launch's {batch['strategy']} runs).")
    return runs


def _path_link(rid: int) -> None:
    """Open the Search runs page on this run's path through the latent map (it updates live there too)."""
    params = {"run": str(rid), "view": "path"}
    try:
        st.page_link("pages/runs.py", label=f"Path of #{rid} on the map", icon=":material/route:",
                     query_params=params)
    except StreamlitPageNotFoundError:  # the page run on its own (no st.navigation, e.g. AppTest): a plain link
        st.markdown(f"[Path of #{rid} on the map](runs?run={rid}&view=path)")


progress()
if running:
    st.info("The search runs in the background; this section refreshes every second. You can leave the page.")
    st.stop()

st.header("Results")
done_space = batch.get("space", "nb201")
with Store(batch["db"], create=False) as store:
    runs = [store.get_run(i) for i in batch["ids"]]
    trials = [tr for r in runs for tr in store.trials(r.id)]
    curves = {f"#{r.id} {r.strategy} (seed {r.seed})": R.trials_frame(store.trials(r.id)) for r in runs}
    for i in batch["baselines"]:
        b = store.get_run(i)
        curves[f"#{i} {b.strategy} (seed {b.seed}, baseline)"] = R.trials_frame(store.trials(i))
    curves.update(D.baseline_curves(store, dataset=batch["dataset"], space=done_space, exclude=set(all_ids)))
top = D.top_cells_frame(trials, batch["dataset"], done_space)
if top.empty:
    st.warning("The runs finished without a completed trial (see the errors above).")
    st.stop()
_ui.cell_table(top, space=done_space, key="dense_top")
sp = get_space(done_space)
cols = st.columns(min(3, len(top)))
for rank, (col, row) in enumerate(zip(cols, top.to_dict("records"))):
    with col:
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in row.items() if k not in ("index", "cell"))
        st.markdown(f"**{'Best cell' if rank == 0 else f'Cell {rank + 1}'} #{row['index']}**: {metrics}")
        _ui.diagram(cell_dot(done_space, sp.parse(row["cell"])), name=f"{done_space}-cell-{row['index']}",
                    key=f"dense_cell_{rank}")
curves = {k: f for k, f in curves.items() if len(f)}
if len(curves) > len(runs):
    _ui.chart(R.fig_curves(curves), key="dense_vs_baselines", name="dense-vs-baselines")
    st.caption("Best so far against the baselines' runs (this launch's and stored complete ones).")
else:
    st.caption("No baseline runs stored for this dataset yet: tick a baseline above to compare.")

"""Architecture distributions: anytime weights, regret and edge dependence of stored supernet runs;
launch a run as a background job and watch it."""

import pandas as pd
import streamlit as st

from nasviz.distributions import figures as F
from nasviz.distributions.learners import METHODS, UNAS_ESTIMATORS
from nasviz.errors import NasvizError
from nasviz.search.store import default_db_path
from nasviz.viz import distributions as D
from nasviz.viz.markdown import escape_markdown
from pages import _ui

JOB, HANDLE = "dist_job", "dist_job_handle"


@st.cache_resource(show_spinner=False)
def runs_index():
    return D.list_runs()


@st.cache_resource(show_spinner=False)
def runs(names: tuple[str, ...], db: str):  # folder runs and complete store runs never change
    return D.load_runs({**runs_index(), **D.store_runs(db)}, names)


@st.cache_data(show_spinner=False, max_entries=64)
def weights_spec(names: tuple[str, ...], db: str, per_epoch: bool, edges: tuple[int, ...]) -> str:
    """The anytime-weights chart (a panel per run and edge, five op curves each) as the chart component's JSON:
    building it takes ~0.3 s a session; the runs behind it never change (see runs())."""
    return _ui.lean_spec(F.anytime_weights_figure(runs(names, db), per_epoch=per_epoch, edges=list(edges)))


st.title("Architecture distributions")
st.markdown(
    "Each run trains an NB201 supernet and learns a distribution over cells: DARTS (softmax weights), Gumbel-"
    "softmax, VIM-NAS (a small conv net turning noise into dependent edge distributions) and UNAS (REBAR/RELAX "
    "gradient estimators). The anytime weights reproduce VIM-NAS Fig. 2/6/7, the regret curve scores the cell each "
    "distribution would pick at every step with its real NB201 test accuracy, and the mutual-information matrices "
    "show whether edges are chosen independently."
)

# -- launch a run as a background job ---------------------------------------------------------
db = default_db_path()
with st.expander("Launch a run (background job)", expanded=JOB in st.session_state):
    c1, c2, c3, c4 = st.columns(4)
    _ui.from_url("dist_new_method", "method", "vimnas", valid=_ui.one_of(METHODS))
    method = c1.selectbox("Method", list(METHODS), key="dist_new_method")
    _ui.from_url("dist_new_seed", "seed", 0, parse=int, valid=_ui.in_range(0, 10_000))
    seed = int(c2.number_input("Seed", 0, 10_000, key="dist_new_seed"))
    epochs = int(c3.number_input("Epochs (14 steps each on digits)", 1, 100, 3, key="dist_new_epochs"))
    max_steps = int(c4.number_input("Stop after steps (0: all)", 0, 100_000, 0, key="dist_new_max_steps"))
    c1, c2, c3, c4 = st.columns(4)
    lam = c1.number_input("UNAS lambda (Eq. 8)", value=0.5, step=0.1, key="dist_new_lambda",
                          disabled=method != "unas")
    estimator = c2.selectbox("UNAS estimator", list(UNAS_ESTIMATORS), key="dist_new_estimator",
                             disabled=method != "unas")
    dataset = c3.text_input("Data", "digits", key="dist_new_dataset",
                            help="'digits' (scikit-learn, offline), or a CIFAR-10 python-version folder inside the "
                                 "project's data/ folder (or data/ in the nasviz user folder), named relative to "
                                 "it, e.g. cifar10/cifar-10-batches-py.")
    backend = c4.selectbox("Backend", ["local", "ray"], key="dist_new_backend",
                           help="local: a detached worker process; ray: a Ray task.")
    st.caption(f"The run is stored in {db} (NASVIZ_DB picks another file); `nasviz search list` and the Search "
               "runs page list it too.")
    if st.button("Launch", type="primary", key="dist_launch"):
        try:
            with st.spinner("Checking the inputs and the data, starting the worker..."):
                path, rid, handle = D.launch(method, seed=seed, epochs=epochs, max_steps=max_steps, lam=lam,
                                             estimator=estimator, dataset=dataset, backend=backend, db=db,
                                             app=True)
            st.session_state[JOB] = {"db": str(path), "id": rid, "shown": False}
            st.session_state[HANDLE] = handle
            st.success(f"Started run #{rid} in the background.")
        except NasvizError as e:
            st.error(escape_markdown(e))

job = st.session_state.get(JOB)
if job:
    try:
        running = not D.job_status(job["db"], job["id"])[0].state.finished
    except NasvizError as e:
        st.error(escape_markdown(e))
        running = False

    @st.fragment(run_every=1.0 if running else None)
    @_ui.guarded
    def watch() -> None:
        from nasviz.search import jobs as J

        handle = st.session_state.get(HANDLE)
        if isinstance(handle, J.LocalJob):
            handle.poll()  # reaps the worker; one that died leaves its run failed
        run, part = D.job_status(job["db"], job["id"])
        st.progress(min(1.0, run.progress / run.budget),
                    text=f"Run #{run.id} {run.strategy} seed {run.seed}: step {run.progress}/{run.budget} "
                         f"[{run.state.value}]")
        if run.error:
            _ui.failed_run(run)
        if not run.state.finished and st.button("Cancel the run", key="dist_cancel"):
            from nasviz.search.store import Store

            with Store(job["db"], create=False) as s:
                s.request_cancel(run.id)
            st.info("Cancel requested: the worker stops after its current step.")
        if part is not None and run.state.value != "complete":
            _ui.chart(F.anytime_weights_figure([part], per_epoch=False), key="dist_live_weights", lean=False,
                      name=f"distributions-run{run.id}-live-weights")
            st.caption(f"Anytime weights of run #{run.id} so far ({part.steps} steps); its cell now: "
                       f"{part.final_cell().to_str()}, CIFAR-10 regret {part.regret('cifar10')[-1]:.2f}.")
        if running and run.state.finished:
            st.rerun()  # the whole page: the finished run joins the stored runs below

    watch()

# -- stored runs ------------------------------------------------------------------------------
try:
    stored = D.store_runs(db)
except NasvizError as e:
    st.error(escape_markdown(e))
    stored = {}
index = {**runs_index(), **stored}
if not index:
    st.info("No stored distribution runs in benchmarks/results/distribution_runs/ or the run database: launch "
            "one above, or run `python benchmarks/bench_distributions.py` or `nasviz distribution run`.")
    st.stop()
names = list(index)
default = [n for n in names if n.endswith("-seed0") and "@" not in n]
if job and not job["shown"]:  # the run launched here, once complete, joins the chosen runs
    mine = [n for n, v in stored.items() if isinstance(v, D.StoredRun) and v.run_id == job["id"]]
    if mine:
        st.session_state["dist_runs"] = [n for n in st.session_state.get("dist_runs", default) if n in index] + mine
        job["shown"] = True
_ui.from_url("dist_runs", "runs", default, many=True, valid=_ui.one_of(names))
chosen = st.multiselect("Runs", names, key="dist_runs",
                        help="<method>[@variant]-seed<N> from benchmarks/results/distribution_runs/; "
                             "<method>@run<ID>-seed<N> from the run database.")
_ui.to_url(method=method, seed=seed, runs=chosen or None)
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
with st.spinner("Loading runs..."):
    rs = runs(tuple(chosen), str(db))

c1, c2, c3 = st.columns(3)
edge_labels = list(F.EDGE_LABELS)
edges = c1.multiselect("Edges", range(len(edge_labels)), default=list(range(len(edge_labels))),
                       format_func=lambda e: edge_labels[e], key="dist_edges")
per_epoch = c2.toggle("x axis in epochs", True, key="dist_per_epoch")
_ui.from_url("dist_dataset", "dataset", list(rs[0].test_acc)[0], valid=_ui.one_of(rs[0].test_acc))
dataset = c3.selectbox("Regret on", list(rs[0].test_acc), key="dist_dataset")
_ui.to_url(dataset=dataset)

try:
    # the summary first, then the charts in one frame (_ui.charts: plotly.js loads once for all four)
    summary = [{"run": n, "final cell": r.final_cell().to_str(),
                f"{dataset} test %": round(float(r.test_acc[dataset][-1]), 2),
                "regret": round(float(r.regret(dataset)[-1]), 2),
                "final mean max p": round(float(r.probs[-1].max(axis=1).mean()), 3)} for n, r in zip(chosen, rs)]
    _ui.small_table(pd.DataFrame(summary))
    figs = []
    if edges:
        figs.append((weights_spec(tuple(chosen), str(db), per_epoch, tuple(edges)), "distributions-anytime-weights"))
    else:
        st.info("Pick at least one edge to see its anytime weights.")
    figs.append((F.regret_figure(rs, dataset, per_epoch=per_epoch), f"distributions-regret-{dataset}"))
    mi = F.run_mutual_information(rs)
    if mi:
        figs.append((F.mutual_information_figure(mi), "distributions-mutual-information"))
    else:
        st.info("These runs stored no mutual-information matrices.")
    if any(r.estimator_variance for r in rs):
        figs.append((F.estimator_variance_figure(rs), "distributions-estimator-variance"))
    _ui.charts(figs)
except NasvizError as e:
    st.error(escape_markdown(e))

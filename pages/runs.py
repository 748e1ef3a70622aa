"""Runs: every search run in the store, their curves, trials, best cells and path on the latent map; cancel,
resume, export. Refreshes itself while a shown run is queued or running."""

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.search.store import RunState, Store, default_db_path
from nasviz.spaces import get_space
from nasviz.viz import runs as R
from nasviz.viz.diagrams import cell_dot
from nasviz.viz.maps import PROJECTION_LABELS, SPACE_LABELS
from nasviz.viz.markdown import escape_markdown
from pages import _map_data, _ui

POLL_S = 2.0  # how often the live part of the page re-reads the store while a shown run is queued or running
LIVE = (RunState.QUEUED, RunState.RUNNING)
MESSAGE = "runs_message"  # session state: what the last Cancel/Resume did, shown by the page

st.title("Search runs")
st.markdown(
    "Every search run recorded in the run store (SQLite): its state, progress and best value, the best-so-far "
    "curves of the runs you pick side by side (the regret-style comparison of arch2vec's Tables 2-3 and DNAS's "
    "Fig. 6), and for one run its trials, best cells, exports and its path through the latent map. Runs are "
    "started with `nasviz search run` or from the Dense sampling page."
)

path = default_db_path()
if not path.exists():
    st.info(f"No run store at {path} yet, so no search has run: launch one on the Dense sampling page, or on the "
            "command line with `nasviz search run --strategy random --budget 100` (NASVIZ_DB picks another file).")
    st.stop()
try:
    store = Store(path, create=False)
except NasvizError as e:
    st.error(escape_markdown(e))
    st.stop()
st.caption(f"Store: {path}")

runs = store.list_runs()
if not runs:
    st.info("The store holds no runs yet.")
    st.stop()
table = R.runs_frame(runs)
f1, f2, f3 = st.columns(3)
states = f1.multiselect("State", [s.value for s in RunState], key="runs_state")
strategies = f2.multiselect("Strategy", sorted(table["strategy"].unique()), key="runs_strategy")
spaces = f3.multiselect("Space", sorted(table["space"].unique()), key="runs_space")


def _shown(runs: list) -> list:
    """The runs that pass the filters (newest first)."""
    return [r for r in runs if (not states or r.state.value in states) and (not strategies or r.strategy in strategies)
            and (not spaces or r.space in spaces)]


shown_runs = _shown(runs)
ids = [r.id for r in shown_runs]
live = any(r.state in LIVE for r in shown_runs)

_ui.from_url("runs_compare", "compare", R.default_compare(shown_runs), parse=int, valid=_ui.one_of(ids), many=True)
st.session_state["runs_compare"] = [i for i in st.session_state["runs_compare"] if i in ids]  # after a filter
if ids:
    _ui.from_url("runs_one", "run", ids[0], parse=int, valid=_ui.one_of(ids))
    if st.session_state["runs_one"] not in ids:  # filtered out
        st.session_state["runs_one"] = ids[0]
_ui.from_url("runs_path", "view", False, parse=lambda v: v == "path")


def _cancel(rid: int) -> None:
    try:
        got = store.request_cancel(rid)
        st.session_state[MESSAGE] = ("success", f"Run #{rid}: " + (
            "cancelled." if got == RunState.CANCELLED else "asked to stop after its current trial."))
    except NasvizError as e:
        st.session_state[MESSAGE] = ("error", str(e))


def _resume(rid: int) -> None:
    from nasviz.search import jobs

    try:
        jobs.resume(store, rid)
        st.session_state[MESSAGE] = ("success", f"Run #{rid} resumed: a worker replays its trials and continues.")
    except NasvizError as e:
        st.session_state[MESSAGE] = ("error", str(e))


def _curves(chosen: list) -> None:
    """Best-so-far curves of the chosen runs, one chart per space (values of two spaces are not comparable)."""
    groups = R.split_by_space(chosen)
    if len(groups) > 1:
        st.warning("These runs search different spaces (" + ", ".join(f"{sp}: " + ", ".join(f"#{r.id}" for r in rs)
                                                                       for sp, rs in groups.items())
                   + "); their values are not comparable, so each space gets its own chart.")
    for sp, rs in groups.items():
        curves = {f"#{r.id} {r.strategy} (seed {r.seed})": R.trials_frame(store.trials(r.id)) for r in rs}
        fig = R.fig_curves(curves)
        if len(groups) > 1:
            fig.update_layout(title=f"Best so far per run: {SPACE_LABELS.get(sp, sp)}")
        key = "runs_curves" if len(groups) == 1 else f"runs_curves_{sp}"
        _ui.chart(fig, key=key, name="runs-" + "-".join(str(r.id) for r in rs), lean=False)


def _path(run) -> None:
    """The run's trials on a latent map, in query order (embedding: the run's own when it names one)."""
    space = run.space
    try:
        sources = {s.name: s for s in _map_data.sources(space)}
    except NasvizError as e:
        st.error(escape_markdown(e))
        return
    names = list(sources)
    own = R.run_source(run.config, space, names)
    key = f"runs_path_src_{run.id}"
    if key not in st.session_state or st.session_state[key] not in names:
        st.session_state[key] = own or _map_data.preferred_source(space, names)
    c1, c2 = st.columns(2)
    name = c1.selectbox("Embedding", names, key=key, format_func=lambda n: sources[n].label + (
        " (this run's)" if n == own else ""))
    projections = list(sources[name].projections)
    pkey = f"runs_path_proj_{run.id}_{name}"
    if pkey not in st.session_state or st.session_state[pkey] not in projections:
        st.session_state[pkey] = R.run_projection(run.config, projections)
    proj = c2.selectbox("Projection", projections, key=pkey, format_func=lambda p: PROJECTION_LABELS.get(p, p))
    trials = store.trials(run.id)
    try:
        xy = _map_data.source(space, name)[proj]
        cells = R.map_indices(space, trials, _map_data.bench(space))
    except NasvizError as e:
        st.error(escape_markdown(e))
        return
    values = [t.value for t in trials]
    numbers = [t.number for t in trials]
    placed = R.search_path(xy, cells, values, numbers)
    fig = R.path_figure(xy, cells, values, numbers=numbers, axis_label=PROJECTION_LABELS.get(proj, proj),
                        budget=run.budget,
                        title=f"Run #{run.id} {run.strategy} on {sources[name].label}, "
                              f"{PROJECTION_LABELS.get(proj, proj)}")
    _ui.chart(fig, key="runs_path_fig", name=f"run-{run.id}-path-{name}-{proj}", lean=False)
    n_on = placed.n_trials - placed.n_outside
    text = (f"{n_on:,} of {placed.n_trials:,} trials on the map, joined in query order and coloured by trial "
            f"number; stars: each new best so far ({int(placed.improved.sum())}), the large red star the run's best.")
    if placed.n_outside:
        text += (f" {placed.n_outside:,} trial(s) are outside the cells this embedding covers and are not drawn, as "
                 "on the latent map.")
    note = sources[name].note(proj)
    st.caption(text + (f" {note}" if note else ""))


@st.fragment(run_every=POLL_S if live else None)
@_ui.guarded
def live_view() -> None:
    """Everything that changes while runs go: re-read from the store on every run of the fragment."""
    if live:
        from nasviz.search import jobs

        jobs.reap_stale(store)  # a worker that died leaves its run failed instead of polled for ever
    now = {r.id: r for r in _shown(store.list_runs())}
    shown = R.runs_frame([now[i] for i in ids if i in now])
    st.caption(f"{len(shown):,} of {len(table):,} runs." + (
        f" Refreshing every {POLL_S:g} s while a shown run is queued or running." if live else ""))
    st.dataframe(shown, hide_index=True, key="runs_table")
    c1, c2 = st.columns(2)
    c1.download_button("Runs as CSV", lambda: shown.to_csv(index=False), "nasviz-runs.csv", mime="text/csv")
    c2.download_button("Runs as JSON", lambda: shown.to_json(orient="records"), "nasviz-runs.json",
                       mime="application/json")

    compare = st.multiselect("Compare the curves of", ids, key="runs_compare",
                             format_func=lambda i: f"#{i} {now[i].strategy} ({now[i].space})" if i in now else f"#{i}")
    if compare:
        _curves([now[i] for i in compare if i in now])

    st.header("One run")
    if not ids:
        st.info("No run passes the filters.")
        _ui.to_url(compare=None, run=None, view=None)
        return
    rid = st.selectbox("Run", ids, key="runs_one", format_func=lambda i: f"#{i}")
    show_path = st.session_state.get("runs_path", False)
    _ui.to_url(compare=compare or None, run=rid, view="path" if show_path else None)
    run = now.get(rid) or store.get_run(rid)
    st.markdown(f"**Run #{run.id}**: {run.strategy} on {run.space}/{run.dataset}, seed {run.seed}, "
                f"{run.progress}/{run.budget} queries, **{run.state.value}**")
    if run.error:
        st.error(escape_markdown(run.error))
    msg = st.session_state.get(MESSAGE)  # dropped at the end, unless a whole-page rerun follows (it shows it again)
    if msg:
        (st.success if msg[0] == "success" else st.error)(escape_markdown(msg[1]))
    b1, b2 = st.columns(2)
    b1.button("Cancel", disabled=run.state.finished, key="runs_cancel", on_click=_cancel, args=(run.id,))
    b2.button("Resume", disabled=run.state not in (RunState.FAILED, RunState.CANCELLED), key="runs_resume",
              on_click=_resume, args=(run.id,))
    trials = store.trials(run.id)
    if st.toggle("Path on the map", key="runs_path",
                 help="The run's trials on a 2-D map of the space, in query order (shareable: ?run=ID&view=path)."):
        st.subheader("Path on the map")
        if trials:
            _path(run)
        else:
            st.info("No trial yet: the path appears as the run queries cells.")
    tf = R.trials_frame(trials)
    _ui.cell_table(tf, space=run.space, key="runs_trials", scope=str(run.id), height=300)
    d1, d2 = st.columns(2)
    d1.download_button("Trials as CSV", lambda: tf.to_csv(index=False), f"run-{run.id}-trials.csv", mime="text/csv")
    d2.download_button("Trials as JSON", lambda: tf.to_json(orient="records"), f"run-{run.id}-trials.json",
                       mime="application/json")
    best = R.best_trials(trials, 3)
    if not best:
        st.info("This run has no completed trial yet.")
    else:
        st.subheader("Best cells")
        cols = st.columns(len(best))
        space = get_space(run.space)
        for col, t in zip(cols, best):
            with col:
                st.markdown(f"**#{t.cell_index}**: value {t.value:.2f} (trial {t.number})")
                try:
                    _ui.diagram(cell_dot(run.space, space.parse(t.cell)), name=f"run-{run.id}-cell-{t.cell_index}",
                                key=f"runs_best_{t.number}")
                except NasvizError as e:
                    st.error(escape_markdown(e))
    if live != any(now[i].state in LIVE for i in ids if i in now) or set(now) - set(ids):
        # the whole page: start polling after a resume, stop once every shown run has finished, list new runs. The
        # Cancel/Resume message stays for that run to show: popped here, it flashed for one frame and was gone
        st.rerun()
    st.session_state.pop(MESSAGE, None)


live_view()

"""Runs: every search run in the store, their curves, trials and best cells; cancel, resume, export."""

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.search.store import RunState, Store, default_db_path
from nasviz.spaces import get_space
from nasviz.viz import runs as R
from nasviz.viz.diagrams import cell_dot
from nasviz.viz.markdown import escape_markdown
from pages import _ui

st.title("Search runs")
st.markdown(
    "Every search run recorded in the run store (SQLite): its state, progress and best value, the best-so-far "
    "curves of the runs you pick side by side (the regret-style comparison of arch2vec's Tables 2-3 and DNAS's "
    "Fig. 6), and for one run its trials, best cells and exports. Runs are started with `nasviz search run`."
)

path = default_db_path()
if not path.exists():
    st.info(f"No run store at {path} yet: start a search with `nasviz search run --strategy random --budget 100` "
            "(NASVIZ_DB picks another file).")
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
mask = table["id"] >= 0
for column, chosen in (("state", states), ("strategy", strategies), ("space", spaces)):
    if chosen:
        mask &= table[column].isin(chosen)
shown = table[mask]
st.caption(f"{len(shown):,} of {len(table):,} runs.")
st.dataframe(shown, hide_index=True, key="runs_table")
c1, c2 = st.columns(2)
c1.download_button("Runs as CSV", lambda: shown.to_csv(index=False), "nasviz-runs.csv", mime="text/csv")
c2.download_button("Runs as JSON", lambda: shown.to_json(orient="records"), "nasviz-runs.json",
                   mime="application/json")

ids = shown["id"].tolist()
_ui.from_url("runs_compare", "compare", ids[:3], parse=int, valid=_ui.one_of(ids), many=True)
st.session_state["runs_compare"] = [i for i in st.session_state["runs_compare"] if i in ids]  # after a filter
compare = st.multiselect("Compare the curves of", ids, key="runs_compare",
                         format_func=lambda i: f"#{i} {table.set_index('id').at[i, 'strategy']}")
if compare:
    curves = {f"#{i} {store.get_run(i).strategy} (seed {store.get_run(i).seed})": R.trials_frame(store.trials(i))
              for i in compare}
    _ui.chart(R.fig_curves(curves), key="runs_curves", name="runs-" + "-".join(map(str, compare)))

st.header("One run")
if not ids:
    st.info("No run passes the filters.")
    st.stop()
_ui.from_url("runs_one", "run", ids[0], parse=int, valid=_ui.one_of(ids))
if st.session_state["runs_one"] not in ids:  # filtered out
    st.session_state["runs_one"] = ids[0]
rid = st.selectbox("Run", ids, key="runs_one", format_func=lambda i: f"#{i}")
_ui.to_url(compare=compare or None, run=rid)
run = store.get_run(rid)
st.markdown(f"**Run #{run.id}**: {run.strategy} on {run.space}/{run.dataset}, seed {run.seed}, "
            f"{run.progress}/{run.budget} queries, **{run.state.value}**")
if run.error:
    st.error(escape_markdown(run.error))
b1, b2 = st.columns(2)
if b1.button("Cancel", disabled=run.state.finished, key="runs_cancel"):
    try:
        got = store.request_cancel(run.id)
        st.success(f"Run #{run.id}: " + ("cancelled." if got == RunState.CANCELLED else "asked to stop after its "
                                                                                      "current trial."))
    except NasvizError as e:
        st.error(escape_markdown(e))
if b2.button("Resume", disabled=run.state not in (RunState.FAILED, RunState.CANCELLED), key="runs_resume"):
    from nasviz.search import jobs

    try:
        with st.spinner("Starting a worker..."):
            jobs.resume(store, run.id)
        st.success(f"Run #{run.id} resumed: a worker replays its trials and continues.")
    except NasvizError as e:
        st.error(escape_markdown(e))
trials = store.trials(run.id)
tf = R.trials_frame(trials)
st.dataframe(tf, hide_index=True, height=300, key="runs_trials")
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

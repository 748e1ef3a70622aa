"""Architecture distributions: anytime weights, regret and edge dependence of stored supernet runs."""

import streamlit as st

from nasviz.distributions import figures as F
from nasviz.errors import NasvizError
from nasviz.viz import distributions as D
from nasviz.viz.markdown import escape_markdown


@st.cache_resource(show_spinner=False)
def runs_index():
    return D.list_runs()


@st.cache_resource(show_spinner=False)
def runs(names: tuple[str, ...]):
    return D.load_runs(runs_index(), names)


st.title("Architecture distributions")
st.markdown(
    "Each run trains an NB201 supernet and learns a distribution over cells: DARTS (softmax weights), Gumbel-"
    "softmax, VIM-NAS (a small conv net turning noise into dependent edge distributions) and UNAS (REBAR/RELAX "
    "gradient estimators). The anytime weights reproduce VIM-NAS Fig. 2/6/7, the regret curve scores the cell each "
    "distribution would pick at every step with its real NB201 test accuracy, and the mutual-information matrices "
    "show whether edges are chosen independently."
)

index = runs_index()
if not index:
    st.info("No stored distribution runs in benchmarks/results/distribution_runs/: run "
            "`python benchmarks/bench_distributions.py` or `nasviz distribution run`.")
    st.stop()
names = list(index)
default = [n for n in names if n.endswith("-seed0") and "@" not in n]
chosen = st.multiselect("Runs", names, default=default, key="dist_runs",
                        help="<method>[@variant]-seed<N>; from benchmarks/results/distribution_runs/.")
if not chosen:
    st.info("Pick at least one run.")
    st.stop()
with st.spinner("Loading runs..."):
    rs = runs(tuple(chosen))

c1, c2, c3 = st.columns(3)
edge_labels = list(F.EDGE_LABELS)
edges = c1.multiselect("Edges", range(len(edge_labels)), default=list(range(len(edge_labels))),
                       format_func=lambda e: edge_labels[e], key="dist_edges")
per_epoch = c2.toggle("x axis in epochs", True, key="dist_per_epoch")
dataset = c3.selectbox("Regret on", list(rs[0].test_acc), key="dist_dataset")

try:
    if edges:
        st.plotly_chart(F.anytime_weights_figure(rs, per_epoch=per_epoch, edges=edges), key="dist_weights")
    else:
        st.info("Pick at least one edge to see its anytime weights.")
    st.plotly_chart(F.regret_figure(rs, dataset, per_epoch=per_epoch), key="dist_regret")
    summary = [{"run": n, "final cell": r.final_cell().to_str(),
                f"{dataset} test %": round(float(r.test_acc[dataset][-1]), 2),
                "regret": round(float(r.regret(dataset)[-1]), 2),
                "final mean max p": round(float(r.probs[-1].max(axis=1).mean()), 3)} for n, r in zip(chosen, rs)]
    st.dataframe(summary, hide_index=True)
    mi = F.run_mutual_information(rs)
    if mi:
        st.plotly_chart(F.mutual_information_figure(mi), key="dist_mi")
    else:
        st.info("These runs stored no mutual-information matrices.")
    if any(r.estimator_variance for r in rs):
        st.plotly_chart(F.estimator_variance_figure(rs), key="dist_variance")
except NasvizError as e:
    st.error(escape_markdown(e))

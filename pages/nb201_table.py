"""NB201 table: every cell with its real benchmark results, filters, and one cell's diagram."""

import streamlit as st

from nasviz.bench.nb201 import NB201Benchmark
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import OPS
from nasviz.viz.diagrams import OP_LABELS, VIEWS, nb201_dot
from nasviz.viz.markdown import escape_markdown
from pages import _ui
from nasviz.viz.tables import (
    ACCURACY_COLUMNS, ARCH, FLOPS, INDEX, KEY_COLUMNS, OP_COUNT_COLUMNS, OP_COUNT_SHORT, PARAMS, column_range,
    filter_nb201,
    nb201_frame, nb201_metrics_frame, nb201_ranks,
)

TABLE_KEY, ARCH_KEY, SHOWN_KEY = "nb201_table", "nb201_arch", "nb201_shown_index"


@st.cache_resource
def benchmark() -> NB201Benchmark:
    return NB201Benchmark()


@st.cache_data
def frame():
    return nb201_frame(benchmark())


@st.cache_data
def filtered(text, with_ops, without_ops, ranges, sort_by, descending):
    return filter_nb201(frame(), text=text, with_ops=with_ops, without_ops=without_ops, ranges=dict(ranges),
                        sort_by=sort_by, descending=descending)


def _outward(lo: float, hi: float, step: float) -> tuple[float, float]:
    return round(int(lo / step) * step, 6), round((int(hi / step) + 1) * step, 6)


def _select_row() -> None:
    rows = st.session_state[TABLE_KEY].selection.rows
    if rows:
        st.session_state[ARCH_KEY] = str(int(st.session_state[SHOWN_KEY][rows[0]]))


bench, table = benchmark(), frame()
best_c10, _ = bench.best("test", "cifar10", 200)

st.title(f"NAS-Bench-201: all {len(table):,} cells")
st.markdown(
    "Each row is one NAS-Bench-201 cell (Dong & Yang, ICLR 2020: the benchmark itself, which every other page "
    "builds on) with its real benchmark results: test accuracy after 200 epochs on "
    "CIFAR-10, CIFAR-100 and ImageNet16-120, the cheap 12-epoch CIFAR-10 validation accuracy, and the "
    "network's parameters and FLOPs. Filter and sort the table, then pick a row (or type an official arch "
    "string or index) to see that cell's diagram and every metric the benchmark holds for it."
)

c1, c2, c3 = st.columns([2, 1, 1])
_ui.from_url("nb201_text", "q", "")
text = c1.text_input("Arch string contains", key="nb201_text", placeholder="e.g. skip_connect~0 or |+|nor_conv_3x3~0|",
                     help="Case-insensitive substring of the official string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|")
with_ops = c2.multiselect("Has op on some edge", OPS)
without_ops = c3.multiselect("Has op on no edge", OPS)
c4, c5, c6, c7 = st.columns([1, 1.4, 1.4, 1])
acc_col = c4.selectbox("Accuracy filter column", ACCURACY_COLUMNS)
acc_lo, acc_hi = _outward(*column_range(table, acc_col), 0.1)
acc_range = c5.slider(f"{acc_col} range", acc_lo, acc_hi, (acc_lo, acc_hi), step=0.1, key=f"range_{acc_col}")
p_lo, p_hi = _outward(*column_range(table, PARAMS), 0.01)
params_range = c6.slider("params (M) range", p_lo, p_hi, (p_lo, p_hi), step=0.01)
sort_options = [INDEX, *[k.name for k in KEY_COLUMNS], *OP_COUNT_COLUMNS.values()]
sort_by = c7.selectbox("Sort by", sort_options, index=1)
descending = c7.toggle("Descending", value=True)

try:
    shown = filtered(text, tuple(with_ops), tuple(without_ops),
                     ((acc_col, tuple(acc_range)), (PARAMS, tuple(params_range))), sort_by, descending)
except NasvizError as e:
    st.error(escape_markdown(e))
    shown = table.iloc[:0]
st.session_state[SHOWN_KEY] = shown[INDEX].to_numpy()
st.caption(f"{len(shown):,} of {len(table):,} cells match. Click a row to show that cell below.")

column_config = {
    INDEX: st.column_config.NumberColumn("index", help="official NB201 index", format="%d", width="small"),
    ARCH: st.column_config.TextColumn("arch", help="official NB201 string", width=630),
    **{k.name: st.column_config.NumberColumn(k.short, help=f"{k.name}: {k.help}", format="%.3f" if k.name == PARAMS
                                             else "%.2f") for k in KEY_COLUMNS},
    **{col: st.column_config.NumberColumn(OP_COUNT_SHORT[op], help=f"edges that are {op}", width=46)
       for op, col in OP_COUNT_COLUMNS.items()},
}
st.dataframe(shown, hide_index=True, column_config=column_config, key=TABLE_KEY, on_select=_select_row,
             selection_mode="single-row", height=420)

st.header("Selected cell")
s1, s2, s3 = st.columns([2, 1, 2])
_ui.from_url(ARCH_KEY, "cell", str(best_c10))
_ui.from_url("nb201_view", "view", VIEWS[0], valid=_ui.one_of(VIEWS))
_ui.from_url("nb201_compare", "compare", "")
arch_text = s1.text_input("Official arch string or index", key=ARCH_KEY,
                          help="e.g. 6111 or |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|"
                               "nor_conv_3x3~1|nor_conv_1x1~2|")
view = s2.radio("Diagram view", VIEWS, horizontal=True, key="nb201_view",
                format_func={"edge": "edge ops (NB201)", "node": "node ops (arch2vec)"}.get)
compare_text = s3.text_input("Compare with (optional)", placeholder="an arch string or index", key="nb201_compare",
                             help="Edges whose op differs from this cell are outlined in red.")

_ui.to_url(q=text or None, cell=arch_text.strip() or None, view=view, compare=compare_text.strip() or None)
# bad input in either box gets its message and the page keeps showing a cell: the last one that parsed (or the
# best), and no comparison for a bad "Compare with". The messages go into a container that every run draws, so
# the cell below keeps its place in the page whether or not there is a message (a message inserted before it
# shifted every element after it, and a stale copy of the previous cell's tiles could stay beside the new ones)
notes = st.container()
try:
    cell = bench.space.parse(arch_text)
except NasvizError as e:
    last = st.session_state.get("nb201_cell_ok", str(best_c10))
    cell = bench.space.parse(last)
    notes.error(f"{escape_markdown(e)} — showing #{bench.space.index(cell)} "
             f"({'the last cell that was valid' if 'nb201_cell_ok' in st.session_state else 'the best cell'}).")
else:
    st.session_state["nb201_cell_ok"] = arch_text
try:
    other = bench.space.parse(compare_text) if compare_text.strip() else None
except NasvizError as e:
    other = None
    notes.error(f"Compare with: {escape_markdown(e)} — no comparison drawn.")

record = bench.record(cell)
ranks = nb201_ranks(table, record["index"])
st.subheader(f"Cell #{record['index']}")
_ui.code_line(record["arch"])
same = "it is its own canonical form" if record["canonical_index"] == record["index"] else (
    f"NAS-Bench-201 counts it as the same architecture as #{record['canonical_index']} "
    f"{escape_markdown(record['canonical'])} (its own identity rule: skip is the identity and an op on a zero "
    "input is zero; trained, the two are separate networks)")
st.caption(f"Canonical form: {same}. Ops on the edges: {', '.join(OP_LABELS[n] for n in cell.names)}.")

tiles = st.columns(len(ACCURACY_COLUMNS) + 1)
for tile, name in zip(tiles, ACCURACY_COLUMNS):
    tile.metric(name, f"{table.at[record['index'], name]:.2f}")
    tile.caption(f"rank {ranks[name]:,} of {len(table):,}")
tiles[-1].metric("params / FLOPs (M)", f"{table.at[record['index'], PARAMS]:.3f} / "
                 f"{table.at[record['index'], FLOPS]:.1f}")

d1, d2 = st.columns([1, 1.3])
with d1:
    _ui.diagram(nb201_dot(cell, view=view, compare=other), name=f"nb201-cell-{record['index']}-{view}",
                key="nb201_diagram", width="stretch")
    if other is not None:
        st.caption(f"Compared with #{bench.space.index(other)}: {len(cell.diff(other))} edge(s) differ.")
with d2:
    st.markdown("**Every metric of this cell** (accuracies in %, mean over the benchmark's seeds)")
    metrics = nb201_metrics_frame(record)
    st.table(metrics.style.format({c: "{:.4f}" if c == PARAMS else "{:.2f}" for c in metrics.columns}, na_rep="–"))
    st.caption("NB201 trains `cifar10` on train+valid, so it has no separate valid split; "
               "`cifar10-valid` is trained on train only. Sources: data/nb201/SOURCE.md.")

"""Short guided lessons for students (the app's Learn page), built without Streamlit.

Each lesson explains one idea in a few plain sentences, draws ONE figure from the real
data, models or stored results (through the same ``nasviz.viz`` functions the full pages
use), asks a multiple-choice question and answers it with numbers computed from what the
figure shows, never typed in. It also names the full page and the query parameters
(the ones that page reads through ``pages/_ui.from_url``) that open it in the same state.

* :data:`LESSONS` -- the lessons' words: title, text, question, options, target page;
* :func:`build` -- lesson ``n``'s :class:`LessonResult` (figure, the option the data makes
  right, the answer text, the numbers behind it, the link's query parameters);
* one function per lesson (:func:`nb201_cells`, :func:`latent_map`, :func:`traversal`,
  :func:`embeddings`, :func:`dense`, :func:`controller`, :func:`distributions`) taking its
  inputs explicitly, so tests can recompute every fact independently.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nasviz.errors import NasvizError
from nasviz.paths import REPO_ROOT

SEARCH_RESULT = REPO_ROOT / "benchmarks" / "results" / "search.json"
ACC = "cifar10 test %"  # the NB201 table column most lessons colour and rank by

#: the embedding / models / runs the lessons show (all shipped)
MAP_EMBEDDING, SUPERVISED_EMBEDDING = "nb201-arch2vec", "nb201-arch2vec-supervised"
TRAVERSAL_MODEL, TRAVERSAL_BASELINE = "nb201-bvae-beta1", "nb201-bvae-beta0"
DIST_RUNS = ("darts-seed0", "vimnas-seed0")


@dataclass(frozen=True)
class Lesson:
    number: int
    key: str
    title: str
    text: str  # markdown: a few plain sentences
    question: str
    options: tuple[str, ...]
    page: str  # the full page's file, as app.py lists it
    page_title: str


@dataclass
class LessonResult:
    figure: object  # a plotly Figure
    correct: int  # index into the lesson's options: the one the data makes right
    answer: str  # markdown, every number computed from the data
    facts: dict = field(default_factory=dict)  # the numbers behind the answer (for tests)
    params: dict = field(default_factory=dict)  # query parameters of the full page (lists comma-joined by query())

    def query(self) -> dict[str, str]:
        """The link's query string as ``{name: text}`` (lists comma-joined, as ``_ui.from_url`` reads them)."""
        return {k: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for k, v in self.params.items()}


LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "nb201", "The NAS-Bench-201 space and its cells",
           "A **cell** is a tiny network drawn as a graph: 4 nodes (feature maps) joined by 6 edges, node 0 being "
           "the input and node 3 the output. Each edge applies one of 5 **ops** (operations): *none* (the edge is "
           "cut), *skip* (copy the input), a 1x1 or 3x3 convolution, or 3x3 average pooling. That gives "
           "5^6 = 15,625 possible cells. NAS-Bench-201 trained every one of them, so for each cell we know its real "
           "test accuracy. The heat map shows, for the best 1 % of cells on CIFAR-10, how often each op sits on "
           "each edge (in a random cell every op would get 20 %).",
           "Which op do the best 1 % of cells use most often?",
           ("none (cut the edge)", "skip (copy the input)", "1x1 convolution", "3x3 convolution",
            "3x3 average pooling"),
           "pages/nb201_table.py", "NB201 table"),
    Lesson(2, "map", "What a latent map shows",
           "A **latent model** (here arch2vec, an autoencoder: a network trained to squeeze each cell into 16 "
           "numbers and rebuild the cell from them) gives every cell a point in a 16-dimensional **latent space**. "
           "To look at it we **project** it to 2-D with PCA (the two directions along which the points spread "
           "most). Each dot is a cell, coloured by its real CIFAR-10 test accuracy; the star is the best cell and "
           "the open circles its 8 nearest cells in the latent space. The map is useful for search only if nearby "
           "cells tend to score alike.",
           "On this map, does a cell's nearest neighbour have a similar accuracy?",
           ("Yes: much more similar than two random cells", "About as similar as two random cells",
            "Less similar than two random cells"),
           "pages/latent_map.py", "Latent map"),
    Lesson(3, "traversal", "Traversals and disentanglement",
           "A **traversal** takes one cell's latent code, moves a single one of its numbers (a **coordinate**) "
           "step by step, and decodes each step back into a cell. If the latent space is **disentangled**, each "
           "coordinate controls one simple thing, so a traversal changes one edge at a time. The beta-VAE (DNAS "
           "paper) pushes towards this with a weight beta on how close its codes stay to a plain bell curve. The "
           "figure shows the 6 edges (rows) of the decoded cell at every step (columns) along the coordinate that "
           "changes the cell most.",
           "As the coordinate moves, how do the decoded cells change?",
           ("Mostly one edge at a time", "Several edges at once at most changes", "They do not change at all"),
           "pages/traversal.py", "Latent traversal"),
    Lesson(4, "embeddings", "Supervised vs unsupervised embeddings",
           "arch2vec asks whether a latent space learned **without labels** (unsupervised: only rebuilding the "
           "cell) helps search more than one learned **with labels** (supervised: trained to predict accuracy). "
           "Its Fig. 3 walks randomly through the space, one edit (one edge's op changed) at a time, and measures "
           "the latent distance between cells that are 1, 2, ... edits apart. A good space for search keeps cells "
           "one edit apart close, and cells many edits apart far.",
           "In which embedding are cells one edit apart closest, compared with cells that differ on every edge?",
           ("arch2vec (unsupervised)", "The supervised encoder", "Neither: the two look the same"),
           "pages/correlations.py", "Correlations"),
    Lesson(5, "dense", "Dense sampling",
           "DNAS searches **densely where good cells live**. It takes the top few cells found so far and, on each "
           "latent dimension, marks a band around each of them (Eq. 4: plus or minus sigma standard deviations). "
           "New candidates are drawn mostly inside those bands. The figure plots two latent dimensions (the two "
           "most correlated with accuracy) against the accuracy the search sees (CIFAR-10 validation after 12 "
           "epochs, a cheap early signal), with the bands of the top 3 cells in green.",
           "Are the cells inside the bands on both dimensions better than the average cell?",
           ("Clearly better than average", "About average", "Worse than average"),
           "pages/dense_sampling.py", "Dense sampling"),
    Lesson(6, "controller", "Controller collapse and the memory buffer",
           "ENAS searches with a **controller**: a small recurrent network (an LSTM) that picks the cell's ops one "
           "decision at a time, trained by trial and reward (REINFORCE). Adam & Lorraine found that it **collapses**: "
           "its final **hidden state** (the numbers it carries between decisions) hardly depends on which "
           "architecture it sampled. Their fix is a **memory buffer**: past architectures are kept and the "
           "controller must also rebuild them from its hidden state. The heat map shows the final hidden state "
           "(rows: sampled architectures, columns: neurons) of an untrained, an unsupervised (no buffer) and a "
           "supervised (with buffer) controller, with each neuron's variance below.",
           "Compared with the controller trained with the memory buffer, how much does the hidden state of the "
           "one trained without it vary across the architectures it samples?",
           ("Much less: it has collapsed", "About as much", "More"),
           "pages/controller.py", "Controller study"),
    Lesson(7, "distributions", "Architecture distributions (VIM-NAS / UNAS)",
           "Instead of one best cell, some methods learn a **distribution**: for each edge, a probability for each "
           "op. DARTS keeps one independent softmax per edge; VIM-NAS makes the distribution from random noise "
           "with a small conv network, so edges can depend on each other; UNAS trains such a distribution with "
           "gradient estimators (REBAR / RELAX: ways to tell, from a few sampled cells, which way to change the "
           "probabilities). The figure shows the **anytime weights**: each edge's op "
           "probabilities during training on a supernet (one network holding every op on every edge), for DARTS "
           "(top row) and VIM-NAS (bottom row).",
           "At the end of training, which distribution is more decided (puts more probability on one op per edge)?",
           ("DARTS", "VIM-NAS", "Neither: they end about equally decided"),
           "pages/distributions.py", "Distributions"),
)


def lesson(n: int) -> Lesson:
    for les in LESSONS:
        if les.number == int(n):
            return les
    raise NasvizError(f"no lesson {n}; there are lessons 1..{len(LESSONS)}")


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


# -- shared loaders (read-only, once per process) ---------------------------------------------
@functools.lru_cache(maxsize=None)
def _bench():
    from nasviz.bench import get_benchmark

    return get_benchmark("nb201")


@functools.lru_cache(maxsize=None)
def _table():
    from nasviz.viz.maps import space_frame

    return space_frame("nb201", _bench())


# -- 1. the NB201 space ------------------------------------------------------------------------
def nb201_cells(table, index_ops: np.ndarray, *, top_share: float = 0.01) -> LessonResult:
    """Op share per edge among the best ``top_share`` of cells by CIFAR-10 test accuracy."""
    import plotly.graph_objects as go

    from nasviz.spaces.nb201 import EDGES, OPS
    from nasviz.viz.diagrams import OP_LABELS

    acc = table[ACC].to_numpy(dtype=np.float64)
    ops = np.asarray(index_ops, dtype=np.int64)
    n_top = max(1, int(round(top_share * len(acc))))
    order = np.argsort(-acc, kind="stable")
    top = order[:n_top]
    heat = np.stack([(ops[top] == o).mean(axis=0) for o in range(len(OPS))], axis=1)  # (edges, ops)
    share = {op: float((ops[top] == o).mean()) for o, op in enumerate(OPS)}
    top_op = max(share, key=share.get)
    best, second = int(order[0]), int(order[1])
    best_counts = {op: int((ops[best] == o).sum()) for o, op in enumerate(OPS)}
    none_free = int(np.argmin(heat[:, OPS.index("none")]))
    strong = tuple(int(i) for i in np.unravel_index(np.argmax(heat), heat.shape))  # (edge, op)
    edge_labels = [f"edge {frm}→{to}" for to, frm in EDGES]
    fig = go.Figure(go.Heatmap(z=heat, x=[OP_LABELS.get(o, o) for o in OPS], y=edge_labels, zmin=0, zmax=1,
                               colorscale="Blues", text=np.vectorize(lambda v: f"{100 * v:.0f}%")(heat),
                               texttemplate="%{text}", colorbar=dict(title="share"),
                               hovertemplate="%{y}, %{x}: %{z:.1%} of the top cells<extra></extra>"))
    fig.update_layout(template="plotly_white", height=380, margin=dict(l=40, r=20, t=50, b=40),
                      title=f"Which op sits on each edge in the best {n_top} cells (top {100 * top_share:g} % by "
                            f"{ACC})", yaxis_autorange="reversed")
    answer = (f"**{OP_LABELS.get(top_op, top_op)}**: it is on {_pct(share[top_op])} of the edges of the best "
              f"{n_top} cells ({_pct(1 / len(OPS))} in a random cell). The best cell, #{best} "
              f"({acc[best]:.2f} %), has "
              + ", ".join(f"{c} {OP_LABELS.get(op, op)}" for op, c in best_counts.items() if c)
              + f". The strongest preference: {OP_LABELS.get(OPS[strong[1]], OPS[strong[1]])} on "
              f"{edge_labels[strong[0]]} in {_pct(heat[strong])} of the top cells; *none* is rarest on "
              f"{edge_labels[none_free]}, where {_pct(heat[none_free, OPS.index('none')])} of them cut the edge.")
    facts = {"n_top": n_top, "share": share, "top_op": top_op, "best": best, "second": second,
             "best_counts": best_counts, "heat": heat, "none_rarest_edge": none_free,
             "strongest": strong}
    return LessonResult(fig, OPS.index(top_op), answer, facts, {"cell": best, "compare": second})


# -- 2. a latent map ---------------------------------------------------------------------------
def _nearest(points: np.ndarray, queries: np.ndarray, chunk: int = 256) -> np.ndarray:
    """For each query index, the index of the closest other point (L2)."""
    p = np.asarray(points, dtype=np.float64)
    sq = (p ** 2).sum(1)
    out = np.empty(len(queries), dtype=np.int64)
    for s in range(0, len(queries), chunk):
        q = np.asarray(queries[s:s + chunk])
        d = sq[q][:, None] + sq[None, :] - 2 * p[q] @ p.T
        d[np.arange(len(q)), q] = np.inf
        out[s:s + chunk] = np.argmin(d, axis=1)
    return out


def latent_map(table, src: dict, *, embedding: str = MAP_EMBEDDING, projection: str = "pca", n_shown: int = 4000,
               n_queries: int = 2000, seed: int = 0) -> LessonResult:
    """The map of a seeded sample of cells; the answer compares each query cell's nearest neighbour on the map
    (and in the latent space) with a random partner, by |difference in accuracy|."""
    from nasviz.viz import maps

    acc = table[ACC].to_numpy(dtype=np.float64)
    xy, means = np.asarray(src[projection]), np.asarray(src["means"])
    n = len(acc)
    rng = np.random.default_rng(seed)
    best = int(np.argmax(acc))
    shown = np.union1d(rng.choice(n, size=min(n_shown, n), replace=False), [best])
    nbrs, _ = maps.source_neighbours(src, best, 8)
    label = maps.PROJECTION_LABELS[projection]
    fig, _, _ = maps.map_figure(xy, acc, shown, color_label=ACC, labels=maps.hover_labels("nb201", table, shown),
                                title=f"arch2vec, {label} of the latent means ({len(shown):,} of {n:,} cells)",
                                axis_labels=(f"{label} 1", f"{label} 2"), highlight=best, neighbours=nbrs)
    fig.update_layout(height=520)
    queries = rng.choice(n, size=min(n_queries, n), replace=False)
    partners = rng.integers(0, n - 1, size=len(queries))
    partners = partners + (partners >= queries)  # a random other cell
    map_nn, latent_nn = _nearest(xy, queries), _nearest(means, queries)
    d_map = float(np.mean(np.abs(acc[queries] - acc[map_nn])))
    d_latent = float(np.mean(np.abs(acc[queries] - acc[latent_nn])))
    d_random = float(np.mean(np.abs(acc[queries] - acc[partners])))
    ratio = d_map / d_random
    correct = 0 if ratio < 0.75 else 1 if ratio <= 1.25 else 2
    answer = (f"Over {len(queries):,} random cells, the nearest cell **on the map** differs in accuracy by "
              f"{d_map:.2f} points on average, a random other cell by {d_random:.2f} points ({ratio:.2f} times as "
              f"much). The nearest cell in the full {means.shape[1]}-d **latent space** differs by "
              f"{d_latent:.2f} points"
              + (": the 2-D picture loses some of the structure. " if d_latent < d_map else ". ")
              + f"The best cell's 8 latent neighbours average "
              f"{acc[nbrs].mean():.2f} %, against {np.median(acc):.2f} % for the median cell.")
    facts = {"best": best, "neighbours": [int(i) for i in nbrs], "queries": queries, "d_map": d_map,
             "d_latent": d_latent, "d_random": d_random, "ratio": ratio, "shown": shown, "map_nn": map_nn,
             "latent_nn": latent_nn}
    return LessonResult(fig, correct, answer, facts, {"space": "nb201", "embedding": embedding,
                                                      "projection": projection, "colour": ACC, "cell": best})


# -- 3. traversals -----------------------------------------------------------------------------
def _walk(model, space, anchor, std, span: float, steps: int):
    from nasviz.viz import traversal as T

    dim = T.most_active_dim(model, space, anchor, std, span=span, steps=steps)
    seq = T.traverse(model, space, anchor, dim, std, span=span, steps=steps)
    edits = [s.edit for s in seq if s.valid and s.edit is not None]
    changes = [e for e in edits if e > 0]
    return dim, seq, changes


def traversal(space, table, model, std: np.ndarray, *, baseline=None, baseline_std=None,
              model_name: str = TRAVERSAL_MODEL, baseline_name: str = TRAVERSAL_BASELINE, span: float = 4.0,
              steps: int = 9, sweep: dict | None = None) -> LessonResult:
    """The traversal page's default walk (best cell, the coordinate that decodes to the most distinct cells) as
    an edge x step grid of ops; the answer counts the edges that change at each change of the decoded cell."""
    import plotly.graph_objects as go

    from nasviz.spaces.nb201 import EDGES, OPS
    from nasviz.viz.diagrams import OP_LABELS
    from nasviz.viz.traversal import dim_label

    acc = table[ACC].to_numpy(dtype=np.float64)
    best = int(np.argmax(acc))
    anchor = space.cell(best)
    dim, seq, changes = _walk(model, space, anchor, std, span, steps)
    z = np.full((len(EDGES), len(seq)), np.nan)
    text = np.full(z.shape, "invalid", dtype=object)
    for k, s in enumerate(seq):
        if s.valid:
            z[:, k] = [OPS.index(o) for o in s.cell.names]
            text[:, k] = [OP_LABELS.get(o, o) for o in s.cell.names]
    palette = ["#bdbdbd", "#1f77b4", "#ff7f0e", "#d62728", "#2ca02c"]
    scale = [[v, palette[int(min(i, len(OPS) - 1))]] for i in range(len(OPS)) for v in
             (i / len(OPS), (i + 1) / len(OPS))]
    xs = [f"{s.offset:+.1f}" + (" (anchor)" if s.is_anchor else "") for s in seq]
    fig = go.Figure(go.Heatmap(z=z, x=xs, y=[f"edge {frm}→{to}" for to, frm in EDGES], zmin=-0.5,
                               zmax=len(OPS) - 0.5, colorscale=scale, showscale=False, text=text,
                               texttemplate="%{text}", xgap=2, ygap=2,
                               hovertemplate="offset %{x} std, %{y}: %{text}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=360, margin=dict(l=40, r=20, t=50, b=40),
                      yaxis_autorange="reversed", xaxis_title="offset of the coordinate (its std over all cells)",
                      title=f"{model_name}: cell #{best} with coordinate {dim_label(model, dim)} moved")
    distinct = len({s.index for s in seq if s.valid})
    varying = [f"{frm}→{to}" for e, (to, frm) in enumerate(EDGES) if len(set(z[e][np.isfinite(z[e])])) > 1]
    mean_change = float(np.mean(changes)) if changes else 0.0
    correct = 2 if not changes else 0 if mean_change <= 1.5 else 1
    answer = (f"Along coordinate {dim_label(model, dim)} the {len(seq)} steps decode to {distinct} distinct "
              f"cells ({sum(not s.valid for s in seq)} invalid). The decoded cell changes {len(changes)} times; "
              + (f"each change touches {mean_change:.2f} edges on average ({', '.join(map(str, changes))}), and "
                 f"the edges that ever change are {', '.join(varying)}." if changes else "nothing changes.")
              )
    facts = {"best": best, "dim": dim, "distinct": distinct, "changes": changes, "mean_change": mean_change,
             "varying_edges": varying, "n_invalid": sum(not s.valid for s in seq)}
    if baseline is not None:
        bdim, _, bchanges = _walk(baseline, space, anchor, baseline_std, span, steps)
        bmean = float(np.mean(bchanges)) if bchanges else 0.0
        facts.update(baseline_dim=bdim, baseline_changes=bchanges, baseline_mean_change=bmean)
        answer += (f" For comparison, {baseline_name} (no pressure towards disentangling) changes "
                   f"{bmean:.2f} edges per change along its own most active coordinate "
                   f"{dim_label(baseline, bdim)}.")
    if sweep:
        shipped = {b: s for b, s in sweep.get("summary", {}).items() if s.get("ships")}
        scores = {b: s["score"]["mean"] for b, s in shipped.items()}
        if scores:
            facts["sweep_scores"] = scores
            seeds = {b: len(s.get("seeds") or [0]) for b, s in shipped.items()}
            answer += (" Over all anchors, the stored beta sweep (benchmarks/results/bvae_sweep.json) scores "
                       "disentanglement " + ", ".join(f"{v:.3f} at beta {b}"
                                                     + (f" (mean of {seeds[b]} training seeds)" if seeds[b] > 1 else "")
                                                     for b, v in scores.items())
                       + " (1 = every coordinate controls a single edge)."
                       + (" The Correlations page scores the shipped models, trained with seed 0, so where a beta "
                          "has several seeds its number there is that one seed's." if max(seeds.values()) > 1 else ""))
    return LessonResult(fig, correct, answer, facts, {"space": "nb201", "model": model_name, "anchor": best,
                                                      "dim": dim, "span": float(span), "steps": int(steps)})


# -- 4. supervised vs unsupervised -------------------------------------------------------------
def embeddings(space, means: dict[str, np.ndarray], labels: dict[str, str], *, n: int = 1000,
               seed: int = 0) -> LessonResult:
    """arch2vec Fig. 3 on NB201 for two embeddings; the answer compares, per embedding, the mean L2 at edit
    distance 1 relative to the largest edit distance (scale-free: the two spaces have different units)."""
    from nasviz.viz import correlations as C

    names = list(means)
    curves = {labels[k]: C.edit_distance_curve(means[k], space, n, seed) for k in names}
    fig = C.fig_edit_distance(curves)
    ratio, growth = {}, {}
    for k in names:
        c = curves[labels[k]]["by_edit"]
        ks = sorted(e for e in c if e > 0)
        ratio[k] = c[ks[0]]["mean"] / c[ks[-1]]["mean"]
        growth[k] = (ks[0], ks[-1])
    a, s = names
    close = abs(ratio[a] - ratio[s]) / max(ratio[a], ratio[s]) < 0.05
    correct = 2 if close else 0 if ratio[a] < ratio[s] else 1
    parts = []
    for k in names:
        lo, hi = growth[k]
        rises = " (the distance rises at every edit)" if curves[labels[k]]["monotonic"] else ""
        parts.append(f"**{labels[k]}**: cells {lo} edit apart sit at {100 * ratio[k]:.0f} % of the distance of cells "
                     f"{hi} edits apart{rises}")
    verdict = ("neither keeps one-edit neighbours clearly closer" if close else
               f"{labels[names[correct]]} keeps one-edit neighbours relatively closer")
    scale = {k: curves[labels[k]]["by_edit"][growth[k][0]]["mean"] for k in names}
    answer = ("; ".join(parts) + f". So {verdict} (a random walk of {n:,} cells, seed {seed}). In raw units the "
              "mean distance at one edit is " + " vs ".join(f"{scale[k]:.2f}" for k in names)
              + ": the two spaces have different scales, so only the ratios compare.")
    facts = {"ratio": ratio, "curves": curves}
    return LessonResult(fig, correct, answer, facts, {"embeddings": names, "accuracy": ACC})


# -- 5. dense sampling -------------------------------------------------------------------------
def stored_search(path: Path | None = None) -> dict | None:
    from nasviz.errors import DataFileError
    from nasviz.fileio import read_result

    try:  # a lesson says what it can without a stored result: unreadable counts as absent here
        return read_result(path or SEARCH_RESULT, script="bench_search.py")
    except DataFileError:
        return None


def dense(t, *, top_k: int = 3, sigma: float = 0.25, n_dims: int = 2, search: dict | None = None,
          budget: str = "100") -> LessonResult:
    """Eq. 4 bands on the ``n_dims`` dimensions most correlated (|Spearman|) with the search signal; the answer
    is the mean percentile of the cells inside every band, and the stored dense-vs-random search result."""
    from nasviz.viz import correlations as C
    from nasviz.viz import dense as D

    acc = np.asarray(t.acc, dtype=np.float64)
    ok = np.isfinite(acc)
    rho = C.spearman_columns(t.z[ok], acc[ok])
    dims = sorted(int(d) for d in np.argsort(-np.nan_to_num(np.abs(rho), nan=-1))[:n_dims])
    bands = D.eq4_bands(t, dims, top_k, sigma)
    fig = D.fig_bands(t, bands, None)
    fig.update_layout(title_text=f"{t.embedding}: the 2 dimensions most correlated with accuracy",
                      title_subtitle_text=f"green = bands around the top {top_k} cells")
    inside = np.ones(len(acc), dtype=bool)
    for s in dims:
        inside &= np.any([(t.z[:, s] >= lo) & (t.z[:, s] <= hi) for lo, hi in bands[s]], axis=0)
    inside &= ok
    from scipy.stats import rankdata

    pct = np.full(len(acc), np.nan)
    pct[ok] = (rankdata(acc[ok]) - 0.5) / ok.sum()  # 0 = worst, 1 = best
    mean_pct = float(np.mean(pct[inside]))
    correct = 0 if mean_pct > 0.6 else 1 if mean_pct >= 0.4 else 2
    answer = (f"{int(inside.sum()):,} of {int(ok.sum()):,} cells ({100 * inside.mean():.1f} %) fall inside the bands "
              f"on dims {', '.join(map(str, dims))} (Spearman rho with accuracy, -1..1: how well sorting the cells by "
              "that dimension sorts them by accuracy; "
              + ", ".join(f"{rho[d]:+.2f}" for d in dims) + "). Their mean search signal is "
              f"{np.mean(acc[inside]):.2f} against {np.mean(acc[ok]):.2f} for all cells ({t.signal}): on average "
              f"they rank above {100 * mean_pct:.0f} % of the space.")
    facts = {"dims": dims, "rho": [float(rho[d]) for d in dims], "n_inside": int(inside.sum()),
             "mean_inside": float(np.mean(acc[inside])), "mean_all": float(np.mean(acc[ok])), "mean_pct": mean_pct}
    res = (search or {}).get("results", {}).get("cifar10", {})
    name = f"dense-{t.embedding.removeprefix('nb201-')}"
    if name in res and "random" in res and budget in res[name].get("at", {}) and budget in res["random"]["at"]:
        d, r = res[name], res["random"]
        facts["search"] = {"dense": d["at"][budget]["test_mean"], "random": r["at"][budget]["test_mean"],
                           "seeds": d["seeds"]}
        answer += (f" In the stored searches (benchmarks/results/search.json, {d['seeds']} seeds, {budget} queries), "
                   f"dense sampling on this embedding found cells of {d['at'][budget]['test_mean']:.2f} % CIFAR-10 "
                   f"test accuracy on average, random search {r['at'][budget]['test_mean']:.2f} %.")
    return LessonResult(fig, correct, answer, facts, {"space": "nb201", "embedding": t.embedding,
                                                      "dataset": "cifar10", "dims": dims, "top_k": top_k,
                                                      "sigma": sigma})


# -- 6. controller collapse --------------------------------------------------------------------
def controller(chosen: dict, *, n: int = 50, seed: int = 0, stored: dict | None = None) -> LessonResult:
    """Fig. 3 of Adam & Lorraine for one checkpoint per kind (``chosen``: ``{kind: (ctrl, doc)}``, as the
    controller page's seed selectboxes pick them); the answer is the ratio of mean per-neuron variances."""
    from nasviz.analysis import controller as A
    from nasviz.viz.traversal import one_thread

    hidden, decisions, probs = {}, {}, {}
    with one_thread():
        for kind, (ctrl, _) in chosen.items():
            hidden[kind], decisions[kind] = A.sampled_hidden(ctrl, n, seed)
            probs[kind] = A.max_action_probs(ctrl, n, seed)
    fig = A.fig_hidden_heatmap(hidden, title=f"Final controller hidden state of {n} sampled architectures")
    fig.update_layout(height=560)
    var = A.mean_neuron_variance(hidden)
    distinct = {k: int(len(np.unique(np.asarray(d), axis=0))) for k, d in decisions.items()}
    sure = {k: float(np.asarray(p, dtype=np.float64).mean()) for k, p in probs.items()}
    ratio = var["unsupervised"] / var["supervised"]
    correct = 0 if ratio < 0.5 else 1 if ratio <= 2 else 2
    answer = (f"Mean per-neuron variance of the final hidden state over the {n} sampled architectures: "
              + ", ".join(f"{k} {v:.2e}" for k, v in var.items())
              + f"; without the buffer it is {ratio:.2f} times that with the buffer. How sure each is of its choices "
              "(mean probability of its top op per decision; 0.20 = a blind pick among 5 ops): "
              + ", ".join(f"{k} {v:.2f}" for k, v in sure.items()) + "; and they sample "
              + ", ".join(f"{k} {v}" for k, v in distinct.items()) + f" distinct architectures out of {n}.")
    facts = {"var": var, "ratio": ratio, "distinct": distinct, "sure": sure}
    verdict = (stored or {}).get("verdict")
    if verdict and "numbers" in verdict:
        num = verdict["numbers"]
        facts["stored"] = num
        answer += (f" The stored study over every seed (benchmarks/results/controller.json) measured "
                   f"{num['hidden_var_unsup']:.2e} without and {num['hidden_var_sup']:.2e} with the buffer; its "
                   f"collapse verdict, which also asks that the unsupervised controller's choices depend less on "
                   f"its past decisions, is **{'yes' if verdict.get('collapse_without_buffer') else 'no'}**.")
    params = {"space": "nb201", **{f"seed_{k}": doc.get("seed") for k, (_, doc) in chosen.items()}, "n": n,
              "sample_seed": seed}
    return LessonResult(fig, correct, answer, facts, params)


# -- 7. architecture distributions -------------------------------------------------------------
def distributions(index: dict, *, shown: tuple[str, ...] = DIST_RUNS, dataset: str = "cifar10") -> LessonResult:
    """Anytime weights of a DARTS and a VIM-NAS run; the answer compares the final mean max-probability per edge
    (the shown runs and every seed of the same two variants) and the final cells' regret."""
    from nasviz.distributions import figures as F
    from nasviz.viz import distributions as DI

    missing = [n for n in shown if n not in index]
    if missing:
        raise NasvizError(f"stored distribution runs missing: {', '.join(missing)}")
    runs = DI.load_runs(index, list(shown))
    fig = F.anytime_weights_figure(runs, per_epoch=True)
    fig.update_layout(legend=dict(orientation="h", y=-0.22), margin=dict(b=90))
    final = {n: float(r.probs[-1].max(axis=1).mean()) for n, r in zip(shown, runs)}
    regret = {n: float(r.regret(dataset)[-1]) for n, r in zip(shown, runs)}
    variants = [DI.variant(n) for n in shown]
    seeds = {v: [n for n in index if DI.variant(n) == v] for v in variants}
    over = {v: float(np.mean([r.probs[-1].max(axis=1).mean() for r in DI.load_runs(index, names)]))
            for v, names in seeds.items()}
    a, b = shown
    close = abs(final[a] - final[b]) < 0.05
    correct = 2 if close else 0 if final[a] > final[b] else 1
    answer = ("Mean over the 6 edges of the top op's final probability: "
              + ", ".join(f"**{n}** {final[n]:.2f} (its cell's {dataset} regret {regret[n]:.2f} points)"
                          for n in shown)
              + ". Over every stored seed: " + ", ".join(f"{v} {over[v]:.2f} ({len(seeds[v])} runs)" for v in variants)
              + f". A value of 1 means one op per edge for sure; 0.20 means all 5 ops equally likely. Regret is how "
              f"far the cell the distribution would pick falls below the best NB201 cell on {dataset}.")
    facts = {"final": final, "regret": regret, "over_seeds": over, "n_seeds": {v: len(s) for v, s in seeds.items()}}
    return LessonResult(fig, correct, answer, facts, {"runs": list(shown), "dataset": dataset})


# -- building a lesson from the shipped data -----------------------------------------------------
def build(n: int) -> LessonResult:
    """Lesson ``n`` computed from the shipped table, embeddings, models and stored results."""
    n = lesson(n).number
    if n == 1:
        return nb201_cells(_table(), _bench().space.index_ops)
    if n == 2:
        from nasviz.viz.maps import load_source

        return latent_map(_table(), load_source("nb201", MAP_EMBEDDING))
    if n == 3:
        from nasviz.models import load_model
        from nasviz.paths import models_dir
        from nasviz.viz.traversal import latent_stats

        sp = _bench().space
        m, b = load_model(models_dir() / TRAVERSAL_MODEL), load_model(models_dir() / TRAVERSAL_BASELINE)
        cells = list(sp.enumerate())
        sweep = stored_json("bvae_sweep.json")
        return traversal(sp, _table(), m, latent_stats(m, cells)[1], baseline=b, baseline_std=latent_stats(b, cells)[1],
                         sweep=sweep)
    if n == 4:
        from nasviz.viz.maps import list_sources, load_source

        labels = {s.name: s.label for s in list_sources("nb201")}
        names = (MAP_EMBEDDING, SUPERVISED_EMBEDDING)
        return embeddings(_bench().space, {k: load_source("nb201", k)["means"] for k in names},
                          {k: labels.get(k, k) for k in names})
    if n == 5:
        from nasviz.viz.dense import latent_table

        return dense(latent_table(MAP_EMBEDDING, "cifar10", "nb201"), search=stored_search())
    if n == 6:
        from nasviz.analysis import controller as A
        from nasviz.viz.controller import stored_table1

        ctr = A.load_shipped("nb201")
        chosen = {k: next((item for item in v if item[1].get("seed") == 0), None) for k, v in ctr.items()}
        missing = sorted(k for k in ("unsupervised", "supervised") if chosen.get(k) is None)
        if missing:
            raise NasvizError(f"this lesson needs the seed-0 {' and '.join(missing)} NB201 controller checkpoints "
                              "(models/ in this checkout has none)")
        return controller({k: v for k, v in chosen.items() if v is not None}, stored=stored_table1(space="nb201"))
    from nasviz.viz.distributions import list_runs

    return distributions(list_runs())


def stored_json(name: str) -> dict | None:
    """A stored benchmark result (benchmarks/results/<name>), or None when absent or unreadable."""
    return stored_search(REPO_ROOT / "benchmarks" / "results" / name)

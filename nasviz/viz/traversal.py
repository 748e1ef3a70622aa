"""Latent traversals and nearest-neighbour walks, as data the app draws (no Streamlit here).

* :func:`resolve_anchor` — the cell a traversal starts from: an official index, an NB201
  string, an NB101 hash or JSON spec, or ``best`` (the best cell on the benchmark's
  default accuracy column);
* :func:`latent_stats` — mean and std of every (flattened) latent coordinate over all
  cells of the space: the unit of a traversal's range;
* :func:`traverse` — DNAS Fig. 3: the anchor's latent mean with one coordinate moved
  from ``-span`` to ``+span`` of that coordinate's std (``steps`` points, the anchor's own
  value in the middle for odd ``steps``), decoded; each step records validity, the
  decoded cell's official index and its edit distance to the previous valid decode. The
  offset-0 step is always the anchor; when the model decodes the anchor's code to another
  cell, that step also carries what it decodes to (``decoded_as``), so the page can show both;
* :func:`most_active_dim` — the coordinate whose traversal around the anchor passes through
  the most distinct cells (the page's default);
* :func:`nn_walk` — arch2vec Fig. 5: from a cell, repeatedly the closest cell in latent
  space (L2 on the embeddings) that was not visited yet, with the edit distances;
* :func:`steps_frame` / :func:`traversal_figure` — the table and the accuracy-along-the-
  traversal plot (one line per model, invalid decodes marked).

arch2vec's decodable latent is one 16-d vector per node; its coordinates are numbered
flat (``node * 16 + d``) and :func:`dim_label` names them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nasviz.errors import NasvizError

BEST = "best"


def resolve_anchor(space, bench, text: str):
    """The anchor cell of ``text`` (see the module docstring); NasvizError with the accepted forms."""
    s = str(text).strip()
    if not s:
        raise NasvizError("give an anchor: an official index, an architecture string (NB201) / module hash or "
                          f"JSON spec (NB101), or {BEST!r}")
    if s.lower() == BEST:
        idx, _ = bench.best("test", "cifar10", 200) if space.name == "nb201" else bench.best()
        return space.cell(idx)
    return space.parse(s)


def edit_distance(a, b) -> int:
    """NB201: edges whose op differs; NB101: the arch2vec-encoding distance of the two specs."""
    if hasattr(a, "hamming"):
        return a.hamming(b)
    return a.edit_distance(b)


def dim_label(model, dim: int) -> str:
    shape = tuple(model.latent_shape)
    if len(shape) == 1:
        return f"z{dim}"
    node, d = divmod(int(dim), shape[-1])
    return f"node {node}, z{d}"


def n_dims(model) -> int:
    return int(np.prod(model.latent_shape))


@contextlib.contextmanager
def one_thread():
    """Run torch on one intra-op thread: these models decode a traversal in about a millisecond on one
    thread, while on a shared, loaded machine extra threads only contend (measured 0.5 s with 2 threads
    at load 28). Restores the previous setting."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def latent_stats(model, cells) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of the flattened decodable latent means over ``cells``."""
    cells = list(cells)
    with one_thread():
        lat = np.asarray(model.latent(cells), dtype=np.float64).reshape(len(cells), -1)
    return lat.mean(0), lat.std(0)


def embeddings(model, cells) -> np.ndarray:
    """The model's embedding (``transform``) of every cell, on one thread."""
    with one_thread():
        return np.asarray(model.transform(list(cells)), dtype=np.float32)


@dataclass
class Step:
    offset: float  # in units of the coordinate's std
    value: float  # the coordinate's latent value
    cell: object  # a cell, or nasviz.models.Invalid
    valid: bool
    index: int | None  # official index of the decoded cell
    edit: int | None  # edit distance to the previous valid decode (None for the first / invalid)
    reason: str = ""
    is_anchor: bool = False  # the offset-0 step: always the anchor itself
    decoded_as: object = None  # at offset 0, what the model decodes the anchor to when that is not the anchor
    decoded_index: int | None = None  # ... and its official index (None when invalid)

    @property
    def faithful(self) -> bool:
        """False at offset 0 when the model does not decode the anchor back to itself."""
        return self.decoded_as is None


def traverse(model, space, anchor, dim: int, std: np.ndarray, *, span: float = 2.0, steps: int = 9) -> list[Step]:
    """Decode the anchor's latent with coordinate ``dim`` at ``value(anchor) + t * std[dim]``,
    t in ``linspace(-span, span, steps)`` (one decode call)."""
    from nasviz.models import is_valid

    total = n_dims(model)
    if not 0 <= int(dim) < total:
        raise NasvizError(f"latent dimension {dim} is out of range; this model has {total} (0..{total - 1})")
    if not 2 <= int(steps) <= 51:
        raise NasvizError(f"steps must be 2..51; got {steps}")
    if not 0 < float(span) <= 10:
        raise NasvizError(f"the range must be in (0, 10] std; got {span}")
    offsets = np.linspace(-span, span, int(steps))
    with one_thread():
        z0 = np.asarray(model.latent([anchor]), dtype=np.float32).reshape(-1)
        z = np.repeat(z0[None, :], len(offsets), axis=0)
        z[:, dim] = z0[dim] + offsets * float(std[dim])
        decoded = model.decode(z.reshape(len(offsets), *model.latent_shape))
    out, prev = [], None
    anchor_index = int(space.index(anchor))
    for t, v, c in zip(offsets, z[:, dim], decoded):
        if t == 0:  # the anchor's own code: show the anchor, and what the model makes of it when that differs
            di = int(space.index(c)) if is_valid(c) else None
            wrong = di != anchor_index
            out.append(Step(0.0, float(v), anchor, True, anchor_index,
                            None if prev is None else edit_distance(prev, anchor), "", True,
                            c if wrong else None, di if wrong else None))
            prev = anchor
        elif is_valid(c):
            out.append(Step(float(t), float(v), c, True, int(space.index(c)),
                            None if prev is None else edit_distance(prev, c)))
            prev = c
        else:
            out.append(Step(float(t), float(v), c, False, None, None, getattr(c, "reason", "invalid")))
    return out


def distinct_per_dim(model, space, anchor, std: np.ndarray, *, span: float = 2.0, steps: int = 9) -> np.ndarray:
    """For every latent coordinate, how many distinct valid cells its traversal decodes to (the anchor
    counted at offset 0), in one batched decode call: what a first look at a coordinate would show."""
    from nasviz.models import is_valid

    offsets = np.linspace(-span, span, int(steps))
    with one_thread():
        z0 = np.asarray(model.latent([anchor]), dtype=np.float32).reshape(-1)
        D = z0.size
        z = np.repeat(z0[None, :], D * len(offsets), axis=0)
        for d in range(D):
            z[d * len(offsets):(d + 1) * len(offsets), d] += offsets * float(std[d])
        decoded = model.decode(z.reshape(len(z), *model.latent_shape))
    anchor_index = int(space.index(anchor))
    out = np.zeros(D, dtype=np.int64)
    for d in range(D):
        seen = {anchor_index}
        for t, c in zip(offsets, decoded[d * len(offsets):(d + 1) * len(offsets)]):
            if t != 0 and is_valid(c):
                seen.add(int(space.index(c)))
        out[d] = len(seen)
    return out


def most_active_dim(model, space, anchor, std: np.ndarray, *, span: float = 2.0, steps: int = 9) -> int:
    """The coordinate whose traversal around ``anchor`` passes through the most distinct cells (ties: the
    larger spread over the space): the default a first visit sees, so that it shows something change."""
    counts = distinct_per_dim(model, space, anchor, std, span=span, steps=steps)
    return int(np.lexsort((-np.asarray(std, dtype=np.float64)[:len(counts)], -counts))[0])


def nn_walk(emb: np.ndarray, start: int, n_steps: int = 15) -> tuple[list[int], list[float]]:
    """arch2vec Fig. 5: ``start`` then, ``n_steps`` times, the closest unvisited cell to the previous
    one (L2 on ``emb``). Returns (indices, distance of each step)."""
    e = np.asarray(emb, dtype=np.float32)
    if not 0 <= int(start) < len(e):
        raise NasvizError(f"cell index {start} is out of range 0..{len(e) - 1}")
    visited = np.zeros(len(e), dtype=bool)
    path, dist = [int(start)], []
    visited[int(start)] = True
    for _ in range(min(int(n_steps), len(e) - 1)):
        d = ((e - e[path[-1]]) ** 2).sum(1)
        d[visited] = np.inf
        nxt = int(np.argmin(d))
        path.append(nxt)
        dist.append(float(np.sqrt(d[nxt])))
        visited[nxt] = True
    return path, dist


def steps_frame(steps: list[Step], table: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """One row per step: offset, value, validity, index, edit distance to previous valid, metrics."""
    rows = []
    for s in steps:
        row = {"offset (std)": round(s.offset, 3), "z value": round(s.value, 4), "valid": s.valid,
               "index": s.index, "edit to previous": s.edit}
        for m in metrics:
            row[m] = float(table.at[s.index, m]) if s.valid else np.nan
        if not s.valid:
            row["why invalid"] = s.reason
        rows.append(row)
    return pd.DataFrame(rows)


def traversal_figure(frames: dict[str, pd.DataFrame], metric: str, title: str = ""):
    """The metric of each decoded cell along the traversal, one line per model; invalid decodes as x."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, f in frames.items():
        fig.add_trace(go.Scatter(x=f["offset (std)"], y=f[metric], mode="lines+markers", name=name,
                                 customdata=f["index"], hovertemplate="offset %{x} std<br>cell #%{customdata}<br>"
                                 f"{metric}: %{{y:.2f}}<extra>{name}</extra>"))
        bad = f[~f["valid"]]
        if len(bad):
            fig.add_trace(go.Scatter(x=bad["offset (std)"], y=[np.nanmin(f[metric]) if f[metric].notna().any()
                                                               else 0] * len(bad), mode="markers",
                                     marker=dict(symbol="x", size=11, color="#d62728"), name=f"{name}: invalid",
                                     hovertemplate="offset %{x} std: invalid decode<extra></extra>"))
    fig.update_layout(title=title or f"{metric} along the traversal", template="plotly_white", height=320,
                      xaxis_title="offset from the anchor (std of the coordinate)", yaxis_title=metric,
                      margin=dict(l=40, r=20, t=50, b=40))
    return fig


def walk_figure(edits: dict[str, list[int]]):
    """Edit distance between consecutive cells of nearest-neighbour walks (arch2vec Fig. 5), per model."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, e in edits.items():
        fig.add_trace(go.Scatter(x=list(range(1, len(e) + 1)), y=e, mode="lines+markers",
                                 name=f"{name} (mean {np.mean(e):.2f})" if e else name))
    fig.update_layout(title="Edit distance between consecutive cells of the nearest-neighbour walk",
                      template="plotly_white", height=300, xaxis_title="step", yaxis_title="edit distance",
                      margin=dict(l=40, r=20, t=50, b=40))
    return fig


def svg_zip(dots: dict[str, str]) -> bytes:
    """A zip with one SVG per diagram (``name -> DOT``), rendered with Graphviz."""
    import io
    import zipfile

    from nasviz.viz.diagrams import render

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, dot in dots.items():
            z.writestr(f"{name}.svg", render(dot, "svg"))
    return buf.getvalue()

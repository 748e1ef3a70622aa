"""Cell diagrams as Graphviz DOT, and rendering to SVG/PNG.

Two views of an NB201 cell:

* ``"edge"`` (NAS-Bench-201 paper): 4 feature-map nodes, the ops on the edges;
* ``"node"`` (arch2vec, paper 003 Fig. 8): input, one node per edge op, output.

Every op has one colour everywhere (:data:`OP_COLORS`). Passing ``compare=other``
highlights what differs from ``other`` (thick red outline, ``was: <op>`` in the
label), which traversals use to show each step's change.
NB101 cells have their ops on vertices, so they have one view (``"node"``); a spec
that pruning shrank is drawn whole, with the pruned vertices and their edges faded.

Rendering needs the ``dot`` binary (Debian package ``graphviz``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import EDGES, NODE_ADJACENCY, OPS, NB201Cell

#: One colour per op, shared by every diagram and plot.
OP_COLORS: dict[str, str] = {
    "none": "#bdbdbd",
    "skip_connect": "#4c78a8",
    "nor_conv_1x1": "#f58518",
    "nor_conv_3x3": "#e45756",
    "avg_pool_3x3": "#54a24b",
    "input": "#ffffff",
    "output": "#ffffff",
    # NB101 ops
    "conv3x3-bn-relu": "#e45756",
    "conv1x1-bn-relu": "#f58518",
    "maxpool3x3": "#54a24b",
}
#: Short labels for the diagram text.
OP_LABELS: dict[str, str] = {
    "none": "none",
    "skip_connect": "skip",
    "nor_conv_1x1": "conv 1x1",
    "nor_conv_3x3": "conv 3x3",
    "avg_pool_3x3": "avg pool 3x3",
    "conv3x3-bn-relu": "conv 3x3",
    "conv1x1-bn-relu": "conv 1x1",
    "maxpool3x3": "max pool 3x3",
    "input": "input",
    "output": "output",
}
HIGHLIGHT = "#d62728"
VIEWS = ("edge", "node")


def _q(text: str) -> str:
    # backslashes are kept: labels use Graphviz's own "\\n" line breaks
    return '"' + str(text).replace('"', '\\"') + '"'


def _header(name: str, title: str | None, rankdir: str) -> list[str]:
    lines = [
        f"digraph {_q(name)} {{",
        f"  rankdir={rankdir}; bgcolor=\"transparent\"; pad=0.2; nodesep=0.35; ranksep=0.45;",
        '  node [fontname="Helvetica", fontsize=11, style="filled", penwidth=1.2];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    if title:
        lines.append(f"  labelloc=t; fontname=\"Helvetica\"; fontsize=12; label={_q(title)};")
    return lines


def nb201_dot(cell: NB201Cell, view: str = "edge", compare: NB201Cell | None = None, title: str | None = None) -> str:
    """DOT source for an NB201 cell; ``compare`` highlights the edges that differ from it."""
    if not isinstance(cell, NB201Cell):
        raise NasvizError(f"nb201_dot needs an NB201Cell; got {type(cell).__name__}")
    if view not in VIEWS:
        raise NasvizError(f"unknown diagram view {view!r}; accepted: {', '.join(VIEWS)}")
    changed = set(cell.diff(compare)) if compare is not None else set()
    if view == "edge":
        return _nb201_edge_view(cell, changed, compare, title)
    return _nb201_node_view(cell, changed, compare, title)


def _nb201_edge_view(cell: NB201Cell, changed: set[int], compare: NB201Cell | None, title: str | None) -> str:
    lines = _header("nb201", title, "LR")
    names = {0: "input\\n(node 0)", 1: "node 1", 2: "node 2", 3: "output\\n(node 3)"}
    for n in range(4):
        shape = "doublecircle" if n in (0, 3) else "circle"
        fill = "#f0f0f0" if n in (0, 3) else "#ffffff"
        lines.append(f"  n{n} [label=\"{names[n]}\", shape={shape}, fillcolor=\"{fill}\"];")
    for k, (to, frm) in enumerate(EDGES):
        op = OPS[cell.ops[k]]
        color = OP_COLORS[op]
        label = OP_LABELS[op]
        attrs = [f"color=\"{color}\"", f"fontcolor=\"{'#555555' if op == 'none' else '#000000'}\""]
        if op == "none":
            attrs.append('style="dashed"')
        attrs.append(f"penwidth={4.0 if k in changed else 2.2}")
        if k in changed:
            label = f"{label}\\n(was {OP_LABELS[OPS[compare.ops[k]]]})"  # type: ignore[union-attr]
            attrs += [f"fontcolor=\"{HIGHLIGHT}\"", f"color=\"{HIGHLIGHT}:{color}:{HIGHLIGHT}\""]
        attrs.append(f"label={_q(label)}")
        lines.append(f"  n{frm} -> n{to} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


def _nb201_node_view(cell: NB201Cell, changed: set[int], compare: NB201Cell | None, title: str | None) -> str:
    lines = _header("nb201_nodes", title, "TB")
    _, ops = cell.to_node_dag()
    for i, op in enumerate(ops):
        label = OP_LABELS[op]
        attrs = [f"fillcolor=\"{OP_COLORS[op]}\""]
        if i in (0, 7):
            attrs.append('shape="box", style="rounded,filled"')
        else:
            attrs.append('shape="ellipse"')
            if op == "none":
                attrs.append('fontcolor="#555555"')
        if (i - 1) in changed and 1 <= i <= 6:
            label = f"{label}\\n(was {OP_LABELS[OPS[compare.ops[i - 1]]]})"  # type: ignore[union-attr]
            attrs += [f"color=\"{HIGHLIGHT}\"", "penwidth=3.5"]
        attrs.append(f"label={_q(label)}")
        lines.append(f"  v{i} [{', '.join(attrs)}];")
    for i in range(8):
        for j in range(8):
            if NODE_ADJACENCY[i, j]:
                lines.append(f"  v{i} -> v{j};")
    lines.append("}")
    return "\n".join(lines)


def nb101_dot(cell, view: str = "node", compare=None, title: str | None = None) -> str:
    """DOT source for an NB101 cell (``nasviz.spaces.nb101.NB101Cell``).

    Pruned vertices of the spec as given are drawn faded and dashed. With ``compare``,
    vertices whose op differs are outlined red (``was: <op>``), edges that ``compare``
    lacks are red, and edges only ``compare`` has are drawn as dashed red "removed".
    Vertices are matched by position in the pruned spec, output to output; interior
    vertices that ``compare`` does not have are marked "new".
    """
    from nasviz.spaces.nb101 import NB101Cell

    if not isinstance(cell, NB101Cell):
        raise NasvizError(f"nb101_dot needs an NB101Cell; got {type(cell).__name__}")
    if view != "node":
        raise NasvizError(f"NB101 cells carry their ops on vertices; accepted view: node (got {view!r})")
    if compare is not None and not isinstance(compare, NB101Cell):
        raise NasvizError(f"can only compare an NB101 cell with another NB101 cell; got {type(compare).__name__}")
    lines = _header("nb101", title, "TB")
    matrix, ops = cell.original_matrix, cell.original_ops
    pruned = set(cell.pruned_vertices)
    kept = [v for v in range(len(ops)) if v not in pruned]
    pos = {v: k for k, v in enumerate(kept)}  # original vertex -> vertex in the pruned spec
    n_own = len(kept)
    n_cmp = len(compare.ops) if compare is not None else 0

    def to_cmp(p: int) -> int | None:  # pruned position -> vertex of `compare`, output to output
        if p == n_own - 1:
            return n_cmp - 1
        return p if p < n_cmp - 1 else None

    cmp_edges = set(compare.edges()) if compare is not None else set()
    for v, op in enumerate(ops):
        label = OP_LABELS.get(op, op)
        attrs = []
        if v in pruned:
            attrs += ['fillcolor="#f4f4f4"', 'fontcolor="#9e9e9e"', 'color="#bdbdbd"', 'style="dashed,filled"']
            label += "\\n(pruned)"
        else:
            attrs.append(f"fillcolor=\"{OP_COLORS.get(op, '#ffffff')}\"")
            q = to_cmp(pos[v]) if compare is not None else None
            if compare is not None and (q is None or compare.ops[q] != op):
                label += "\\n(new)" if q is None else f"\\n(was {OP_LABELS.get(compare.ops[q], compare.ops[q])})"
                attrs += [f"color=\"{HIGHLIGHT}\"", "penwidth=3.5"]
        attrs.append('shape="box", style="rounded,filled"' if op in ("input", "output") and v not in pruned
                     else 'shape="ellipse"')
        attrs.append(f"label={_q(label)}")
        lines.append(f"  v{v} [{', '.join(attrs)}];")
    for x in range(len(ops)):
        for y in range(x + 1, len(ops)):
            if not matrix[x][y]:
                continue
            if x in pruned or y in pruned:
                lines.append(f'  v{x} -> v{y} [color="#d0d0d0", style="dashed"];')
            elif compare is not None and (to_cmp(pos[x]), to_cmp(pos[y])) not in cmp_edges:
                lines.append(f'  v{x} -> v{y} [color="{HIGHLIGHT}", penwidth=2.5];')
            else:
                lines.append(f"  v{x} -> v{y};")
    if compare is not None:
        inv = {to_cmp(p): v for v, p in pos.items() if to_cmp(p) is not None}  # compare vertex -> original vertex
        own = {(to_cmp(a), to_cmp(b)) for a, b in cell.edges()}
        for a, b in sorted(cmp_edges - own):
            if a in inv and b in inv:
                lines.append(f'  v{inv[a]} -> v{inv[b]} [color="{HIGHLIGHT}", style="dashed", label="removed", '
                             f'fontcolor="{HIGHLIGHT}"];')
    lines.append("}")
    return "\n".join(lines)


#: Diagram function and default view per space.
DIAGRAMS = {"nb201": (nb201_dot, "edge"), "nb101": (nb101_dot, "node")}


def cell_dot(space: str, cell, view: str | None = None, compare=None, title: str | None = None) -> str:
    """DOT for a cell of any space (``view=None`` takes the space's usual view)."""
    key = str(space).lower()
    if key not in DIAGRAMS:
        raise NasvizError(f"no diagrams for space {space!r}; accepted: {', '.join(DIAGRAMS)}")
    fn, default = DIAGRAMS[key]
    return fn(cell, view or default, compare=compare, title=title)


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(dot: str, fmt: str) -> bytes:
    """Render DOT to ``svg`` or ``png`` bytes with the Graphviz ``dot`` binary."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in ("svg", "png"):
        raise NasvizError(f"cannot render to {fmt!r}; accepted: svg, png")
    exe = shutil.which("dot")
    if exe is None:
        raise NasvizError("rendering needs the Graphviz `dot` binary (Debian/Ubuntu: apt-get install graphviz); "
                          "--dot prints the DOT source without it")
    proc = subprocess.run([exe, f"-T{fmt}"], input=dot.encode(), capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise NasvizError(f"graphviz failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def render_svgs(dots: list[str]) -> list[str]:
    """Several DOT graphs as SVG text, in one ``dot`` run: one process for a page of diagrams instead of one
    per diagram (``dot`` writes one SVG document per graph it reads, each opening with an XML declaration)."""
    if not dots:
        return []
    text = render("\n".join(dots), "svg").decode()
    head = "<?xml"
    parts = [head + p for p in text.split(head)[1:]]
    if len(parts) != len(dots):  # not one document per graph: render them one at a time
        parts = [render(d, "svg").decode() for d in dots]
    return parts


def write(dot: str, out: str | Path) -> Path:
    """Render to a file whose suffix (.svg or .png) picks the format."""
    from nasviz.fileio import atomic_write_bytes, check_writable_file

    path = check_writable_file(out)
    data = render(dot, path.suffix or "?")
    try:  # atomically: a failure (a full disk) leaves the previous file, never half a diagram
        atomic_write_bytes(path, data)
    except OSError as e:
        raise NasvizError(f"cannot write {path}: {e.strerror or e}") from e
    return path

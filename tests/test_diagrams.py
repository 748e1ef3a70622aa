"""Cell diagrams: DOT structure, consistent colours, difference highlighting, rendering."""

from __future__ import annotations

import re

import pytest

from nasviz.errors import NasvizError
from nasviz.spaces import get_space
from nasviz.viz.diagrams import HIGHLIGHT, OP_COLORS, nb201_dot, render

SPACE = get_space("nb201")
A = SPACE.cell(6111)  # conv3x3, conv3x3, conv3x3, skip, conv3x3, conv1x1


def test_edge_view_has_the_six_edges_with_their_op_colours():
    dot = nb201_dot(A, "edge")
    edges = re.findall(r"n(\d) -> n(\d) \[(.*)\];", dot)
    assert [(int(f), int(t)) for f, t, _ in edges] == [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    for (_, _, attrs), op in zip(edges, A.names):
        assert OP_COLORS[op] in attrs
    assert "input" in dot and "output" in dot and HIGHLIGHT not in dot


def test_node_view_is_arch2vecs_dag():
    dot = nb201_dot(A, "node")
    assert len(re.findall(r"v\d -> v\d;", dot)) == 10
    for op in set(A.names):
        assert OP_COLORS[op] in dot


def test_highlighting_marks_exactly_the_changed_edges():
    b = SPACE.neighbours(A)[7]
    (k,) = A.diff(b)
    for view in ("edge", "node"):
        dot = nb201_dot(b, view, compare=A)
        assert dot.count(HIGHLIGHT) >= 1
        assert dot.count("(was ") == 1
    same = nb201_dot(A, "edge", compare=A)
    assert HIGHLIGHT not in same


def test_bad_arguments():
    with pytest.raises(NasvizError, match="accepted: edge, node"):
        nb201_dot(A, "3d")
    with pytest.raises(NasvizError, match="NB201Cell"):
        nb201_dot("|none~0|", "edge")  # type: ignore[arg-type]
    with pytest.raises(NasvizError, match="accepted: svg, png"):
        render(nb201_dot(A), "gif")


def test_render_svg_contains_labels():
    svg = render(nb201_dot(A, "edge", title=A.to_str()), "svg").decode()
    assert svg.lstrip().startswith("<?xml") or "<svg" in svg[:300]
    assert "conv 3x3" in svg and "skip" in svg and "node 1" in svg


# -- NB101 -------------------------------------------------------------------------------
def _nb101():
    from nasviz.spaces.nb101 import NB101Cell

    unpruned = NB101Cell(
        [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
        ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"],
    )  # vertices 2 and 3 never reach the output
    other = NB101Cell([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                      ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    return unpruned, other


def test_nb101_pruned_vertices_are_faded():
    from nasviz.viz.diagrams import cell_dot

    cell, _ = _nb101()
    dot = cell_dot("nb101", cell)
    assert dot.count("(pruned)") == 2
    assert dot.count('style="dashed"];') == 2  # the two edges into/between pruned vertices
    assert OP_COLORS["conv3x3-bn-relu"] in dot and HIGHLIGHT not in dot


def test_nb101_difference_highlighting():
    from nasviz.viz.diagrams import cell_dot

    cell, other = _nb101()
    dot = cell_dot("nb101", other, compare=cell)
    assert "(new)" in dot  # the max-pool vertex has no counterpart in the 3-vertex cell
    assert dot.count(f'color="{HIGHLIGHT}", penwidth=2.5') == 3  # every edge of the new vertex
    assert "removed" not in dot
    from nasviz.spaces.nb101 import NB101Cell

    fewer = NB101Cell([[0, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                      ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"])
    diff = cell_dot("nb101", fewer, compare=other)
    assert diff.count("removed") == 1  # other's input -> vertex 2 edge
    assert diff.count("(was max pool 3x3)") == 1
    with pytest.raises(NasvizError, match="accepted view: node"):
        cell_dot("nb101", cell, view="edge")
    with pytest.raises(NasvizError, match="another NB101 cell"):
        cell_dot("nb101", cell, compare=SPACE.cell(1))

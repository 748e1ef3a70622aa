"""NB201 cell value and space: round trips, canonical form, moves, node-op DAG."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasviz.errors import NasvizError
from nasviz.spaces import get_space
from nasviz.spaces.nb201 import (
    EDGES,
    N_CELLS,
    NODE_ADJACENCY,
    OPS,
    NB201Cell,
    n_unique_functions,
)

SPACE = get_space("nb201")
cells = st.tuples(*[st.integers(0, len(OPS) - 1)] * 6).map(NB201Cell)


def test_official_strings_round_trip_for_all_cells():
    import pandas as pd

    from nasviz.paths import REPO_ROOT

    src = REPO_ROOT.parent / "shared" / "data" / "nb201_accuracies.parquet"
    if src.exists():  # the shared real-data source beside the checkout
        strings = pd.read_parquet(src, columns=["arch_index", "arch_str"]).sort_values("arch_index").arch_str.tolist()
    else:  # a clone without shared/: check against our own table's order
        strings = [c.to_str() for c in SPACE.enumerate()]
    assert len(strings) == N_CELLS
    for i, s in enumerate(strings):
        cell = NB201Cell.from_str(s)
        assert cell.to_str() == s
        assert SPACE.index(cell) == i
        assert SPACE.cell(i) == cell


def test_index_order_is_a_permutation_and_known_cells():
    assert len({c for c in SPACE.enumerate()}) == N_CELLS
    assert SPACE.cell(6111).to_str() == (
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    )
    assert SPACE.cell(0).to_str() == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    )


def test_cell_is_immutable_and_hashable():
    c = SPACE.cell(42)
    with pytest.raises(AttributeError):
        c.ops = (0,) * 6  # type: ignore[misc]
    assert {c: 1}[NB201Cell(tuple(c.ops))] == 1
    assert NB201Cell([3, 3, 3, 3, 3, 3]).ops == (3,) * 6  # lists are normalised to tuples


@given(cells)
def test_string_round_trip_property(cell):
    assert NB201Cell.from_str(cell.to_str()) == cell
    assert NB201Cell.from_code(cell.code) == cell
    assert NB201Cell.from_names(cell.names) == cell


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "3 node groups"),
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|", "3 node groups"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 lists 1 input"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "reads node 1"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "not of the form op~0"),
    ],
)
def test_malformed_strings_name_the_problem(text, fragment):
    with pytest.raises(NasvizError, match="official form|accepted ops") as e:
        NB201Cell.from_str(text)
    assert fragment in str(e.value)


def test_bad_values_are_rejected_with_clear_messages():
    with pytest.raises(NasvizError, match="6 edges"):
        NB201Cell((1, 2, 3))
    with pytest.raises(NasvizError, match="out of range"):
        NB201Cell((0, 0, 0, 0, 0, 7))
    with pytest.raises(NasvizError, match="out of range; accepted: 0..15624"):
        SPACE.cell(15625)
    with pytest.raises(NasvizError, match="out of range"):
        SPACE.parse("-1")
    with pytest.raises(NasvizError, match="official index"):
        SPACE.parse("resnet50")


def test_parse_accepts_index_text_and_string():
    assert SPACE.parse("6111") == SPACE.cell(6111)
    assert SPACE.parse(6111) == SPACE.cell(6111)
    assert SPACE.parse("  " + SPACE.cell(5).to_str() + " ") == SPACE.cell(5)


# -- canonical form -------------------------------------------------------------------
def test_canonical_known_equivalences():
    # An edge that cannot reach the output does not matter: node 2 feeds nothing live.
    a = NB201Cell.from_str("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    b = NB201Cell.from_str("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert a.canonical() == b.canonical()
    # Edges that only feed `none` paths do not matter either.
    c = NB201Cell.from_str("|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    d = NB201Cell.from_str("|none~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")
    assert c.canonical() == d.canonical()
    # Swapping nodes 1 and 2 when there is no edge between them: the same expression, so one class under the
    # "expression" rule; NB-201's own rule keeps them apart (node 2's string carries its zero term "#+").
    e = NB201Cell.from_str("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    f = NB201Cell.from_str("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
    assert e.canonical("expression") == f.canonical("expression")
    assert e.canonical() != f.canonical()
    assert e.unique_str() == "#+#+(0)@avg_pool_3x3+((0)@nor_conv_3x3)@nor_conv_1x1"
    # ... but a different op on a live edge is a different function.
    g = NB201Cell.from_str("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|nor_conv_3x3~1|skip_connect~2|")
    assert g.canonical() != e.canonical()
    # All-zero cells form one class.
    z1 = NB201Cell.from_str("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    z2 = NB201Cell.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|")
    assert z1.computes_zero() and z2.computes_zero()
    assert z1.canonical() == z2.canonical() == z1


def test_number_of_classes():
    # NAS-Bench-201's own count of unique architectures (to_unique_str with consider_zero) is 6,466
    assert n_unique_functions() == 6466
    assert n_unique_functions("expression") == 4930
    with pytest.raises(NasvizError, match="accepted: nb201, expression"):
        n_unique_functions("same-function")


def test_the_expression_rule_merges_shared_and_unshared_convs_and_nb201_does_not_claim_more():
    """The independent check's example class: node 1 = conv(x) reaches the output twice (directly, and via
    skip into node 2 then conv), against a cell that computes the two conv(x) terms with separate edges. The
    expression rule merges them although one shares a conv output the other computes twice."""
    shared = NB201Cell.from_str("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
    separate = NB201Cell.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
    assert shared.functional_key() == separate.functional_key()
    assert shared.canonical("expression") == separate.canonical("expression")
    # NB-201's identity also gives them one string (it, too, compares strings, not weights): the docs call a
    # class "the same architecture" as the benchmark defines it, never "the same function"
    assert shared.unique_str() == separate.unique_str()


@settings(max_examples=200)
@given(cells, st.integers(0, 5))
def test_canonical_is_invariant_and_idempotent(cell, k):
    canon = cell.canonical()
    assert canon.canonical() == canon
    assert canon.unique_str() == cell.unique_str()
    assert canon.ops <= cell.ops  # the smallest member of the class
    expr = cell.canonical("expression")
    assert expr.canonical("expression") == expr and expr.functional_key() == cell.functional_key()
    assert expr.ops <= canon.ops  # the expression rule merges at least what NB-201's rule merges
    # Changing an edge that does not reach the output never changes the class.
    to, frm = EDGES[k]
    other = list(cell.ops)
    for o in range(len(OPS)):
        other[k] = o
        variant = NB201Cell(tuple(other))
        if cell.ops[k] == 0 and variant.ops[k] == 0:
            continue
        if not _edge_reaches_output(cell, to):
            assert variant.canonical() == canon


def _edge_reaches_output(cell, node):
    if node == 3:
        return True
    return any(frm == node and cell.ops[k] != 0 and _edge_reaches_output(cell, to) for k, (to, frm) in enumerate(EDGES))


# -- moves ------------------------------------------------------------------------------
@given(st.integers(0, 2**32 - 1))
def test_sample_and_mutate_give_valid_cells(seed):
    rng = np.random.default_rng(seed)
    c = SPACE.sample(rng)
    assert isinstance(c, NB201Cell) and 0 <= SPACE.index(c) < N_CELLS
    m = SPACE.mutate(c, rng)
    assert c.hamming(m) == 1
    assert 0 <= SPACE.index(m) < N_CELLS


def test_sampling_is_reproducible_and_uniform_enough():
    a = [SPACE.sample(np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(0)
    ops = np.array([SPACE.sample(rng).ops for _ in range(5000)])
    freq = np.bincount(ops.ravel(), minlength=5) / ops.size
    assert np.allclose(freq, 0.2, atol=0.02)


def test_neighbours():
    c = SPACE.cell(123)
    nb = SPACE.neighbours(c)
    assert len(nb) == 24 and len(set(nb)) == 24
    assert all(c.hamming(n) == 1 for n in nb)
    assert c not in nb


# -- node-op DAG (arch2vec, Appendix A.2) --------------------------------------------------
def test_node_dag_structure():
    # input feeds the three edges that read node 0; edges into node 3 feed the output
    assert NODE_ADJACENCY[0].tolist() == [0, 1, 1, 0, 1, 0, 0, 0]
    assert NODE_ADJACENCY[:, 7].tolist() == [0, 0, 0, 0, 1, 1, 1, 0]
    # edge 1<-0 (node 1) feeds edges 2<-1 and 3<-1; edges 2<-0, 2<-1 feed 3<-2
    assert NODE_ADJACENCY[1].tolist() == [0, 0, 0, 1, 0, 1, 0, 0]
    assert NODE_ADJACENCY[2, 6] == NODE_ADJACENCY[3, 6] == 1
    assert np.triu(NODE_ADJACENCY, 1).sum() == NODE_ADJACENCY.sum() == 10


@given(cells)
def test_node_dag_round_trip(cell):
    adj, ops = cell.to_node_dag()
    assert NB201Cell.from_node_dag(adj, ops) == cell
    adj_f, onehot = cell.to_onehot()
    assert onehot.sum() == 8 and (onehot.sum(axis=1) == 1).all()
    assert NB201Cell.from_node_dag(adj_f, onehot) == cell


def test_node_dag_rejects_graphs_outside_the_space():
    adj, ops = SPACE.cell(1).to_node_dag()
    adj[0, 7] = 1
    with pytest.raises(NasvizError, match=r"adjacency entry \(0,7\)"):
        NB201Cell.from_node_dag(adj, ops)
    adj, ops = SPACE.cell(1).to_node_dag()
    ops[0] = "nor_conv_3x3"
    with pytest.raises(NasvizError, match="node 0 must be 'input'"):
        NB201Cell.from_node_dag(adj, ops)
    with pytest.raises(NasvizError, match="8x8"):
        NB201Cell.from_node_dag(np.zeros((7, 7)), ops)

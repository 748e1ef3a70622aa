"""NB101 cell value, official hash, validation/pruning, encoding, space moves, enumeration."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nasviz.errors import NasvizError
from nasviz.paths import REPO_ROOT
from nasviz.spaces import SPACES, get_space
from nasviz.spaces.nb101 import (
    ARCH2VEC_OPS, CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OPS, OUTPUT, NB101Cell, hash_module, labels_of,
)
from nasviz.spaces.nb101_enum import enumerate_space, load_enumeration

# A real cell with its official module hash (first row of the NB101 sample, data/nb101/nb101_sample.npz).
REAL_MATRIX = [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
               [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
REAL_OPS = [INPUT, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, CONV1X1, OUTPUT]
REAL_HASH = "00005c142e6f48ac74fdcf73e3439874"


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


def test_registered():
    assert "nb101" in SPACES
    assert get_space("NB101").name == "nb101"


def test_real_hash():
    c = NB101Cell(REAL_MATRIX, REAL_OPS)
    assert c.hash == REAL_HASH
    assert hash_module(REAL_MATRIX, labels_of(REAL_OPS)) == REAL_HASH
    assert (c.n_vertices, c.n_edges) == (7, 9)


def test_embedded_sample_hashes_are_the_official_hashes_of_their_enumeration_cells(space):
    """The 30,001 hashes of data/nb101/nb101_sample.npz come from the real benchmark (tiga1231/nasbench-vis);
    the hash nasviz computes from each sample row's enumeration cell must be that hash. 2,000 rows, spread."""
    with np.load(REPO_ROOT / "data/nb101/nb101_sample.npz", allow_pickle=False) as z:
        index, hashes = z["index"], z["hash"]
    rows = np.random.default_rng(101).choice(len(index), size=2000, replace=False)
    for r in rows:
        c = space.cell(int(index[r]))
        official = bytes(hashes[r]).hex()
        assert hash_module(np.asarray(c.matrix), labels_of(c.ops)) == official, (r, official)
        assert space.find(official) == int(index[r])


# -- validation and pruning ---------------------------------------------------------
@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1], [1, 0]], [INPUT, OUTPUT], "backward edge"),
        ([[1, 1], [0, 0]], [INPUT, OUTPUT], "self-loop"),
        ([[0, 1, 0], [0, 0, 1]], [INPUT, CONV3X3, OUTPUT], "square"),
        ([[0, 1, 1], [0, 0]], [INPUT, CONV3X3, OUTPUT], "square"),
        ([[0, 2], [0, 0]], [INPUT, OUTPUT], "0 or 1"),
        ([[0, 1], [0, 0]], [INPUT, CONV3X3, OUTPUT], "must match"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT], "unknown op 'conv5x5'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [CONV3X3, CONV3X3, OUTPUT], "first op must be 'input'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, CONV3X3], "last op must be 'output'"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT], "not connected"),
        ([[0]], [INPUT], "at least 2 vertices"),
    ],
)
def test_invalid_specs_give_the_reason(matrix, ops, message):
    with pytest.raises(NasvizError, match=message):
        NB101Cell(matrix, ops)


def test_too_many_edges_and_vertices():
    full7 = np.triu(np.ones((7, 7), dtype=int), 1)  # 21 edges
    with pytest.raises(NasvizError, match="too many edges: 21"):
        NB101Cell(full7, [INPUT] + [CONV3X3] * 5 + [OUTPUT])
    chain8 = np.eye(8, k=1, dtype=int)  # 8 vertices all on the path
    with pytest.raises(NasvizError, match="too many vertices: 8"):
        NB101Cell(chain8, [INPUT] + [CONV3X3] * 6 + [OUTPUT])
    # as in the official API, an 8-vertex spec whose extra vertex is pruned is accepted
    m = np.zeros((8, 8), dtype=int)
    for a in range(6):
        m[a, a + 1] = 1
    m[5, 7] = 1
    m[6, 7] = 0
    m[0, 6] = 1  # vertex 6 reachable from input but reaches no output -> pruned
    c = NB101Cell(m, [INPUT] + [CONV3X3] * 6 + [OUTPUT])
    assert c.n_vertices == 7 and c.pruned_vertices == (6,)


def test_malformed_json():
    with pytest.raises(NasvizError, match="malformed NB101 spec JSON"):
        NB101Cell.from_json('{"matrix": [[0,1],[0,0]], "ops": ["input", "output"]')
    with pytest.raises(NasvizError, match="keys 'matrix' and 'ops'"):
        NB101Cell.from_json('{"adjacency": [[0,1],[0,0]]}')
    with pytest.raises(NasvizError, match="JSON object"):
        NB101Cell.from_json("[1, 2]")


def test_pruning_keeps_the_original():
    # vertex 2 only feeds nothing (dangling), vertex 3 has no input: both pruned
    m = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    ops = [INPUT, CONV3X3, MAXPOOL3X3, "not-an-op-but-pruned", OUTPUT]
    c = NB101Cell(m, ops)
    assert c.matrix == ((0, 1, 0), (0, 0, 1), (0, 0, 0))
    assert c.ops == (INPUT, CONV3X3, OUTPUT)
    assert c.pruned_vertices == (2, 3)
    assert c.was_pruned
    assert c.original_matrix == tuple(map(tuple, m)) and c.original_ops == tuple(ops)
    assert c == NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert c.hash == NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]).hash
    assert json.loads(c.to_json(original=True))["ops"][3] == "not-an-op-but-pruned"
    assert len({c, NB101Cell(c.matrix, c.ops)}) == 1  # hashable, equal by pruned spec


def test_json_round_trip_and_frozen():
    c = NB101Cell(REAL_MATRIX, REAL_OPS)
    assert NB101Cell.from_json(c.to_json()) == c
    with pytest.raises(AttributeError):
        c.ops = ()  # type: ignore[misc]


# -- hash invariance and canonical form (property tests) ----------------------------
@st.composite
def valid_cells(draw):
    n = draw(st.integers(2, 7))
    # a random spanning path input -> ... -> output keeps every vertex on a path
    edges = {(v, v + 1) for v in range(n - 1)}
    extra = [(x, y) for x in range(n) for y in range(x + 2, n)]
    chosen = draw(st.lists(st.sampled_from(extra), max_size=max(0, 9 - len(edges)), unique=True)) if extra else []
    edges |= set(chosen)
    m = [[1 if (x, y) in edges else 0 for y in range(n)] for x in range(n)]
    ops = [INPUT] + [draw(st.sampled_from(OPS)) for _ in range(n - 2)] + [OUTPUT]
    return NB101Cell(m, ops)


def _relabel(cell: NB101Cell, perm: tuple[int, ...]) -> tuple[list[list[int]], list[str]]:
    n = cell.n_vertices
    p = (0, *perm, n - 1)
    m = [[0] * n for _ in range(n)]
    for x, y in cell.edges():
        m[p[x]][p[y]] = 1
    ops = [""] * n
    for v in range(n):
        ops[p[v]] = cell.ops[v]
    return m, ops


@settings(max_examples=60, deadline=None)
@given(valid_cells(), st.randoms(use_true_random=False))
def test_hash_invariant_under_interior_permutation(cell, rnd):
    n = cell.n_vertices
    perm = list(range(1, n - 1))
    rnd.shuffle(perm)
    m, ops = _relabel(cell, tuple(perm))
    # the hash is a graph invariant even when the relabeled matrix is not upper triangular
    assert hash_module(m, labels_of(ops)) == cell.hash
    # and for topological relabelings the cell is valid and has the same canonical form
    for perm in itertools.permutations(range(1, n - 1)):
        p = (0, *perm, n - 1)
        if all(p[x] < p[y] for x, y in cell.edges()):
            m, ops = _relabel(cell, perm)
            other = NB101Cell(m, ops)
            assert other.hash == cell.hash
            assert other.canonical() == cell.canonical()
            break


@settings(max_examples=60, deadline=None)
@given(valid_cells())
def test_onehot_round_trip(cell):
    adj, ops = cell.to_onehot()
    assert adj.shape == (7, 7) and ops.shape == (7, 5)
    assert ops.sum() == cell.n_vertices and (ops[cell.n_vertices:] == 0).all()
    assert ops[0, ARCH2VEC_OPS.index(INPUT)] == 1 and ops[cell.n_vertices - 1, ARCH2VEC_OPS.index(OUTPUT)] == 1
    assert NB101Cell.from_onehot(adj, ops) == cell


def test_arch2vec_op_order():
    c = NB101Cell([[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0] * 5],
                  [INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT])
    adj, ops = c.to_onehot()
    np.testing.assert_array_equal(ops[:5], np.eye(5))  # {input, 1x1, 3x3, max-pool, output}
    assert adj[:5, :5].sum() == 4 and adj[5:].sum() == 0
    with pytest.raises(NasvizError, match="padding"):
        bad = adj.copy()
        bad[4, 6] = 1
        NB101Cell.from_onehot(bad, ops)


# -- the space ------------------------------------------------------------------------
def test_parse_forms(space):
    c = NB101Cell(REAL_MATRIX, REAL_OPS)
    assert space.parse(REAL_HASH) == c
    assert space.parse(c.to_json()) == c
    assert space.parse(str(space.index(c))) == c
    assert space.index(c) == 0  # the smallest hash of all
    with pytest.raises(NasvizError, match="no NB101 cell has module hash"):
        space.parse("0" * 32)
    with pytest.raises(NasvizError, match="cannot read"):
        space.parse("conv3x3")
    with pytest.raises(NasvizError, match="out of range"):
        space.parse(str(len(space)))


def test_neighbours_of_small_cells(space):
    two = NB101Cell([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert space.neighbours(two) == []  # every single edit disconnects it or changes nothing
    assert space.mutate(two, np.random.default_rng(0)).n_vertices == 3
    chain = NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    nb = {c.hash for c in space.neighbours(chain)}
    # padded to 7 vertices, one edit can add the skip edge in->out or change the op (2 ways);
    # removing an edge disconnects it, and connecting a padding vertex would need two edges
    expected = {
        NB101Cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]).hash,
        NB101Cell(chain.matrix, [INPUT, CONV1X1, OUTPUT]).hash,
        NB101Cell(chain.matrix, [INPUT, MAXPOOL3X3, OUTPUT]).hash,
    }
    assert nb == expected
    real = NB101Cell(REAL_MATRIX, REAL_OPS)
    nb = space.neighbours(real)
    assert len({c.hash for c in nb}) == len(nb) and real.hash not in {c.hash for c in nb}
    assert all(c.n_edges <= 9 and c.n_vertices <= 7 for c in nb)
    assert len(nb) >= 10  # the 10 op changes are always valid and (here) all non-isomorphic
    # a pruned vertex is remembered: removing edge 0->1 from in->1->out + skip prunes 1,
    # and the walk can put it back in one step
    skip = NB101Cell([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, MAXPOOL3X3, OUTPUT])
    bare = next(c for c in space.neighbours(skip) if c.n_vertices == 2)
    assert bare.was_pruned and len(bare.original_matrix) == 7
    assert skip.hash in {c.hash for c in space.neighbours(bare)}


def test_sample_and_mutate_always_valid(space):
    rng = np.random.default_rng(0)
    cell = space.sample(rng)
    for _ in range(200):
        new = space.mutate(cell, rng)
        assert new.hash != cell.hash
        assert space.find(new.hash) >= 0  # every valid cell is in the enumeration
        cell = new
    a = [space.sample(np.random.default_rng(3)).hash for _ in range(2)]
    assert a[0] == a[1]  # reproducible from the seed
    for _ in range(50):
        s = space.sample_spec(rng)
        assert space.find(s.hash) >= 0


def test_canonical_matches_the_stored_representative(space):
    rng = np.random.default_rng(1)
    for _ in range(100):
        c = space.sample_spec(rng)
        assert c.canonical() == space.canonical(c)


# -- the enumeration --------------------------------------------------------------------
def test_stored_enumeration_counts():
    e = load_enumeration()
    assert len(e) == 423_624
    assert e.counts() == {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}
    assert e.meta["hash_collisions"] == 0
    keys = e.hashes.view("S16").ravel()
    assert (keys[1:] > keys[:-1]).all()  # sorted and unique


def test_rehash_stored_specs_sample():
    """Re-hashing stored specs gives their stored hash (all 423,624 in benchmarks/bench_nb101.py)."""
    e = load_enumeration()
    rng = np.random.default_rng(2)
    idx = rng.choice(len(e), size=3000, replace=False)
    bad = [int(i) for i in idx if hash_module((c := e.cell(int(i))).matrix, labels_of(c.ops)) != e.hash_hex(int(i))]
    assert bad == []
    assert all(e.cell(int(i)).canonical() == e.cell(int(i)) for i in idx[:300])


def test_regenerate_small_vertex_counts_equals_stored():
    e = load_enumeration()
    r = enumerate_space(range(2, 6))
    keep = np.flatnonzero(e.n_vertices <= 5)
    assert len(r.bits) == len(keep) == 1 + 6 + 84 + 2441
    np.testing.assert_array_equal(r.hashes, e.hashes[keep])
    np.testing.assert_array_equal(r.bits, e.bits[keep])
    np.testing.assert_array_equal(r.labels, e.labels[keep])
    np.testing.assert_array_equal(r.n_vertices, e.n_vertices[keep])


def test_cli_enumerate_small(tmp_path):
    import typer
    from typer.testing import CliRunner

    from nasviz.commands.nb101 import enumerate_app

    app = typer.Typer()
    app.add_typer(enumerate_app, name="enumerate")  # as nasviz/cli.py registers it
    out = tmp_path / "e.npz"
    res = CliRunner().invoke(app, ["enumerate", "nb101", "--max-vertices", "4", "--out", str(out), "--json",
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    meta = json.loads(res.output)
    assert meta["cells"] == 91 and meta["cells_per_vertex_count"] == {"2": 1, "3": 6, "4": 84}
    assert load_enumeration(out).counts() == {2: 1, 3: 6, 4: 84}


def test_hash_lookup_survives_trailing_zero_bytes():
    """numpy's S16 strips trailing NULs on item access; look-ups must not depend on it."""
    e = load_enumeration()
    z = np.flatnonzero(e.hashes[:, -1] == 0)
    assert len(z) > 1000  # ~1/256 of the hashes end in a zero byte
    assert all(e.find(e.hash_hex(int(i))) == int(i) for i in z[:200])
    np.testing.assert_array_equal(e.find_many(e.hashes[z]), z)
    assert e.hex_hashes()[int(z[0])].endswith("00")
    assert e.find("ff" * 16) == -1 and e.find("not hex") == -1 and e.find("00") == -1


def test_edit_distance_on_the_padded_encoding():
    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    a = NB101Cell(m, [INPUT, CONV3X3, MAXPOOL3X3, OUTPUT])
    b = NB101Cell(m, [INPUT, MAXPOOL3X3, CONV3X3, OUTPUT])  # isomorphic, two vertex ops differ
    assert a.edit_distance(a) == 0
    assert a.edit_distance(b) == 2 and a.hash == b.hash
    c = NB101Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    # vs a: edges 0->2, 1->3, 2->3 of a are gone, 1->2 appears; vertex 2 is output instead of
    # maxpool, vertex 3 (a's output) is padding in c
    assert a.edit_distance(c) == 4 + 2
    assert c.edit_distance(a) == a.edit_distance(c)

"""Runnable networks: parameter counts equal the benchmarks', shapes, training, export.

Every NB201 cell (15,625 x 3 datasets) and every NB101 sample cell (30,001) is
checked by ``benchmarks/bench_nets.py``; here a seeded random 1,000 NB201 cells
and the 1,000 NB101 cells whose specs came with the raw sample.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch

from nasviz.bench.nb201 import NB201Benchmark
from nasviz.errors import NasvizError
from nasviz.nets import verify
from nasviz.nets.export import export
from nasviz.nets.nb101 import (
    NB101Net,
    build_nb101,
    compute_vertex_channels,
    count_params as nb101_params,
    nb101_flops,
    nb101_flops_fast,
    stored_flops,
)
from nasviz.nets.nb201 import NB201Net, NB201NetConfig, build_nb201, cost_info_flops_m, count_params as nb201_params

# The benchmark's first NB101 cell; 8,555,530 trainable parameters in the official file.
FIRST_101 = (
    [[0, 1, 0, 0, 1, 1, 0], [0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 1, 0],
     [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
    ["input", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"],
)
# Three vertices feed the output (channels split 43/43/42), v1 also feeds v3 (truncation 43 -> 42),
# and the input feeds the output directly (projection added).
SPLIT_101 = (
    [[0, 1, 1, 0, 1], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
    ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "output"],
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
BEST_C10 = 6111


@pytest.fixture(scope="module")
def bench() -> NB201Benchmark:
    return NB201Benchmark()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # The CI machine has 2 cores shared with other jobs; intra-op threads only add contention.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# -- NB201 parameter counts -------------------------------------------------------------
def test_nb201_skeleton_alone_has_the_benchmark_base_count():
    # stem 3*16*9 + BN 32 | reductions 16->32: 4608+64+9216+64+512, 32->64: 18432+128+36864+128+2048
    # | lastact BN 128 | classifier 64*10+10: the 73,306 of a cell without convolutions
    assert nb201_params(ALL_NONE) == 464 + 14464 + 57600 + 128 + 650 == 73306
    # one conv3x3 edge adds 5 cells x (16^2*9+32 + 32^2*9+64 + 64^2*9+128)
    one = "|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert nb201_params(one) - 73306 == 5 * (2336 + 9280 + 36992)


def test_nb201_random_1000_cells_match_the_table_for_all_three_datasets(bench):
    rng = np.random.default_rng(20200426)
    indices = rng.choice(15625, size=1000, replace=False)
    results = verify.check_nb201_datasets(indices, bench)
    assert set(results) == {"cifar10", "cifar100", "ImageNet16-120"}
    for result in results.values():
        assert result.checked == 1000
        assert result.equal == 1000, (result.source, result.mismatches[:5])


def test_nb201_single_dataset_check_agrees(bench):
    result = verify.check_nb201(np.random.default_rng(7).choice(15625, size=30, replace=False), "cifar100", bench)
    assert result.equal == result.checked == 30, result.mismatches[:5]


def test_nb201_none_and_dead_edges_still_count(bench):
    # node 2 feeds nothing live here, yet its conv3x3 edges hold parameters the benchmark counts
    dead = bench.space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|")
    assert dead.canonical() != dead
    assert nb201_params(dead) != nb201_params(dead.canonical())
    col = bench.column("params", "cifar10")
    assert round(nb201_params(dead) / 1e6, 6) == round(col[bench.space.index(dead)], 6)


@pytest.mark.parametrize("dataset, classes, side", [("cifar10", 10, 32), ("cifar100", 100, 32),
                                                   ("ImageNet16-120", 120, 16)])
def test_nb201_flops_of_the_built_network_match_the_table(bench, dataset, classes, side):
    # the API's cost_info counts multiply-adds plus the classifier's bias; the counter counts 2 per multiply-add
    col = bench.column("flops", dataset)
    rng = np.random.default_rng(99)
    for i in [*rng.choice(15625, size=4, replace=False), bench.space.index(bench.space.parse(ALL_NONE))]:
        assert round(cost_info_flops_m(bench.space.cell(int(i)), classes, side), 6) == round(float(col[i]), 6)


# -- NB101 parameter counts ---------------------------------------------------------------
def test_nb101_channel_splitting_and_truncation():
    matrix = np.array(SPLIT_101[0])
    assert compute_vertex_channels(128, 128, matrix) == [128, 43, 43, 42, 128]
    net = build_nb101(SPLIT_101, stem_channels=128)
    module = net.layers[0]
    assert module.vertex_channels == [128, 43, 43, 42, 128]
    assert module.vertices[2].sources == [1]  # v3 reads v1 (43 channels) truncated to 42
    assert module.out_proj is not None  # input -> output adds a projection
    with torch.no_grad():
        assert module(torch.randn(1, 128, 8, 8)).shape == (1, 128, 8, 8)


def test_nb101_first_cell_has_the_official_count():
    assert nb101_params(FIRST_101) == 8_555_530


def test_nb101_spec_valid_only_after_pruning_builds():
    # 8 vertices, but vertex 6 cannot reach the output: pruned to 7, as the official ModelSpec does
    m = np.zeros((8, 8), dtype=int)
    for x, y in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 7), (0, 6)]:
        m[x, y] = 1
    ops = ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"]
    net = build_nb101((m, ops), device="meta")
    assert len(net.config.matrix) == 7 and net.config.ops == ops[:6] + ["output"]


def test_nb101_pruning_is_applied():
    # vertex 2 does not reach the output: pruned, so the count equals that of the spec without it
    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
    pruned = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    assert nb101_params((m, ops)) == nb101_params(pruned)
    with pytest.raises(NasvizError, match="not connected to the output"):
        build_nb101(([[0, 0, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]), device="meta")


def test_nb101_first_1000_sample_cells_match_params():
    source, rows = verify.nb101_rows("joined", select=np.arange(1000))
    assert len(rows) == 1000, source
    result = verify.check_nb101(rows, source)
    assert result.equal == result.checked == 1000, result.mismatches[:5]


def test_nb101_joined_sample_matches_params_beyond_the_specs():
    rng = np.random.default_rng(1902)
    source, rows = verify.nb101_rows("joined", select=rng.choice(np.arange(1000, 30001), size=50, replace=False))
    assert len(rows) == 50, source
    result = verify.check_nb101(rows, source)
    assert result.equal == result.checked == 50, result.mismatches[:5]


def test_nb101_vertex_order_matters_and_the_canonical_order_is_the_benchmarks():
    import itertools

    from nasviz.spaces.nb101 import NB101Cell

    _, rows = verify.nb101_rows("joined", select=np.arange(50))
    rows = [r for r in rows if r.hash == "0001a2f6c8977346ccd12fa0c435bf42"]
    assert rows, "the cell is one of the embedded sample's first rows (sorted by hash)"
    row = rows[0]  # its isomorphs have 3,066,181 / 3,078,206 / 3,079,371 parameters
    cell = NB101Cell(row.matrix, row.ops)
    n = len(cell.matrix)
    counts = {}
    for perm in itertools.permutations(range(1, n - 1)):
        p = (0, *perm, n - 1)
        if any(p[x] >= p[y] for x, y in cell.edges()):
            continue
        m = np.zeros((n, n), dtype=int)
        for x, y in cell.edges():
            m[p[x], p[y]] = 1
        ops = [""] * n
        for v in range(n):
            ops[p[v]] = cell.ops[v]
        counts[nb101_params((m, ops))] = (m, ops)
    assert len(counts) > 1 and row.params in counts
    for m, ops in counts.values():
        canonical = NB101Cell(m, ops).canonical()
        assert nb101_params(canonical) == row.params


@pytest.mark.parametrize("bad, message", [
    (([[0, 1], [1, 0]], ["input", "output"]), "upper triangular"),
    (([[0, 1, 0], [0, 0, 1]], ["input", "conv3x3-bn-relu", "output"]), "square"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"]), "unknown op 'conv5x5'"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu"]), "3 vertices but 2 ops"),
    (([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["conv3x3-bn-relu", "conv3x3-bn-relu", "output"]), "first op must be"),
    ((np.triu(np.ones((8, 8), dtype=int), 1), ["input"] + ["conv3x3-bn-relu"] * 6 + ["output"]), "too many"),
    ("not a spec", "cannot read an NB101 cell"),
])
def test_nb101_bad_specs_get_clear_errors(bad, message):
    with pytest.raises(NasvizError, match=message):
        build_nb101(bad, device="meta")


# -- FLOPs --------------------------------------------------------------------------------
def test_nb101_flops_of_the_two_vertex_cell_by_hand():
    cell = ([[0, 1], [0, 0]], ["input", "output"])  # every module is one 1x1 projection
    expected = (2 * 32 * 32 * 3 * 128 * 9  # stem
                + 3 * 2 * 32 * 32 * 128 * 128
                + 2 * 16 * 16 * 128 * 256 + 2 * 2 * 16 * 16 * 256 * 256
                + 2 * 8 * 8 * 256 * 512 + 2 * 2 * 8 * 8 * 512 * 512
                + 2 * 512 * 10)  # dense
    assert nb101_flops(cell) == expected
    assert nb101_flops_fast(cell) == expected


def test_nb101_fast_flops_equal_the_counter():
    _, rows = verify.nb101_rows("joined", select=np.arange(8))
    assert len(rows) == 8
    cells = [(r.matrix, r.ops) for r in rows]
    cells += [FIRST_101, SPLIT_101]
    for cell in cells:
        assert nb101_flops_fast(cell) == nb101_flops(cell)


def test_nb101_stored_flops_column_matches_the_networks():
    from nasviz.spaces.nb101 import NB101Space

    flops = stored_flops()
    space = NB101Space()
    assert len(flops) == len(space) == 423_624
    rng = np.random.default_rng(5)
    for i in rng.choice(len(space), size=20, replace=False):
        assert flops[i] == nb101_flops_fast(space.cell(int(i)))
    i = int(rng.integers(len(space)))
    assert flops[i] == nb101_flops(space.cell(i))  # and through the built network
    first = space.find("00005c142e6f48ac74fdcf73e3439874")
    assert flops[first] == nb101_flops(FIRST_101)


# -- forward and training ---------------------------------------------------------------------
@pytest.mark.parametrize("classes", [10, 100, 120])
def test_nb201_forward_shapes(classes):
    net = build_nb201("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
                      classes)
    with torch.no_grad():
        assert net(torch.randn(3, 3, 32, 32)).shape == (3, classes)
        assert net(torch.randn(1, 3, 16, 16)).shape == (1, classes)  # ImageNet16-120 resolution


def test_nb101_forward_shapes_full_width():
    net = build_nb101(([[0, 1], [0, 0]], ["input", "output"])).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("cell", [FIRST_101, SPLIT_101])
def test_nb101_forward_shapes_narrow(cell):
    net = build_nb101(cell, num_classes=7, stem_channels=16).eval()
    with torch.no_grad():
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 7)


def _train_step(net: torch.nn.Module, classes: int, seed: int = 0, batch: int = 8) -> tuple[float, float, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, 32, 32, generator=g)
    y = torch.randint(0, classes, (batch,), generator=g)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    changed = torch.tensor([not torch.equal(a, b.detach()) for a, b in zip(before, net.parameters())])
    with torch.no_grad():
        after = torch.nn.functional.cross_entropy(net(x), y)
    return loss.item(), after.item(), changed


def test_nb201_one_training_step_changes_weights_and_loss():
    torch.manual_seed(0)
    net = build_nb201("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
    loss, after, changed = _train_step(net, 10)
    assert after != loss
    assert changed.all()  # every parameter of this cell is on a live path


def test_nb101_one_training_step_and_official_bn_momentum():
    torch.manual_seed(0)
    net = build_nb101(FIRST_101, stem_channels=16)
    bn = net.stem[1]
    assert bn.momentum == pytest.approx(0.003) and bn.eps == 1e-5
    loss, after, changed = _train_step(net, 10)
    assert after != loss and changed.all()
    # TF momentum 0.997: running mean moved 0.3% of the way from 0 to the batch mean
    assert 0 < bn.running_mean.abs().max() < 0.01


# -- export ---------------------------------------------------------------------------------------
def test_export_py_round_trip(tmp_path):
    out = tmp_path / "model_201.py"
    info = export("nb201", str(BEST_C10), out, num_classes=100)
    assert info["params"] == nb201_params(info["arch"], 100)
    spec = importlib.util.spec_from_file_location("model_201", out)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.build()
    # the file stands alone: its own copy of the network class (tests/test_export_standalone.py)
    assert type(net).__name__ == "NB201Net" and net.num_params() == info["params"]
    loss, after, _ = _train_step(net, 100)
    assert after != loss
    run = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "logits (2, 100)" in run.stdout and f"{info['params']:,}" in run.stdout


def test_export_pt_round_trip(tmp_path):
    out = tmp_path / "m.pt"
    spec = '{"matrix": [[0,1,1,0,1],[0,0,0,1,1],[0,0,0,0,1],[0,0,0,0,1],[0,0,0,0,0]], ' \
           '"ops": ["input","conv3x3-bn-relu","conv1x1-bn-relu","maxpool3x3","output"]}'
    info = export("nb101", spec, out, seed=3)
    loaded = torch.jit.load(str(out))
    torch.manual_seed(3)
    reference = build_nb101(SPLIT_101)
    assert isinstance(reference, NB101Net)
    assert sum(p.numel() for p in loaded.parameters()) == info["params"] == reference.num_params()
    x = torch.randn(2, 3, 32, 32)
    loaded.eval()
    reference.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(x), reference(x), atol=1e-5)  # same seed -> same weights
    loss, after, changed = _train_step(loaded, 10, batch=2)  # full width: keep the batch small on CPU
    assert after != loss and changed.any()
    # the archive needs only torch: load it in a Python where importing nasviz fails
    code = ("import sys; sys.modules['nasviz'] = None; import torch; "
            f"m = torch.jit.load({str(out)!r}); print(tuple(m(torch.randn(1, 3, 32, 32)).shape))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "(1, 10)"


def test_export_by_nb101_hash(tmp_path):
    info = export("nb101", "00005c142e6f48ac74fdcf73e3439874", tmp_path / "h.py")
    assert info["params"] == 8_555_530


@pytest.mark.parametrize("space, arch, out, message", [
    ("nb201", "|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|", "m.py", "unknown op 'bogus'"),
    ("nb201", "99999", "m.py", "out of range"),
    ("nb201", "6111", "m.onnx", "unknown suffix '.onnx'"),
    ("nb301", "6111", "m.py", "unknown space"),
    ("nb101", '{"matrix": [[0,1],[0,0]], "ops": ["input"', "m.py", "malformed NB101 spec JSON"),
    ("nb101", '{"matrix": [[0,1],[1,0]], "ops": ["input","output"]}', "m.pt", "lower"),
])
def test_export_bad_input(tmp_path, space, arch, out, message):
    with pytest.raises(NasvizError, match=message):
        export(space, arch, tmp_path / out)
    assert not (tmp_path / out).exists()


def test_checkpoint_round_trip():
    net = NB201Net(NB201NetConfig(arch="|nor_conv_1x1~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"))
    clone = NB201Net.from_checkpoint(net.checkpoint())
    x = torch.randn(2, 3, 32, 32)
    net.eval()
    clone.eval()
    with torch.no_grad():
        assert torch.equal(net(x), clone(x))


def test_export_command_line(tmp_path):
    """`nasviz export` as a user runs it."""
    def cli(*args):
        return subprocess.run([sys.executable, "-m", "nasviz.cli", "export", *args], capture_output=True, text=True,
                              timeout=300)

    out = tmp_path / "net.py"
    ok = cli("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_1x1~2|", "--out", str(out), "--json")
    assert ok.returncode == 0, ok.stderr
    info = __import__("json").loads(ok.stdout)
    assert info["params"] == nb201_params(info["arch"]) and out.exists()
    bad = cli('{"matrix": [[0,1],[0,0]], "ops": ["input","conv9x9"]}', "--space", "nb101", "--out",
              str(tmp_path / "bad.pt"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr and not (tmp_path / "bad.pt").exists()

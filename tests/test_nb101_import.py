"""nasviz import nb101: official tfrecord files read without TensorFlow.

The test writes small files in exactly the official format with its own writer
(bitwise crc32c, hand-encoded protobuf), independent of the reader under test.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from nasviz.bench.nb101 import NB101Benchmark
from nasviz.bench.nb101_import import crc32c, decode_model_metrics, import_official, iter_records
from nasviz.errors import DataFileError, NasvizError
from nasviz.spaces import get_space


# -- an independent writer of the official format -------------------------------------
def _crc32c_bitwise(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF


def _masked(c: int) -> int:
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(v: int) -> bytes:
    if v < 0:
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _double(field: int, v: float) -> bytes:
    return _varint(field << 3 | 1) + struct.pack("<d", v)


def _bytes(field: int, v: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(v)) + v


def _eval_data(epoch, time_s, train, valid, test, ckpt=b"/tmp/model.ckpt-1"):
    return (_double(1, epoch) + _double(2, time_s) + _double(3, train) + _double(4, valid) + _double(5, test)
            + _bytes(6, ckpt))


def _model_metrics(evals: list[bytes], params: int, total_time: float) -> bytes:
    return b"".join(_bytes(1, e) for e in evals) + _varint(2 << 3 | 0) + _varint(params) + _double(3, total_time)


def _frame(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return (head + struct.pack("<I", _masked(_crc32c_bitwise(head))) + data
            + struct.pack("<I", _masked(_crc32c_bitwise(data))))


def _expected(k: int, ep: int, rep: int) -> tuple[float, float, float, float]:
    """Deterministic, distinct metrics for cell k, epochs ep, repeat rep."""
    base = 0.5 + 0.01 * k + 0.001 * ep / 108
    return (base + 0.002 * rep, base - 0.001 * rep, base - 0.003 * rep, 100.0 * ep + 7 * rep + k)


def write_official(path: Path, cells, epochs=(4, 12, 36, 108), repeats=3) -> Path:
    with open(path, "wb") as f:
        for k, cell in enumerate(cells):
            adj = "".join(str(x) for row in cell.matrix for x in row)
            ops = ",".join(cell.ops)
            for ep in epochs:
                for rep in range(repeats):
                    tr, va, te, tt = _expected(k, ep, rep)
                    evals = [_eval_data(0.0, 0.0, 0.1, 0.1, 0.1), _eval_data(ep / 2, tt / 2, 0.3, 0.3, 0.3),
                             _eval_data(float(ep), tt, tr, va, te)]
                    metrics = _model_metrics(evals, 1_000_000 + k, tt + 5.0)
                    row = [cell.hash, ep, adj, ops, base64.b64encode(metrics).decode()]
                    f.write(_frame(json.dumps(row).encode()))
    return path


@pytest.fixture(scope="module")
def cells():
    space = get_space("nb101")
    rng = np.random.default_rng(7)
    return [space.cell(int(i)) for i in rng.choice(len(space), size=12, replace=False)]


def test_test_writer_crc_is_the_standard_crc32c():
    assert _crc32c_bitwise(b"123456789") == 0xE3069283  # the published crc32c check value
    assert crc32c(b"123456789") == 0xE3069283
    data = bytes(range(256)) * 3
    assert crc32c(data) == _crc32c_bitwise(data)


def test_protobuf_decoder_reads_every_field():
    evals = [_eval_data(0.0, 0.0, 0.1, 0.11, 0.12), _eval_data(54.0, 900.5, 0.8, 0.79, 0.78),
             _eval_data(108.0, 1801.25, 0.999, 0.9312, 0.9287)]
    got, params, total = decode_model_metrics(_model_metrics(evals, 8_555_530, 2100.75))
    assert params == 8_555_530 and total == 2100.75
    assert len(got) == 3
    assert got[2] == {"current_epoch": 108.0, "training_time": 1801.25, "train_accuracy": 0.999,
                      "validation_accuracy": 0.9312, "test_accuracy": 0.9287}
    assert got[1]["current_epoch"] == 54.0
    # unknown fields of every wire type are skipped (forward compatibility, as protobuf does)
    extra_eval = _eval_data(108.0, 1.5, 0.5, 0.25, 0.125) + _varint(7 << 3 | 0) + _varint(300) \
        + _varint(8 << 3 | 5) + b"\x00\x00\x80\x3f"
    msg = _model_metrics([extra_eval], 42, 3.0) + _bytes(9, b"future field")
    got, params, total = decode_model_metrics(msg)
    assert (params, total) == (42, 3.0)
    assert got == [{"current_epoch": 108.0, "training_time": 1.5, "train_accuracy": 0.5,
                    "validation_accuracy": 0.25, "test_accuracy": 0.125}]
    with pytest.raises(ValueError):
        decode_model_metrics(msg[:-3])  # cut inside the last field


def test_import_full_file_means_over_repeats(tmp_path, cells):
    src = write_official(tmp_path / "nasbench_full.tfrecord", cells)
    out = tmp_path / "home" / "nb101.npz"
    res = import_official(src, out=out)
    assert res["records"] == len(cells) * 4 * 3
    assert res["rows"] == len(cells)
    assert res["epochs"] == [4, 12, 36, 108]
    assert res["specs_differing_from_nasviz_representative"] == 0
    bench = NB101Benchmark(out)
    assert len(bench) == len(cells)
    assert bench.has_test
    assert bench.epochs == (4, 12, 36, 108)
    for k, cell in enumerate(cells):
        for ep in (4, 12, 36, 108):
            runs = np.array([_expected(k, ep, r) for r in range(3)])
            mean = runs.mean(axis=0)
            assert bench.query(cell, "train_acc", "cifar10", ep) == pytest.approx(100 * mean[0], abs=1e-9)
            assert bench.query(cell, "valid_acc", "cifar10", ep) == pytest.approx(100 * mean[1], abs=1e-9)
            assert bench.query(cell, "test_acc", "cifar10", ep) == pytest.approx(100 * mean[2], abs=1e-9)
            assert bench.query(cell, "train_time", "cifar10", ep) == pytest.approx(mean[3], abs=1e-9)
        assert bench.query(cell, "params") == pytest.approx((1_000_000 + k) / 1e6)
        assert int(bench.raw_column("params")[bench.row(cell)]) == 1_000_000 + k
    assert bench.counter.used == len(cells)
    rec = bench.record(cells[0])
    assert rec["metrics"]["cifar10"]["108ep"]["test_acc"] == pytest.approx(100 * np.mean(
        [_expected(0, 108, r)[2] for r in range(3)]))


def test_import_only108_has_only_108_epochs(tmp_path, cells):
    src = write_official(tmp_path / "nasbench_only108.tfrecord", cells[:3], epochs=(108,))
    out = tmp_path / "t.npz"
    import_official(src, out=out)
    bench = NB101Benchmark(out)
    assert bench.epochs == (108,)
    with pytest.raises(NasvizError, match="no valid_acc after 36 epochs"):
        bench.query(cells[0], "valid_acc", "cifar10", 36)


def test_isomorphic_spec_in_file_is_accepted(tmp_path):
    """A file row may store any isomorphic spec of its cell; it must hash to the row's hash."""
    from nasviz.spaces.nb101 import NB101Cell

    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    rep = NB101Cell(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    swapped = NB101Cell(m, ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])
    assert swapped != rep and swapped.hash == rep.hash and swapped.canonical() == rep
    src = write_official(tmp_path / "iso.tfrecord", [swapped], epochs=(108,))
    res = import_official(src, out=tmp_path / "iso.npz")
    assert res["specs_differing_from_nasviz_representative"] == 1
    assert NB101Benchmark(tmp_path / "iso.npz").has_results(rep)
    # a row whose spec does not hash to its hash is damage
    bad = tmp_path / "bad.tfrecord"
    data = src.read_bytes()
    (length,) = struct.unpack_from("<Q", data, 0)
    row = json.loads(data[12:12 + length])
    row[3] = "input,maxpool3x3,maxpool3x3,output"
    bad.write_bytes(_frame(json.dumps(row).encode()))
    with pytest.raises(DataFileError, match="does not hash to it"):
        import_official(bad, out=tmp_path / "bad.npz")


def test_truncated_file_raises_and_leaves_old_table(tmp_path, cells):
    src = write_official(tmp_path / "full.tfrecord", cells[:4])
    out = tmp_path / "table.npz"
    import_official(src, out=out)
    before = out.read_bytes()
    data = src.read_bytes()
    bad = tmp_path / "truncated.tfrecord"
    bad.write_bytes(data[: len(data) - 30])
    with pytest.raises(DataFileError, match="truncated"):
        import_official(bad, out=out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".nb101")) == []


def test_corrupt_byte_fails_crc(tmp_path, cells):
    src = write_official(tmp_path / "full.tfrecord", cells[:2])
    data = bytearray(src.read_bytes())
    data[200] ^= 0x01  # inside the first record's JSON
    bad = tmp_path / "corrupt.tfrecord"
    bad.write_bytes(bytes(data))
    out = tmp_path / "never.npz"
    with pytest.raises(DataFileError, match="CRC mismatch in record 0"):
        import_official(bad, out=out)
    assert not out.exists()
    data = bytearray(src.read_bytes())
    data[3] ^= 0x10  # the first length header
    bad.write_bytes(bytes(data))
    with pytest.raises(DataFileError):
        list(iter_records(bad))


def test_foreign_hash_and_not_a_tfrecord(tmp_path):
    row = ["ffffffffffffffffffffffffffffffff", 108, "0100", "input,output",
           base64.b64encode(_model_metrics([_eval_data(0, 0, 0, 0, 0)] * 3, 10, 1.0)).decode()]
    src = tmp_path / "foreign.tfrecord"
    src.write_bytes(_frame(json.dumps(row).encode()))
    with pytest.raises(DataFileError, match="not an NB101 cell"):
        import_official(src, out=tmp_path / "x.npz")
    junk = tmp_path / "junk.tfrecord"
    junk.write_bytes(b"this is not a tfrecord file at all, just some text\n" * 3)
    with pytest.raises(DataFileError):
        import_official(junk, out=tmp_path / "x.npz")
    empty = tmp_path / "empty.tfrecord"
    empty.write_bytes(b"")
    with pytest.raises(DataFileError, match="no records"):
        import_official(empty, out=tmp_path / "x.npz")


def test_cli_import_and_default_location(tmp_path, cells, monkeypatch):
    from nasviz.commands.nb101 import import_nb101

    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))
    src = write_official(tmp_path / "nasbench_only108.tfrecord", cells[:5], epochs=(108,))
    app = typer.Typer()
    app.command()(import_nb101)
    res = CliRunner().invoke(app, [str(src), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["rows"] == 5 and out["records"] == 15
    table = tmp_path / "home" / "nb101" / "nb101.npz"
    assert Path(out["table"]) == table and table.exists()
    bench = NB101Benchmark()  # picks the imported table up by default
    assert bench.path == table and len(bench) == 5 and bench.has_test

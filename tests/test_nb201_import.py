"""nasviz import nb201: an official NAS-Bench-201 file read through the official package.

The test writes a real ``NAS-Bench-201-v1_0-e61699.pth`` with ``nas_201_api``'s own
classes (``ArchResults`` / ``ResultsCount`` state dicts under ``meta_archs``,
``arch2infos`` {idx: {'less', 'full'}}, ``evaluated_indexes``, saved with
``torch.save``), for all 15,625 cells, with the values of the embedded table. Per-arch
records are minimal (the last epoch of each run only) and follow v1_0's layout: the
200-epoch schedule on all four datasets, the 12-epoch one on cifar10-valid only.

So that the round trip proves the numbers come from the file, some archs carry two
seeds around the embedded value (the import must average them: is_random=False) and
some are shifted by a known offset (the import must show the shift).
"""

from __future__ import annotations

import bz2
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

nas_201_api = pytest.importorskip("nas_201_api", reason="needs the official package: pip install nas-bench-201==2.1")
import torch  # noqa: E402

from nasviz.bench.nb201 import EXTRA_COLUMNS, REQUIRED_COLUMNS, NB201Benchmark, embedded_table_path  # noqa: E402
from nasviz.bench.nb201_import import _costs, _load_torch, import_official  # noqa: E402
from nasviz.cli import app  # noqa: E402
from nasviz.errors import NasvizError  # noqa: E402
from nasviz.spaces.nb201 import N_CELLS, NB201Cell  # noqa: E402

SHIFTED = 101  # archs with index % SHIFTED == 0 are stored 1.0 off, towards 50 (or params/FLOPs x1.01)
TWO_SEEDS = 89  # archs with index % TWO_SEEDS == 0 carry two seeds, value -/+ 0.4
# Columns the v1_0-layout file carries, and the (hp, dataset, eval set) each is stored under.
FILE_ACC = {
    "c10v_train": ("200", "cifar10-valid", "train"), "c10v_valid": ("200", "cifar10-valid", "x-valid"),
    "c10v_test": ("200", "cifar10-valid", "ori-test"),
    "v10_c10_train": ("200", "cifar10", "train"), "nats_c10_test": ("200", "cifar10", "ori-test"),
    "c100_train": ("200", "cifar100", "train"), "c100_valid": ("200", "cifar100", "x-valid"),
    "c100_test": ("200", "cifar100", "x-test"),
    "in16_train": ("200", "ImageNet16-120", "train"), "in16_valid": ("200", "ImageNet16-120", "x-valid"),
    "in16_test": ("200", "ImageNet16-120", "x-test"),
    "e12_c10v_valid": ("12", "cifar10-valid", "x-valid"),
}
FILE_COST = {"cifar10-valid": "c10", "cifar10": "c10", "cifar100": "c100", "ImageNet16-120": "in16"}
# v10_c10_test is cifar10 ori-test of a v1_0 file: the same stored number as nats_c10_test here.
FROM_FILE = [*FILE_ACC, "v10_c10_test"] + [f"{p}_{m}_m" for p in ("c10", "c100", "in16") for m in ("params", "flops")]
NOT_IN_FILE = ["e12_c10_test", "e12_c100_valid", "e12_c100_test", "e12_in16_valid", "e12_in16_test"]


def _embedded() -> dict[str, np.ndarray]:
    with np.load(embedded_table_path(), allow_pickle=False) as z:
        return {k: z[k] for k in z.files if k != "meta"}


def _expected(emb: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the file holds per column: the embedded values with the known shift."""
    shifted = np.arange(len(emb["ops"])) % SHIFTED == 0
    out = {}
    for col in FROM_FILE:
        src = "nats_c10_test" if col == "v10_c10_test" else col
        v = emb[src].astype(np.float64).copy()
        # accuracies move by 1.0 towards the middle, so the shifted value stays a valid accuracy (0..100)
        v[shifted] = v[shifted] * 1.01 if col.endswith("_m") else v[shifted] + np.where(v[shifted] > 50, -1.0, 1.0)
        out[col] = v
    return out


def _results_count(api_mod, ds: str, seed: int, epochs: int, train: float, evals: dict[str, float],
                   params: float, flops: float):
    last = epochs - 1
    rc = api_mod.ResultsCount(ds, None, {last: train}, {last: 0.0}, params, flops,
                              {"arch_str": None, "channel": 16, "num_cells": 5, "class_num": 10}, seed, epochs, None)
    for name, acc in evals.items():
        rc.update_OLD_eval(name, {last: acc}, {last: 0.0})
    return rc


def _arch_state(api_mod, idx: int, arch: str, hp: str, exp: dict[str, list]) -> dict:
    """One arch's ArchResults for one schedule, as the official file stores it (state_dict)."""
    res = api_mod.ArchResults(idx, arch)
    epochs = 200 if hp == "200" else 12
    by_ds: dict[str, dict[str, float]] = {}
    for col, (h, ds, setname) in FILE_ACC.items():
        if h == hp:
            by_ds.setdefault(ds, {})[setname] = exp[col][idx]
    for ds, sets in by_ds.items():
        prefix = FILE_COST[ds]
        params, flops = exp[f"{prefix}_params_m"][idx], exp[f"{prefix}_flops_m"][idx]
        train = sets.pop("train", float("nan"))  # no 12-epoch train column: not read by the import
        deltas = (-0.4, 0.4) if idx % TWO_SEEDS == 0 else (0.0,)
        for seed, d in zip((777, 888), deltas):
            evals = {k: v + d for k, v in sets.items()}
            res.update(ds, seed, _results_count(api_mod, ds, seed, epochs, train + d, evals, params, flops))
    return res.state_dict()


def _official_dict(api_mod, archs: list[str], exp: dict[str, list], less: bool = True) -> dict:
    return {
        "meta_archs": archs,
        "arch2infos": {i: {"less": _arch_state(api_mod, i, a, "12", exp) if less else {},
                           "full": _arch_state(api_mod, i, a, "200", exp)} for i, a in enumerate(archs)},
        "evaluated_indexes": list(range(len(archs))),
    }


@pytest.fixture(scope="module")
def emb() -> dict[str, np.ndarray]:
    return _embedded()


@pytest.fixture(scope="module")
def archs(emb) -> list[str]:
    return [NB201Cell(tuple(int(o) for o in row)).to_str() for row in emb["ops"]]


@pytest.fixture(scope="module")
def official_file(tmp_path_factory, emb, archs) -> Path:
    exp = {c: v.tolist() for c, v in _expected(emb).items()}
    path = tmp_path_factory.mktemp("official") / "NAS-Bench-201-v1_0-e61699.pth"
    torch.save(_official_dict(nas_201_api, archs, exp), path)
    return path


@pytest.fixture(scope="module")
def cli_import(official_file, tmp_path_factory):
    """``nasviz import nb201 FILE --json`` once, with NASVIZ_HOME in a temporary folder."""
    home = tmp_path_factory.mktemp("home")
    result = CliRunner().invoke(app, ["import", "nb201", str(official_file), "--json"],
                                env={"NASVIZ_HOME": str(home)})
    return home, result


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_cli_import_writes_the_table_and_reports_sources(cli_import, official_file):
    home, result = cli_import
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    table = home / "nb201" / "nb201.npz"
    assert out["rows"] == N_CELLS
    assert out["table"] == str(table) and table.is_file()
    assert out["kind"] == "nas-bench-201"
    assert out["package"].startswith("nas-bench-201 ")
    assert sorted(out["columns_from_file"]) == sorted(FROM_FILE)
    # the 12-epoch schedule of v1_0 has cifar10-valid only; nats_* come from a NATS-Bench file
    assert sorted(out["columns_from_embedded"]) == sorted(NOT_IN_FILE + ["nats_c100_test", "nats_in16_test"])
    assert out["order_matches_embedded"] is True
    shifted = len(range(0, N_CELLS, SHIFTED))
    assert out["n_differ_from_embedded"]["c10v_valid"] == shifted
    assert out["max_abs_diff_from_embedded"]["c100_test"] == pytest.approx(1.0, abs=1e-9)


def test_imported_table_equals_the_file_on_every_column(cli_import, emb, monkeypatch):
    home, result = cli_import
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("NASVIZ_HOME", str(home))
    bench = NB201Benchmark()  # prefers the imported table
    assert bench.path == home / "nb201" / "nb201.npz"
    assert set(bench.stored_columns()) == set(REQUIRED_COLUMNS) | set(EXTRA_COLUMNS)
    np.testing.assert_array_equal(bench.space.cell(0).ops, emb["ops"][0])
    for i in (0, 1, 6111, 9930, 15624):
        assert bench.space.cell(i).ops == tuple(emb["ops"][i])
    exp = _expected(emb)
    for col in FROM_FILE:  # mean of the seeds, shift included: the numbers come from the file
        np.testing.assert_allclose(bench.raw_column(col), exp[col], rtol=0, atol=1e-9, err_msg=col)
    for col in NOT_IN_FILE + ["nats_c100_test", "nats_in16_test"]:
        np.testing.assert_array_equal(bench.raw_column(col), emb[col], err_msg=col)
    assert bench.query(6111, "test", "cifar10", 200) == pytest.approx(94.3733, abs=1e-4)
    want = emb["nats_c10_test"][101]
    assert bench.query(101, "test", "cifar10", 200) == pytest.approx(want + (-1.0 if want > 50 else 1.0))
    assert bench.query(0, "params", "cifar100") == pytest.approx(emb["c100_params_m"][0] * 1.01)
    cols = bench.meta["columns"]
    assert "get_more_info(idx, 'cifar100', hp='200', is_random=False)['test-accuracy']" in cols["c100_test"]
    assert "get_cost_info(idx, 'ImageNet16-120', hp='200')['flops']" in cols["in16_flops_m"]
    assert cols["e12_in16_test"].startswith("embedded table, the imported file lacks it")
    assert cols["nats_c100_test"].startswith("embedded table, a second source")
    assert bench.meta["kind"] == "nas-bench-201"


def test_costs_are_get_cost_info_numbers(emb, archs):
    """The import reads params/FLOPs without get_cost_info's deep copy: the numbers must be the same."""
    n = 2 * SHIFTED + 1
    exp = {c: v.tolist() for c, v in _expected({k: v[:n] for k, v in emb.items()}).items()}
    api = nas_201_api.NASBench201API(_official_dict(nas_201_api, archs[:n], exp), verbose=False)
    for i in (0, 1, SHIFTED, n - 1):
        got = _costs(api, i, Path("test.pth"), "nas-bench-201")
        for prefix, ds in (("c10", "cifar10"), ("c100", "cifar100"), ("in16", "ImageNet16-120")):
            cost = api.get_cost_info(i, ds, hp="200")
            assert got[f"{prefix}_params_m"] == cost["params"] == pytest.approx(exp[f"{prefix}_params_m"][i])
            assert got[f"{prefix}_flops_m"] == cost["flops"] == pytest.approx(exp[f"{prefix}_flops_m"][i])


def test_legacy_torch_file_with_numpy1_scalars_loads(tmp_path):
    """The published files predate torch's zip format and numpy 2 (numpy.core.multiarray.scalar)."""
    from collections import OrderedDict

    obj = {"meta_archs": ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
           "arch2infos": {0: {"full": {("cifar10", 777): {"flop": np.float64(15.64737), "params": np.float32(0.5),
                                                          "train_acc1es": OrderedDict([(199, 88.5)]),
                                                          "w": torch.arange(3.0)}}}},
           "evaluated_indexes": [0]}
    p = tmp_path / "legacy.pth"
    torch.save(obj, p, _use_new_zipfile_serialization=False)
    raw = p.read_bytes()
    assert raw[:1] == b"\x80" and b"numpy._core.multiarray" in raw
    p.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))  # as numpy 1.x wrote it
    got = _load_torch(p)
    rec = got["arch2infos"][0]["full"][("cifar10", 777)]
    assert rec["flop"] == np.float64(15.64737) and rec["params"] == np.float32(0.5)
    assert rec["train_acc1es"] == OrderedDict([(199, 88.5)]) and rec["w"].tolist() == [0.0, 1.0, 2.0]


# -- bad input: one clear message, nothing written ------------------------------------------
def test_cli_bad_input_is_one_line_and_status_2(tmp_path):
    env = {**os.environ, "NASVIZ_HOME": str(tmp_path / "home")}
    r = subprocess.run([sys.executable, "-m", "nasviz.cli", "import", "nb201", str(tmp_path / "nope.pth"), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert r.stderr.startswith("error: no such file or folder") and "Traceback" not in r.stderr
    assert not (tmp_path / "home").exists()


def _assert_refused(path, home: Path, *words: str) -> str:
    with pytest.raises(NasvizError) as err:
        import_official(path)
    msg = str(err.value)
    for w in words:
        assert w in msg, msg
    assert not home.exists() or not list(home.rglob("*.npz"))  # no table, no temporary file
    return msg


def test_missing_path(home, tmp_path):
    _assert_refused(tmp_path / "NAS-Bench-201-v1_1-096897.pth", home, "no such file", "NAS-Bench-201-v1_1")


def test_not_a_benchmark_file(home, tmp_path):
    p = tmp_path / "notes.pth"
    p.write_text("these are not the results you are looking for\n")
    _assert_refused(p, home, "not a NAS-Bench-201 or NATS-Bench file")
    q = tmp_path / "weights.pth"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, q)
    _assert_refused(q, home, "not a NAS-Bench-201 / NATS-Bench benchmark file", "meta_archs")
    d = tmp_path / "folder"
    d.mkdir()
    _assert_refused(d, home, "meta.pickle.pbz2")


def test_corrupt_file(home, tmp_path, official_file, emb, archs):
    p = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    with open(official_file, "rb") as f:
        p.write_bytes(f.read(1 << 20))  # a download cut short
    _assert_refused(p, home, "corrupt")
    exp = {c: v[:30].tolist() for c, v in _expected({k: v[:30] for k, v in emb.items()}).items()}
    torch.save(_official_dict(nas_201_api, archs[:30], exp), p, _use_new_zipfile_serialization=False)
    p.write_bytes(p.read_bytes()[:5000])  # the same, for the published files' legacy format
    _assert_refused(p, home, "corrupt")


class _Payload:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_code_in_the_pickle_is_refused_not_run(home, tmp_path):
    marker = tmp_path / "this-must-not-exist"
    p = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"meta_archs": [], "arch2infos": {0: _Payload(str(marker))}, "evaluated_indexes": []}, p)
    _assert_refused(p, home, "posix.mkdir" if os.name == "posix" else "mkdir", "does not unpickle")
    assert not marker.exists()


def test_fewer_archs_than_the_benchmark(home, tmp_path, emb, archs):
    exp = {c: v[:50].tolist() for c, v in _expected({k: v[:50] for k, v in emb.items()}).items()}
    p = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(_official_dict(nas_201_api, archs[:50], exp), p)
    _assert_refused(p, home, "50 architectures", "fewer than the 15,625")


def test_wrong_search_space_strings(home, tmp_path):
    p = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    sizes = [f"{8 * (1 + i % 8)}:{8 * (1 + i // 8 % 8)}:{8 * (1 + i // 64 % 8)}:64:{i}" for i in range(N_CELLS)]
    torch.save({"meta_archs": sizes, "arch2infos": {}, "evaluated_indexes": []}, p)
    _assert_refused(p, home, "architecture #0", "topology (tss)")


def test_missing_package_says_what_to_install(home, official_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "nas_201_api", None)  # as if not installed
    _assert_refused(official_file, home, "pip install nas-bench-201==2.1")


# -- NATS-Bench (topology) through nats_bench ----------------------------------------------
def _nats_dict(nats_bench, archs: list[str], exp: dict[str, list]) -> dict:
    # nats_bench's layout: arch2infos {idx: {hp: ArchResults state}} (hp '12' and '200')
    return {
        "meta_archs": archs,
        "arch2infos": {i: {"12": _arch_state(nats_bench, i, a, "12", exp),
                           "200": _arch_state(nats_bench, i, a, "200", exp)} for i, a in enumerate(archs)},
        "evaluated_indexes": list(range(len(archs))),
    }


def test_nats_file_and_folder_are_read_with_nats_bench(home, tmp_path, emb, archs):
    nats_bench = pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    exp = {c: v[:20].tolist() for c, v in _expected({k: v[:20] for k, v in emb.items()}).items()}
    data = _nats_dict(nats_bench, archs[:20], exp)
    f = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    with bz2.open(f, "wb") as out:
        pickle.dump(data, out, protocol=4)
    # the file is a valid nats_bench file: its own API reads it ...
    api = nats_bench.create(str(f), "tss", fast_mode=False, verbose=False)
    info = api.get_more_info(7, "cifar100", hp="200", is_random=False)
    assert info["test-accuracy"] == pytest.approx(exp["c100_test"][7])
    # ... and the importer reads it through that API, refusing it for its 20 archs only
    _assert_refused(f, home, "20 architectures", "fewer than the 15,625")
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as out:
        pickle.dump({"meta_archs": archs[:20]}, out, protocol=4)
    _assert_refused(folder, home, "20 architectures", "fewer than the 15,625")
    truncated = tmp_path / "cut" / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    truncated.parent.mkdir()
    truncated.write_bytes(f.read_bytes()[:200])
    _assert_refused(truncated, home, "corrupt")


# -- the NATS -simple folder: every pickle read by nasviz's allow-list ----------------------
class _Marker:
    """Unpickling this creates ``path`` (a file): what a crafted benchmark file would do."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def _write_pbz2(path: Path, obj) -> Path:
    with bz2.open(path, "wb") as out:
        pickle.dump(obj, out, protocol=4)
    return path


def _nats_folder(tmp_path: Path, archs: list[str], name: str = "NATS-tss-v1_0-3ffb9-simple") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    _write_pbz2(folder / "meta.pickle.pbz2", {"meta_archs": archs})
    return folder


def test_nats_folder_meta_payload_is_refused_not_run(home, tmp_path):
    pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    marker = tmp_path / "payload-ran"
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    _write_pbz2(folder / "meta.pickle.pbz2", {"meta_archs": [], "x": _Marker(marker)})
    msg = _assert_refused(folder, home, "meta.pickle.pbz2", "does not unpickle", "pathlib")
    assert not marker.exists(), "the meta file's payload ran"
    assert "\n" not in msg


def test_nats_folder_arch_payload_is_refused_not_run(home, tmp_path, archs):
    pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    marker = tmp_path / "payload-ran"
    folder = _nats_folder(tmp_path, archs)  # a valid meta file: the import gets to the arch files
    _write_pbz2(folder / "000000.pickle.pbz2", {"200": {"all_results": {}, "x": _Marker(marker)}})
    _assert_refused(folder, home, "000000.pickle.pbz2", "does not unpickle")
    assert not marker.exists(), "an arch file's payload ran"


def test_a_path_in_a_record_is_not_handed_to_the_package(home, tmp_path, archs):
    """Both packages load a record that is a str as a file, with their own unrestricted loader."""
    pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    marker = tmp_path / "payload-ran"
    payload = _write_pbz2(tmp_path / "payload.pickle.pbz2", {"x": _Marker(marker)})
    folder = _nats_folder(tmp_path, archs)
    _write_pbz2(folder / "000000.pickle.pbz2", {"200": str(payload)})
    _assert_refused(folder, home, "000000.pickle.pbz2", "arch #0", "are str, not the records")
    f = _write_pbz2(tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2",
                    {"meta_archs": archs, "arch2infos": {0: {"200": str(payload)}}, "evaluated_indexes": [0]})
    _assert_refused(f, home, "arch #0", "are str, not the records")
    assert not marker.exists(), "a path in a record was unpickled"


def test_nats_folder_is_read_as_nats_bench_reads_it(tmp_path, emb, archs):
    """nasviz's own reading of a -simple folder gives the numbers nats_bench's fast mode gives."""
    nats_bench = pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    from nasviz.bench.nb201_import import _folder_loader, _open

    n = 20
    exp = {c: v[:n].tolist() for c, v in _expected({k: v[:n] for k, v in emb.items()}).items()}
    data = _nats_dict(nats_bench, archs[:n], exp)
    folder = _nats_folder(tmp_path, archs[:n])
    for i in range(n):
        _write_pbz2(folder / f"{i:06d}.pickle.pbz2", data["arch2infos"][i])
    theirs = nats_bench.create(str(folder), "tss", fast_mode=True, verbose=False)
    ours, _ = _open(folder, "nats-bench-tss-simple", False)
    load = _folder_loader(ours, folder)
    for i in (0, 7, SHIFTED % n, n - 1):
        load(i)
        for ds, hp in (("cifar10-valid", "200"), ("cifar100", "200"), ("cifar10-valid", "12")):
            np.testing.assert_equal(ours.get_more_info(i, ds, hp=hp, is_random=False),  # NaN == NaN here
                                    theirs.get_more_info(i, ds, hp=hp, is_random=False))
        assert ours.get_cost_info(i, "cifar10", hp="200") == theirs.get_cost_info(i, "cifar10", hp="200")
    assert ours.get_more_info(7, "cifar100", hp="200", is_random=False)["test-accuracy"] == \
        pytest.approx(exp["c100_test"][7])
    with pytest.raises(NasvizError, match="no file for arch #3"):
        (folder / "000003.pickle.pbz2").unlink()
        load(3)


def test_cli_nats_folder_payload_is_one_error_line(tmp_path, archs):
    pytest.importorskip("nats_bench", reason="needs the official package: pip install nats_bench==1.8")
    marker = tmp_path / "payload-ran"
    folder = _nats_folder(tmp_path, archs)
    _write_pbz2(folder / "000000.pickle.pbz2", {"200": _Marker(marker)})
    home = tmp_path / "home"
    r = subprocess.run([sys.executable, "-m", "nasviz.cli", "import", "nb201", str(folder)],
                       capture_output=True, text=True, env={**os.environ, "NASVIZ_HOME": str(home)}, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and "does not unpickle" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert not marker.exists()
    assert not home.exists() or not list(home.rglob("*.npz"))

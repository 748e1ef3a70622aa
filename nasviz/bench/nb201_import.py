"""Convert a user's official NAS-Bench-201 / NATS-Bench (topology) file into nasviz's table.

``nasviz import nb201 PATH`` reads, once, the file the benchmark authors publish,
through their own API package, and writes the same ``.npz`` table as the embedded one
to :func:`~nasviz.bench.nb201.imported_table_path`; :class:`NB201Benchmark` then
prefers it. Accepted inputs:

* ``NAS-Bench-201-v1_0-e61699.pth`` / ``NAS-Bench-201-v1_1-096897.pth``: read with
  ``nas_201_api.NASBench201API`` (``pip install nas-bench-201==2.1``);
* ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (a file) or ``NATS-tss-v1_0-3ffb9-simple`` (a
  folder): read with ``nats_bench.create(..., 'tss', fast_mode=False/True)``
  (``pip install nats_bench==1.8``).

Every value comes from the same API calls that produced the embedded table (see
``data/nb201/SOURCE.md``), in official index order (``api.meta_archs``):

* accuracies: ``api.get_more_info(idx, dataset, hp='200'|'12', is_random=False)``,
  i.e. the mean over the seeds the file holds;
* params / FLOPs (millions): the API's ``get_cost_info(idx, dataset, hp='200')``
  numbers. ``get_cost_info`` is ``query_meta_info_by_index(idx, hp)`` (a deep copy of
  the arch's whole record: ~12 ms for a real 200-epoch record, ~9 minutes over the
  file for three datasets) followed by ``.get_compute_costs(dataset)``; nasviz calls
  ``get_compute_costs`` on the API's own record (``api.arch2infos_dict[idx][hp]``)
  instead: the same numbers without the copy.

A file that lacks a whole (schedule, dataset) pair — ``NAS-Bench-201-v1_0`` has the
12-epoch schedule only for ``cifar10-valid`` — keeps the embedded table's column
for it; the table's metadata and the returned report name every column's source.
The second-source columns (:data:`~nasviz.bench.nb201.EXTRA_COLUMNS`) are taken
from the file when it is that source (``nats_*`` from a NATS-Bench file,
``v10_c10_test`` from a ``v1_0`` file) and otherwise kept from the embedded table.

The ``.pth`` / ``.pickle.pbz2`` files are Python pickles. nasviz unpickles every one
of them itself, with an allow-list of plain data types (dicts, lists, numbers, numpy
scalars, tensors), and hands only the resulting dicts to the official API, so a file
that tries to run code is refused instead of executed. That holds for the NATS
``-simple`` folder too: nasviz reads ``meta.pickle.pbz2`` and each arch's
``NNNNNN.pickle.pbz2`` itself and places the records into the API exactly as
``nats_bench``'s ``reload`` would, instead of letting the package unpickle them. Records
must be dicts: both packages would load a file *path* found in a record with their own
unrestricted loader, so a record that is not a dict is refused.
"""

from __future__ import annotations

import bz2
import collections
import contextlib
import datetime as _dt
import importlib
import importlib.metadata
import logging
import pickle
import time
import types
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from tqdm import tqdm

from nasviz.bench.nb201 import (
    EXTRA_COLUMNS,
    REQUIRED_COLUMNS,
    NB201Benchmark,
    columns_from_records,
    embedded_table_path,
    imported_table_path,
    write_table,
)
from nasviz.errors import NasvizError
from nasviz.spaces.nb201 import N_CELLS, NB201Cell

log = logging.getLogger(__name__)

#: pip requirement of each official package (the ``official`` extra).
NB201_PACKAGE = "nas-bench-201==2.1"
NATS_PACKAGE = "nats_bench==1.8"

_ACCEPTED = (
    "accepted: NAS-Bench-201-v1_0-e61699.pth or NAS-Bench-201-v1_1-096897.pth (NAS-Bench-201), "
    "NATS-tss-v1_0-3ffb9.pickle.pbz2 or the NATS-tss-v1_0-3ffb9-simple folder (NATS-Bench topology)"
)

KIND_NB201 = "nas-bench-201"
KIND_NATS_FILE = "nats-bench-tss"
KIND_NATS_FOLDER = "nats-bench-tss-simple"

# (column, hp, dataset, key of get_more_info's dict): the accuracy columns, exactly as
# SOURCE.md describes them. cifar10-valid's test is ori-test; cifar10 is trained on
# train+valid (test = ori-test); cifar100 / ImageNet16-120 use x-valid / x-test.
_ACCURACY: tuple[tuple[str, str, str, str], ...] = (
    ("c10v_train", "200", "cifar10-valid", "train-accuracy"),
    ("c10v_valid", "200", "cifar10-valid", "valid-accuracy"),
    ("c10v_test", "200", "cifar10-valid", "test-accuracy"),
    ("v10_c10_train", "200", "cifar10", "train-accuracy"),
    ("nats_c10_test", "200", "cifar10", "test-accuracy"),
    ("c100_train", "200", "cifar100", "train-accuracy"),
    ("c100_valid", "200", "cifar100", "valid-accuracy"),
    ("c100_test", "200", "cifar100", "test-accuracy"),
    ("in16_train", "200", "ImageNet16-120", "train-accuracy"),
    ("in16_valid", "200", "ImageNet16-120", "valid-accuracy"),
    ("in16_test", "200", "ImageNet16-120", "test-accuracy"),
    ("e12_c10v_valid", "12", "cifar10-valid", "valid-accuracy"),
    ("e12_c10_test", "12", "cifar10", "test-accuracy"),
    ("e12_c100_valid", "12", "cifar100", "valid-accuracy"),
    ("e12_c100_test", "12", "cifar100", "test-accuracy"),
    ("e12_in16_valid", "12", "ImageNet16-120", "valid-accuracy"),
    ("e12_in16_test", "12", "ImageNet16-120", "test-accuracy"),
)
# Second-source columns, and the kinds of file that are that source.
_EXTRA: dict[str, tuple[tuple[str, str, str], frozenset[str]]] = {
    "v10_c10_test": (("200", "cifar10", "test-accuracy"), frozenset({"nas-bench-201-v1_0"})),
    "nats_c100_test": (("200", "cifar100", "test-accuracy"), frozenset({KIND_NATS_FILE, KIND_NATS_FOLDER})),
    "nats_in16_test": (("200", "ImageNet16-120", "test-accuracy"), frozenset({KIND_NATS_FILE, KIND_NATS_FOLDER})),
}
# (column, dataset, key of get_compute_costs' dict): params / FLOPs in millions.
_COST_HP = "200"
_COST: tuple[tuple[str, str, str], ...] = (
    ("c10_params_m", "cifar10", "params"),
    ("c100_params_m", "cifar100", "params"),
    ("in16_params_m", "ImageNet16-120", "params"),
    ("c10_flops_m", "cifar10", "flops"),
    ("c100_flops_m", "cifar100", "flops"),
    ("in16_flops_m", "ImageNet16-120", "flops"),
)
if {c for c, *_ in _ACCURACY} | {c for c, *_ in _COST} != set(REQUIRED_COLUMNS) or set(_EXTRA) != set(EXTRA_COLUMNS):
    raise ImportError("nb201_import's column map is out of step with nasviz.bench.nb201's columns")


def import_official(path: str | Path, *, progress: bool | None = None) -> dict[str, Any]:
    """Read an official NB201 / NATS-Bench tss file with its package; write the local table.

    Returns a JSON-ready report: ``rows``, ``table`` (the written path), ``file``,
    ``kind``, ``package``, ``columns_from_file``, ``columns_from_embedded``,
    ``order_matches_embedded``, ``max_abs_diff_from_embedded`` / ``n_differ_from_embedded``
    (per column, against the embedded table), ``seconds``.

    Raises :class:`NasvizError` (and writes nothing) for a missing path, a file that is
    not a benchmark file, a corrupt file, or one with other than 15,625 NB201 cells.
    ``progress`` shows a tqdm bar over the archs (``None``: only on a terminal).
    """
    t0 = time.perf_counter()
    src = Path(path).expanduser()
    kind = _kind(src)
    api, package = _open(src, kind, progress)
    if kind == KIND_NB201 and "v1_0" in src.name:
        kind_tag = "nas-bench-201-v1_0"
    else:
        kind_tag = kind
    load_arch = _folder_loader(api, src) if kind == KIND_NATS_FOLDER else None
    archs = _check_archs(api, src)

    embedded = _embedded()
    queries: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for col, hp, ds, key in _ACCURACY:
        queries.setdefault((hp, ds), []).append((key, col))
    extra_from_file = [c for c, (_, kinds) in _EXTRA.items() if kind_tag in kinds]
    for col in extra_from_file:
        hp, ds, key = _EXTRA[col][0]
        queries.setdefault((hp, ds), []).append((key, col))

    present = {c: 0 for pairs in queries.values() for _, c in pairs} | {c: 0 for c, *_ in _COST}
    records: list[tuple[int, str, dict[str, float]]] = []
    bar = tqdm(range(N_CELLS), desc=f"reading {src.name}", unit="arch", disable=_no_bar(progress))
    for idx in bar:
        if load_arch is not None:  # NATS -simple: one arch's file at a time, read by nasviz
            load_arch(idx)
        values: dict[str, float] = {}
        for (hp, ds), pairs in queries.items():
            try:
                info = api.get_more_info(idx, ds, hp=hp, is_random=False)
            except KeyError:  # this (schedule, dataset) is not in the file
                continue
            except Exception as e:  # noqa: BLE001 - the package raises bare asserts/ValueErrors
                raise NasvizError(f"{src}: cannot read arch #{idx} ({ds}, hp={hp}) with {package}: {e!r}") from e
            for key, col in pairs:
                v = info.get(key)
                if v is not None:
                    values[col] = float(v)
                    present[col] += 1
        for col, value in _costs(api, idx, src, package).items():
            values[col] = value
            present[col] += 1
        records.append((idx, archs[idx], values))
        if load_arch is not None:  # free each arch of the -simple folder once read
            api.arch2infos_dict.pop(idx, None)
    bar.close()

    partial = {c: n for c, n in present.items() if 0 < n < N_CELLS}
    if partial:
        detail = ", ".join(f"{c} ({n:,})" for c, n in sorted(partial.items()))
        raise NasvizError(f"{src} has results for only some of the {N_CELLS:,} cells: {detail}; "
                          "the file is incomplete or damaged")
    ops, cols = columns_from_records(records)
    cols = {c: v for c, v in cols.items() if present.get(c, 0) == N_CELLS}

    from_file = [c for c in (*REQUIRED_COLUMNS, *EXTRA_COLUMNS) if c in cols]
    missing = [c for c in REQUIRED_COLUMNS if c not in cols]
    order_ok = embedded is not None and bool(np.array_equal(ops, _embedded_ops()))
    if embedded is not None and not order_ok:
        log.warning("%s lists the cells in another order than the embedded table", src.name)
    if missing and not order_ok:
        why = "is not there" if embedded is None else "lists the cells in another order"
        raise NasvizError(f"{src} lacks {', '.join(missing)}, and the embedded table ({embedded_table_path()}) "
                          f"that would fill them {why}")
    from_embedded = []
    if order_ok:
        for c in (*REQUIRED_COLUMNS, *EXTRA_COLUMNS):
            if c not in cols and c in embedded.stored_columns():
                cols[c] = np.array(embedded.raw_column(c), dtype=np.float64)
                from_embedded.append(c)
    if missing:
        log.warning("%s has no %s; kept the embedded table's values for them", src.name, ", ".join(missing))
    diffs = _compare(cols, from_file, embedded) if order_ok else {}

    sources = {c: _describe(c, package, src.name) for c in from_file}
    sources |= {c: ("embedded table, the imported file lacks it: " if c in missing else
                    "embedded table, a second source kept for comparison: ") + _embedded_source(c)
                for c in from_embedded}
    meta = {
        "rows": N_CELLS,
        "source": f"imported from {src.name} with {package} ({kind})",
        "file": str(src.resolve()),
        "kind": kind,
        "package": package,
        "imported_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "columns": sources,
        "order_matches_embedded": order_ok,
    }
    try:
        table = write_table(imported_table_path(), ops, cols, meta)
    except OSError as e:
        raise NasvizError(f"cannot write the imported table to {imported_table_path()} ({e}); "
                          "set NASVIZ_HOME to a writable folder") from e
    _forget_cached_benchmark()
    seconds = time.perf_counter() - t0
    log.info("imported %s NB201 cells from %s into %s in %.1f s", f"{N_CELLS:,}", src, table, seconds)
    return {
        "rows": N_CELLS,
        "table": str(table),
        "file": str(src),
        "kind": kind,
        "package": package,
        "columns_from_file": from_file,
        "columns_from_embedded": from_embedded,
        "order_matches_embedded": order_ok,
        "max_abs_diff_from_embedded": {c: d[0] for c, d in diffs.items()},
        "n_differ_from_embedded": {c: d[1] for c, d in diffs.items()},
        "seconds": round(seconds, 2),
    }


# -- input kinds and the official packages --------------------------------------------
def _kind(src: Path) -> str:
    if not src.exists():
        raise NasvizError(f"no such file or folder: {src}; {_ACCEPTED}")
    if src.is_dir():
        if (src / "meta.pickle.pbz2").is_file():
            return KIND_NATS_FOLDER
        raise NasvizError(f"{src} is a folder without meta.pickle.pbz2, so not a NATS-Bench -simple folder; {_ACCEPTED}")
    try:
        with open(src, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise NasvizError(f"cannot read {src}: {e}") from e
    if head.startswith(b"BZh"):
        return KIND_NATS_FILE
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":  # torch zip / legacy torch pickle
        return KIND_NB201
    raise NasvizError(f"{src} is not a NAS-Bench-201 or NATS-Bench file (it is neither a torch file nor a "
                      f"bz2 pickle); {_ACCEPTED}")


def _require(module: str, requirement: str, what: str) -> types.ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise NasvizError(
            f"reading {what} needs the official package `{module}`: pip install {requirement} "
            f"(or pip install 'nasviz[official]')"
        ) from e


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _open(src: Path, kind: str, progress: bool | None) -> tuple[Any, str]:
    """The official API object for ``src`` and the package that reads it."""
    if kind == KIND_NB201:
        mod = _require("nas_201_api", NB201_PACKAGE, "a NAS-Bench-201 .pth file")
        package = f"nas-bench-201 {_version('nas-bench-201')}"
        log.info("loading %s (the official v1_1 file takes minutes and much memory)", src)
        raw = _check_layout(_load_torch(src, progress), src)
        return _construct(lambda: mod.NASBench201API(_NoCopy(raw), verbose=False), src, package), package
    mod = _require("nats_bench", NATS_PACKAGE, "a NATS-Bench file")
    package = f"nats_bench {_version('nats_bench')}"
    if kind == KIND_NATS_FILE:
        log.info("loading %s", src)
        raw = _check_layout(_load_bz2(src, progress), src)
        return _construct(lambda: mod.create(_NoCopy(raw), "tss", fast_mode=False, verbose=False), src, package), package
    # the -simple folder: never mod.create(str(src), fast_mode=True), which unpickles with plain pickle.load
    meta_file = src / "meta.pickle.pbz2"
    meta = _load_bz2(meta_file)
    if not isinstance(meta, dict) or not isinstance(meta.get("meta_archs"), (list, tuple)):
        raise NasvizError(f"{meta_file} does not hold the list of arch strings (meta_archs) a NATS-Bench "
                          f"-simple folder's meta file holds; {_ACCEPTED}")
    empty = {"meta_archs": list(meta["meta_archs"]), "arch2infos": {}, "evaluated_indexes": []}
    return _construct(lambda: mod.create(_NoCopy(empty), "tss", fast_mode=False, verbose=False), src, package), package


def _folder_loader(api: Any, src: Path):
    """``load(idx)``: arch ``idx`` of a NATS -simple folder, unpickled by nasviz, placed into ``api``.

    Does what ``nats_bench``'s ``api.reload(folder, idx)`` does (file ``{idx:06d}.pickle.pbz2``
    or ``{idx}.pickle.pbz2``; one ``ArchResults`` per schedule), with the allow-list unpickler.
    """
    from nats_bench.api_utils import ArchResults

    def load(idx: int) -> None:
        for name in (f"{idx:06d}.pickle.pbz2", f"{idx}.pickle.pbz2"):
            path = src / name
            if path.is_file():
                break
        else:
            raise NasvizError(f"{src} has no file for arch #{idx} ({idx:06d}.pickle.pbz2): the folder is incomplete")
        xdata = _check_records(_load_bz2(path), path, f"arch #{idx}")
        try:
            hp2res = collections.OrderedDict((hp, ArchResults.create_from_state_dict(res)) for hp, res in xdata.items())
        except Exception as e:  # noqa: BLE001 - nats_bench signals a bad record with asserts/ValueErrors/KeyErrors
            raise NasvizError(f"{path} is not a NATS-Bench arch record (nats_bench says: {e!r}); {_ACCEPTED}") from e
        api.arch2infos_dict[idx] = hp2res
        api.evaluated_indexes.add(idx)
        api._avaliable_hps.update(hp2res)  # [sic] nats_bench's name; reload() updates it the same way

    return load


def _check_records(records: Any, src: Path, what: str) -> dict:
    """``{schedule: ArchResults state dict}``: dicts only, never a path the package would load itself."""
    if not isinstance(records, dict) or not all(isinstance(r, dict) for r in records.values()):
        kinds = type(records).__name__ if not isinstance(records, dict) else \
            ", ".join(sorted({type(r).__name__ for r in records.values()}))
        raise NasvizError(f"{src}: the results of {what} are {kinds}, not the records (dicts) a benchmark file "
                          "holds; nasviz does not hand them to the package (a path there would be loaded "
                          f"without nasviz's checks); {_ACCEPTED}")
    return records


def _construct(make, src: Path, package: str) -> Any:
    try:
        return make()
    except NasvizError:
        raise
    except Exception as e:  # noqa: BLE001 - the packages signal bad files with asserts, ValueErrors, ...
        raise NasvizError(f"{src} is not a valid NAS-Bench-201 / NATS-Bench topology file ({package} says: {e!r}); "
                          f"{_ACCEPTED}") from e


def _check_layout(raw: Any, src: Path) -> dict:
    keys = ("meta_archs", "arch2infos", "evaluated_indexes")
    if not isinstance(raw, dict) or any(k not in raw for k in keys):
        have = f"keys {', '.join(map(repr, list(raw)[:6]))}" if isinstance(raw, dict) else type(raw).__name__
        raise NasvizError(f"{src} is not a NAS-Bench-201 / NATS-Bench benchmark file: it holds {have}, "
                          f"not {', '.join(keys)}; {_ACCEPTED}")
    if not isinstance(raw["meta_archs"], (list, tuple)):
        raise NasvizError(f"{src}: meta_archs is a {type(raw['meta_archs']).__name__}, not the list of arch strings "
                          "a NAS-Bench-201 / NATS-Bench file holds")
    _check_count(len(raw["meta_archs"]), src)
    if not isinstance(raw["arch2infos"], dict):
        raise NasvizError(f"{src}: arch2infos is a {type(raw['arch2infos']).__name__}, not the dict of records "
                          "a NAS-Bench-201 / NATS-Bench file holds")
    for idx, records in raw["arch2infos"].items():
        _check_records(records, src, f"arch #{idx}")
    return raw


def _check_count(n: int, src: Path) -> None:
    if n < N_CELLS:
        raise NasvizError(f"{src} lists {n:,} architectures, fewer than the {N_CELLS:,} NB201 cells; "
                          "nasviz needs the complete benchmark file")
    if n > N_CELLS:
        raise NasvizError(f"{src} lists {n:,} architectures, not the {N_CELLS:,} NB201 cells "
                          "(the NATS-Bench size space, sss, has 32,768): import the topology (tss) file")


def _check_archs(api: Any, src: Path) -> list[str]:
    """Official arch strings in index order (``api.arch(idx)``), all valid NB201 cells."""
    _check_count(len(api), src)
    archs = [api.arch(i) for i in range(N_CELLS)]
    for i, a in enumerate(archs):
        try:
            NB201Cell.from_str(a)
        except (NasvizError, TypeError, AttributeError) as e:
            raise NasvizError(f"{src}: architecture #{i} is {a!r}, not an NB201 cell ({e}); "
                              "nasviz reads the topology (tss) search space") from None
    return archs


def _costs(api: Any, idx: int, src: Path, package: str) -> dict[str, float]:
    """params / FLOPs (millions) as ``api.get_cost_info(idx, dataset, hp='200')`` gives them."""
    hp2res = getattr(api, "arch2infos_dict", {}).get(idx)
    out: dict[str, float] = {}
    for col, ds, key in _COST:
        try:
            if hp2res is not None and _COST_HP in hp2res:
                cost = hp2res[_COST_HP].get_compute_costs(ds)  # = get_cost_info without the deep copy
            else:
                cost = api.get_cost_info(idx, ds, hp=_COST_HP)
        except (KeyError, ValueError):  # this dataset is not in the file
            continue
        except Exception as e:  # noqa: BLE001
            raise NasvizError(f"{src}: cannot read the cost of arch #{idx} ({ds}) with {package}: {e!r}") from e
        if cost.get(key) is not None:
            out[col] = float(cost[key])
    return out


# -- provenance and comparison -------------------------------------------------------------
def _describe(col: str, package: str, name: str) -> str:
    for c, hp, ds, key in _ACCURACY:
        if c == col:
            return f"{name} via {package}: get_more_info(idx, {ds!r}, hp={hp!r}, is_random=False)[{key!r}]"
    for c, ds, key in _COST:
        if c == col:
            return f"{name} via {package}: get_cost_info(idx, {ds!r}, hp={_COST_HP!r})[{key!r}] (millions)"
    hp, ds, key = _EXTRA[col][0]
    return f"{name} via {package}: get_more_info(idx, {ds!r}, hp={hp!r}, is_random=False)[{key!r}]"


def _embedded_source(col: str) -> str:
    from nasviz.bench.nb201 import COLUMNS

    for spec in COLUMNS:
        if spec.column == col:
            return spec.description
    return EXTRA_COLUMNS.get(col, col)


def _embedded_ops() -> np.ndarray:
    with np.load(embedded_table_path(), allow_pickle=False) as z:
        return z["ops"]


def _embedded() -> NB201Benchmark | None:
    path = embedded_table_path()
    if not path.exists():
        return None
    return NB201Benchmark(path)


def _compare(cols: dict[str, np.ndarray], names: list[str], embedded: NB201Benchmark | None) -> dict:
    out = {}
    if embedded is None:
        return out
    for c in names:
        if c not in embedded.stored_columns():
            continue
        d = np.abs(np.asarray(cols[c], dtype=np.float64) - embedded.raw_column(c))
        finite = d[np.isfinite(d)]
        out[c] = (float(finite.max()) if finite.size else None, int((d > 1e-6).sum()))
    return out


def _forget_cached_benchmark() -> None:
    """``get_benchmark('nb201')`` caches the table per process; the next call must see the import."""
    from nasviz import bench

    getattr(bench, "_CACHE", {}).pop("nb201", None)


def _no_bar(progress: bool | None) -> bool | None:
    return None if progress is None else not progress


# -- unpickling with an allow-list ------------------------------------------------------------
class _NoCopy(dict):
    """The loaded file, handed to the official API without its defensive deep copy.

    Both APIs ``copy.deepcopy`` a dict they are given (they take ownership of a file
    they load themselves); for the 4.7 GB v1_1 file that doubles time and memory.
    """

    def __deepcopy__(self, memo: dict) -> "_NoCopy":
        return self


_SAFE_BUILTINS = {"list", "dict", "tuple", "set", "frozenset", "int", "float", "complex", "str", "bytes",
                  "bytearray", "bool", "slice", "range"}
_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("_codecs", "encode"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"),
    ("torch._utils", "_rebuild_parameter"), ("torch", "Size"), ("torch", "device"),
}


class _RefusedGlobal(pickle.UnpicklingError):
    pass


class _SafeUnpickler(pickle.Unpickler):
    """C-speed unpickling that resolves only plain data types (Python docs, "Restricting Globals")."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("__builtin__", "builtins") and name in _SAFE_BUILTINS:
            return getattr(__import__("builtins"), name)
        if module.startswith("numpy.core"):  # pickles from numpy 1.x
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) in _SAFE_GLOBALS:
            return getattr(importlib.import_module(module), name)
        if module == "torch":
            import torch

            obj = getattr(torch, name, None)
            if isinstance(obj, torch.dtype):
                return obj
        raise _RefusedGlobal(f"{module}.{name}")


def _safe_pickle_module() -> types.ModuleType:
    m = types.ModuleType("nasviz_safe_pickle")
    m.Unpickler = _SafeUnpickler  # type: ignore[attr-defined]
    m.load = lambda f, **kw: _SafeUnpickler(f, **kw).load()  # type: ignore[attr-defined]
    m.__dict__["UnpicklingError"] = pickle.UnpicklingError
    return m


def _unpickle_error(src: Path, e: BaseException) -> NasvizError:
    if isinstance(e, _RefusedGlobal):
        return NasvizError(f"{src} contains a Python object of type {e}, which a NAS-Bench-201 / NATS-Bench "
                           "file never holds; nasviz does not unpickle it (it could run code). " + _ACCEPTED)
    return NasvizError(f"{src} is corrupt or not a benchmark file: cannot unpickle it "
                       f"({type(e).__name__}: {e}); {_ACCEPTED}")


@contextlib.contextmanager
def _reading(src: Path, progress: bool | None) -> Iterator[Any]:
    """``src`` opened for reading, with a tqdm bar over the bytes read."""
    with open(src, "rb") as f, tqdm.wrapattr(f, "read", total=src.stat().st_size, desc=f"loading {src.name}",
                                             unit="B", unit_scale=True, unit_divisor=1024,
                                             disable=_no_bar(progress)) as wrapped:
        yield wrapped


def _load_torch(src: Path, progress: bool | None = False) -> Any:
    import torch

    try:
        with open(src, "rb") as f:
            legacy = f.read(1) == b"\x80"
        if not legacy:  # zip format: torch reads it natively, not through read()
            return torch.load(src, map_location="cpu", weights_only=False, pickle_module=_safe_pickle_module())
        # the published v1_0 / v1_1 files predate torch's zip format: a pickle stream, read() by read()
        with _reading(src, progress) as f:
            return torch.load(f, map_location="cpu", weights_only=False, pickle_module=_safe_pickle_module())
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for damaged files
        raise _unpickle_error(src, e) from e


def _load_bz2(src: Path, progress: bool | None = False) -> Any:
    try:
        with _reading(src, progress) as raw, bz2.open(raw, "rb") as f:
            return _SafeUnpickler(f).load()
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - bz2/pickle raise OSError, EOFError, UnpicklingError, ...
        raise _unpickle_error(src, e) from e


__all__ = ["import_official", "NB201_PACKAGE", "NATS_PACKAGE"]

"""Read the official NAS-Bench-101 files without TensorFlow and convert them once.

``nasbench_only108.tfrecord`` and ``nasbench_full.tfrecord`` are TFRecord files:
each record is framed as

    uint64 length (little endian) | uint32 masked crc32c(length) | data | uint32 masked crc32c(data)

with ``masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)``; both CRCs are
verified here (crc32c computed with numpy, many records at once). Each record's data
is a JSON list, as read by the official ``nasbench/api.py``::

    [module_hash, epochs, raw_adjacency ("0110..." row-major), raw_operations ("input,conv3x3-bn-relu,..."),
     base64 of a serialized ``ModelMetrics`` protobuf]

``ModelMetrics`` (``nasbench/lib/model_metrics.proto``, proto2):
``repeated EvaluationData evaluation_data = 1; optional int32 trainable_parameters = 2;
optional double total_time = 3``, and ``EvaluationData``: ``double current_epoch = 1;
double training_time = 2; double train_accuracy = 3; double validation_accuracy = 4;
double test_accuracy = 5; string checkpoint_path = 6``. The protobuf wire format is
decoded by hand below. As in the official API, ``evaluation_data[2]`` holds the
metrics at the end of training (``[0]`` at step 0, ``[1]`` halfway).

One row per training run (3 repeats per cell and epoch budget). The import averages
the repeats of the final metrics per cell and budget and writes the table with
:func:`nasviz.bench.nb101.write_table` atomically: a corrupt or truncated file raises
:class:`DataFileError` and leaves any earlier table untouched.
"""

from __future__ import annotations

import array
import base64
import binascii
import json
import logging
import struct
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from nasviz.errors import DataFileError, NasvizError

log = logging.getLogger(__name__)

_POLY = 0x82F63B78  # crc32c (Castagnoli), reflected
_MASK_DELTA = 0xA282EAD8


def _make_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        t[i] = c
    return t


CRC_TABLE = _make_table()
_TABLE_LIST = CRC_TABLE.tolist()


def crc32c(data: bytes) -> int:
    """crc32c of a byte string (plain Python; for short inputs)."""
    c = 0xFFFFFFFF
    t = _TABLE_LIST
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(crc: int | np.ndarray):
    """TFRecord's masked crc (works on ints and uint32 arrays)."""
    if isinstance(crc, np.ndarray):
        c = crc.astype(np.uint64)
        return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + _MASK_DELTA & 0xFFFFFFFF).astype(np.uint32)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def crc32c_batch(buf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """crc32c of many byte ranges of ``buf`` at once (one numpy step per byte position)."""
    offsets = np.asarray(offsets, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")  # longest first: the active records are a prefix
    off = offsets[order]
    ln = lengths[order]
    crc = np.full(len(off), 0xFFFFFFFF, dtype=np.uint32)
    if len(off) == 0:
        return crc
    maxlen = int(ln[0])
    # active[j] = number of ranges longer than j
    active = len(ln) - np.searchsorted(ln[::-1], np.arange(maxlen), side="right")
    for j in range(maxlen):
        k = int(active[j])
        c = crc[:k]
        b = buf[off[:k] + j]
        crc[:k] = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    out = np.empty_like(crc)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


# -- TFRecord framing -------------------------------------------------------------------
def iter_records(path: Path | str, chunk_bytes: int = 32 << 20,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[list[bytes]]:
    """Yield batches of record payloads, each CRC-checked; :class:`DataFileError` on any damage."""
    path = Path(path)
    total = path.stat().st_size
    rec_no = 0
    file_pos = 0  # file offset of buf[0]
    buf = b""
    with open(path, "rb") as f:
        eof = False
        while not eof:
            chunk = f.read(chunk_bytes)
            eof = not chunk
            buf = buf + chunk
            pos = 0
            offs: list[int] = []
            lens: list[int] = []
            n = len(buf)
            while pos + 12 <= n:
                (length,) = struct.unpack_from("<Q", buf, pos)
                end = pos + 12 + length + 4
                if length > (1 << 31):
                    raise DataFileError(
                        f"{path} is not a TFRecord file or is corrupt: record {rec_no} at byte {file_pos + pos} "
                        f"claims {length} bytes")
                if end > n:
                    break
                offs.append(pos)
                lens.append(length)
                pos = end
                rec_no += 1
            if offs:
                arr = np.frombuffer(buf, dtype=np.uint8)
                o = np.asarray(offs, dtype=np.int64)
                ln = np.asarray(lens, dtype=np.int64)
                hcrc = masked_crc(crc32c_batch(arr, o, np.full(len(o), 8)))
                want_h = arr[(o[:, None] + 8 + np.arange(4))].copy().view("<u4").ravel()
                bad = np.flatnonzero(hcrc != want_h)
                if len(bad):
                    k = int(bad[0])
                    raise DataFileError(f"{path} is corrupt: length CRC mismatch in record {rec_no - len(o) + k} "
                                        f"at byte {file_pos + offs[k]} (not a TFRecord file, or damaged)")
                dcrc = masked_crc(crc32c_batch(arr, o + 12, ln))
                want_d = arr[((o + 12 + ln)[:, None] + np.arange(4))].copy().view("<u4").ravel()
                bad = np.flatnonzero(dcrc != want_d)
                if len(bad):
                    k = int(bad[0])
                    raise DataFileError(f"{path} is corrupt: data CRC mismatch in record {rec_no - len(o) + k} "
                                        f"at byte {file_pos + offs[k]}")
                yield [buf[p + 12:p + 12 + q] for p, q in zip(offs, lens)]
            buf = buf[pos:]
            file_pos += pos
            if progress:
                progress(file_pos, total)
    if buf:
        raise DataFileError(f"{path} is truncated: {len(buf)} bytes of an incomplete record {rec_no} at byte "
                            f"{file_pos} (download it again)")


# -- protobuf wire format ---------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


#: EvaluationData field numbers -> names (model_metrics.proto).
EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
               5: "test_accuracy"}


def _eval_values(buf: bytes, pos: int, end: int) -> list[float]:
    """Fields 1..5 (doubles) of one EvaluationData in buf[pos:end]; others skipped."""
    vals = [0.0, 0.0, 0.0, 0.0, 0.0]
    unpack = struct.unpack_from
    while pos < end:
        key = buf[pos]
        pos += 1
        if key & 0x80:
            key, pos = _varint(buf, pos - 1)
        wt = key & 7
        if wt == 1:
            if pos + 8 > end:
                raise ValueError("truncated fixed64")
            num = key >> 3
            if 1 <= num <= 5:
                vals[num - 1] = unpack("<d", buf, pos)[0]
            pos += 8
        elif wt == 2:
            ln = buf[pos] if pos < end else 0x80
            pos += 1
            if ln & 0x80:
                ln, pos = _varint(buf, pos - 1)
            pos += ln
        elif wt == 0:
            _, pos = _varint(buf, pos)
        elif wt == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
    if pos != end:
        raise ValueError("EvaluationData overruns its length")
    return vals


def _decode(buf: bytes) -> tuple[list[tuple[int, int]], int, float]:
    """Top level of a ``ModelMetrics``: the byte spans of the evaluation_data messages (decode
    them with :func:`_eval_values`), trainable_parameters and total_time."""
    evals: list[tuple[int, int]] = []
    params = 0
    total_time = 0.0
    pos = 0
    n = len(buf)
    while pos < n:
        key = buf[pos]
        pos += 1
        if key & 0x80:
            key, pos = _varint(buf, pos - 1)
        num, wt = key >> 3, key & 7
        if wt == 2:
            ln, pos = _varint(buf, pos)
            end = pos + ln
            if end > n:
                raise ValueError("truncated length-delimited field")
            if num == 1:
                evals.append((pos, end))
            pos = end
        elif wt == 0:
            v, pos = _varint(buf, pos)
            if num == 2:
                params = v - (1 << 64) if v >= 1 << 63 else v
        elif wt == 1:
            if pos + 8 > n:
                raise ValueError("truncated fixed64")
            if num == 3:
                total_time = struct.unpack_from("<d", buf, pos)[0]
            pos += 8
        elif wt == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
    if pos != n:
        raise ValueError("truncated message")
    return evals, int(params), float(total_time)


def decode_model_metrics(buf: bytes) -> tuple[list[dict[str, float]], int, float]:
    """``(evaluation_data, trainable_parameters, total_time)`` of a serialized ``ModelMetrics``."""
    spans, params, total = _decode(buf)
    names = list(EVAL_FIELDS.values())
    return [dict(zip(names, _eval_values(buf, a, b))) for a, b in spans], params, total


def parse_row(data: bytes) -> tuple[str, int, str, str, list[float], int]:
    """One record -> ``(module_hash, epochs, raw_adjacency, raw_operations, final, params)`` where
    ``final`` is the end-of-training evaluation (``evaluation_data[2]``, as the official API reads
    it): ``[current_epoch, training_time, train_acc, valid_acc, test_acc]``."""
    row = json.loads(data.decode("utf-8"))
    if not isinstance(row, list) or len(row) != 5:
        raise ValueError("expected a JSON list of 5 fields [hash, epochs, adjacency, operations, metrics]")
    module_hash, epochs, raw_adj, raw_ops, raw_metrics = row
    buf = base64.b64decode(raw_metrics, validate=True)
    spans, params, _ = _decode(buf)
    if not spans:
        raise ValueError("ModelMetrics has no evaluation_data")
    a, b = spans[2] if len(spans) >= 3 else spans[-1]
    return str(module_hash), int(epochs), str(raw_adj), str(raw_ops), _eval_values(buf, a, b), params


# -- conversion -------------------------------------------------------------------------
def import_official(path: Path | str, out: Path | str | None = None,
                    progress: Callable[[int, int], None] | None = None, enumeration=None) -> dict:
    """Convert an official NB101 tfrecord into the local table (atomically); returns a summary."""
    from nasviz.bench.nb101 import DATASET, imported_table_path, write_table
    from nasviz.spaces.nb101 import NB101Cell
    from nasviz.spaces.nb101_enum import load_enumeration

    src = Path(path)
    if not src.is_file():
        raise NasvizError(f"no such file: {src}; give nasbench_only108.tfrecord or nasbench_full.tfrecord")
    enum = enumeration if enumeration is not None else load_enumeration()
    t0 = time.perf_counter()
    hashes = bytearray()
    epochs = array.array("i")
    vals = array.array("d")  # train, valid, test, time per run
    params = array.array("q")
    first_spec: dict[bytes, tuple[str, str]] = {}
    n_rows = 0
    for batch in iter_records(src, progress=progress):
        for data in batch:
            try:
                h, ep, adj, ops, final, p = parse_row(data)
                hb = bytes.fromhex(h)
                if len(hb) != 16:
                    raise ValueError(f"module hash {h!r} is not 32 hex digits")
            except (ValueError, UnicodeDecodeError, binascii.Error, IndexError, TypeError) as e:
                raise DataFileError(f"{src}: record {n_rows} is not an NB101 row ({e}); "
                                    "expected the official nasbench tfrecord") from None
            hashes += hb
            epochs.append(ep)
            vals.extend((final[2], final[3], final[4], final[1]))
            params.append(p)
            if hb not in first_spec:
                first_spec[hb] = (adj, ops)
            n_rows += 1
    if n_rows == 0:
        raise DataFileError(f"{src} holds no records; expected the official nasbench tfrecord")
    t_read = time.perf_counter() - t0
    H = np.frombuffer(bytes(hashes), dtype=np.uint8).reshape(-1, 16)
    idx = enum.find_many(H)
    if (idx < 0).any():
        k = int(np.flatnonzero(idx < 0)[0])
        raise DataFileError(f"{src}: record {k} has module hash {H[k].tobytes().hex()}, which is not an NB101 cell; "
                            "is this the official nasbench file?")
    # every cell's stored spec must be that cell (same hash); identical to nasviz's representative is the norm
    mismatched = 0
    for hb, (adj, ops) in first_spec.items():
        i = enum.find(hb.hex())
        rep = enum.cell(i)
        if adj == "".join(str(x) for row in rep.matrix for x in row) and ops == ",".join(rep.ops):
            continue
        mismatched += 1
        n = int(round(len(adj) ** 0.5))
        try:
            c = NB101Cell([[int(ch) for ch in adj[r * n:(r + 1) * n]] for r in range(n)], ops.split(","))
            ok = c.hash == hb.hex()
        except (NasvizError, ValueError):
            ok = False
        if not ok:
            raise DataFileError(f"{src}: the spec stored for hash {hb.hex()} does not hash to it; the file is damaged")
    E = np.frombuffer(epochs, dtype=np.int32)
    V = np.frombuffer(vals, dtype=np.float64).reshape(-1, 4)
    P = np.frombuffer(params, dtype=np.int64)
    warnings = check_records(src, E, V, P, n_cells=len(np.unique(idx)))
    cells = np.unique(idx)
    row_of = np.full(len(enum), -1, dtype=np.int64)
    row_of[cells] = np.arange(len(cells))
    rows = row_of[idx]
    columns: dict[str, np.ndarray] = {}
    runs: dict[str, list[int]] = {}
    incomplete = 0
    for ep in sorted(set(E.tolist())):
        m = E == ep
        cnt = np.bincount(rows[m], minlength=len(cells))
        runs[str(ep)] = [int(cnt.min()), int(cnt.max())]
        incomplete += int((cnt == 0).sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, name in enumerate(("train", "valid", "test")):
                columns[f"{name}_e{ep}"] = 100.0 * np.bincount(rows[m], weights=V[m, k], minlength=len(cells)) / cnt
            columns[f"time_e{ep}"] = np.bincount(rows[m], weights=V[m, 3], minlength=len(cells)) / cnt
    par = np.zeros(len(cells), dtype=np.int64)
    par[rows] = P
    pmin = np.full(len(cells), np.iinfo(np.int64).max)
    np.minimum.at(pmin, rows, P)
    if (pmin != par).any():
        raise DataFileError(f"{src}: runs of the same cell disagree on trainable_parameters; the file is damaged")
    columns["params"] = par
    out_path = Path(out) if out is not None else imported_table_path()
    meta = {
        "kind": "official",
        "source": f"official NAS-Bench-101 file {src.name} (google-research/nasbench; Ying et al., ICML 2019), "
                  "mean of the repeats, converted by nasviz import nb101",
        "file": str(src.resolve()),
        "file_bytes": src.stat().st_size,
        "dataset": DATASET,
        "records": n_rows,
        "cells": int(len(cells)),
        "epochs": sorted(int(e) for e in runs),
        "repeats_min_max_per_epochs": runs,
        "cells_missing_an_epoch_budget": incomplete,
        "specs_differing_from_nasviz_representative": mismatched,
        "imported_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_table(out_path, cells, enum.hashes[cells], columns, meta)
    seconds = time.perf_counter() - t0
    log.info("imported %d NB101 records (%d cells) in %.1f s", n_rows, len(cells), seconds)
    return {"table": str(out_path), "records": n_rows, "rows": int(len(cells)), "epochs": meta["epochs"],
            "seconds": round(seconds, 3), "seconds_reading": round(t_read, 3),
            "records_per_s": round(n_rows / seconds, 1) if seconds > 0 else None,
            "specs_differing_from_nasviz_representative": mismatched, "warnings": warnings}


#: The epoch budgets NAS-Bench-101 trained with, and the official files' record counts (3 repeats per cell).
KNOWN_EPOCHS = (4, 12, 36, 108)
OFFICIAL_CELLS = 423_624
OFFICIAL_RECORDS = {(108,): 3 * OFFICIAL_CELLS, KNOWN_EPOCHS: 4 * 3 * OFFICIAL_CELLS}


def check_records(src: Path, epochs: np.ndarray, values: np.ndarray, params: np.ndarray, n_cells: int) -> list[str]:
    """Refuse records no official file holds; return warnings for a plausible but partial file.

    ``values``: (N, 4) train, valid, test accuracy (fractions 0..1) and training seconds per record. Raises
    :class:`DataFileError` naming the first bad record: a NaN or infinite value, an accuracy outside 0-100 %,
    a negative time or parameter count, an epoch budget other than 4, 12, 36, 108. A file with fewer records
    than the official one is imported with a warning (it then answers only for the cells it holds)."""
    names = ("train accuracy", "validation accuracy", "test accuracy", "training time")
    bad_ep = np.flatnonzero(~np.isin(epochs, KNOWN_EPOCHS))
    if len(bad_ep):
        k = int(bad_ep[0])
        raise DataFileError(f"{src}: record {k} has epoch budget {int(epochs[k])}; NAS-Bench-101 has only "
                            f"{', '.join(map(str, KNOWN_EPOCHS))}. Nothing was imported")
    for j, name in enumerate(names):
        col = values[:, j]
        bad = ~np.isfinite(col) | (col < 0) | ((col > 1) if j < 3 else False)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            v = col[k] * (100 if j < 3 else 1)
            accepted = "0-100 %" if j < 3 else "a finite number of seconds >= 0"
            raise DataFileError(f"{src}: record {k} has {name} {v:g}{' %' if j < 3 else ''}; accepted: {accepted}. "
                                f"{int(bad.sum())} record(s) are out of range; nothing was imported")
    if (params <= 0).any():
        k = int(np.flatnonzero(params <= 0)[0])
        raise DataFileError(f"{src}: record {k} has {int(params[k])} trainable parameters; nothing was imported")
    warnings = []
    budgets = tuple(sorted(set(int(e) for e in np.unique(epochs))))
    official = OFFICIAL_RECORDS.get(budgets)
    if official is not None and len(epochs) < official:
        warnings.append(f"{src.name} holds {len(epochs):,} records of {n_cells:,} cells; the official file has "
                        f"{official:,} of {OFFICIAL_CELLS:,}. The imported table answers only for those cells")
    elif official is None:
        warnings.append(f"{src.name} holds epoch budgets {', '.join(map(str, budgets))}; the official files hold "
                        f"108 (only108) or 4, 12, 36, 108 (full), {n_cells:,} cells")
    for w in warnings:
        log.warning("%s", w)
    return warnings

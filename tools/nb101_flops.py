"""Compute the FLOPs column for every cell of the NB101 enumeration.

    python tools/nb101_flops.py [--out data/nb101/flops.npz] [--verify 200] [--limit N]

Writes ``flops`` (int64, forward FLOPs of the CIFAR-10 network for one 3x32x32
image, in the row order of ``data/nb101/enumeration.npz``, i.e. by module hash)
and a JSON ``meta`` whose ``enumeration_sha256`` (of the enumeration's hash array)
ties the rows to that file: ``nasviz.nets.nb101.stored_flops`` refuses a column
computed for a different enumeration.
FLOPs follow ``torch.utils.flop_counter.FlopCounterMode``: 2 per multiply-add of
the convolutions and the dense layer, nothing for BN/ReLU/pooling/additions.

Each row is the enumeration's official representative, i.e. the graph the
benchmark trained: FLOPs (and params) depend on the vertex order, because the
output's leftover channels go to the lowest-numbered vertices.

Counting through the built network costs ~0.1-0.2 s per cell (16-20 CPU hours for
423,624), so the column uses :func:`nasviz.nets.nb101.nb101_flops_fast`, the same
number from the layer shapes (~0.15 ms per cell, about a minute in all);
``--verify N`` recounts N random cells with the flop counter on the built network
and stops if any differs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nasviz.nets.nb101 import enumeration_digest, nb101_flops, nb101_flops_fast  # noqa: E402
from nasviz.paths import data_dir  # noqa: E402
from nasviz.spaces.nb101_enum import load_enumeration  # noqa: E402

log = logging.getLogger("nb101_flops")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=data_dir() / "nb101" / "flops.npz")
    ap.add_argument("--verify", type=int, default=200, help="cells recounted with FlopCounterMode (default 200)")
    ap.add_argument("--limit", type=int, default=None, help="only the first N cells (for timing)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from tqdm import tqdm

    enum = load_enumeration()
    n = len(enum) if args.limit is None else min(args.limit, len(enum))
    flops = np.zeros(n, dtype=np.int64)
    t0 = time.perf_counter()
    for i in tqdm(range(n), desc="NB101 FLOPs", mininterval=2.0):
        c = enum.cell(i)
        flops[i] = nb101_flops_fast((c.matrix, c.ops))
    fast_s = time.perf_counter() - t0

    rng = np.random.default_rng(args.seed)
    check = rng.choice(n, size=min(args.verify, n), replace=False)
    t1 = time.perf_counter()
    for i in tqdm(check, desc="verify with FlopCounterMode", mininterval=2.0):
        c = enum.cell(int(i))
        counted = nb101_flops((c.matrix, c.ops))
        if counted != flops[i]:
            log.error("cell %d (%s): formula %d != counter %d; nothing written", i, enum.hash_hex(int(i)),
                      flops[i], counted)
            return 1
    counter_s = (time.perf_counter() - t1) / max(len(check), 1)

    meta = {
        "what": "forward FLOPs of the NB101 CIFAR-10 network, 1x3x32x32 input, FlopCounterMode convention",
        "cells": int(n),
        "rows": "enumeration.npz row order (module hash order)",
        "seconds_total": round(fast_s, 1),
        "ms_per_cell_fast": round(1e3 * fast_s / n, 4),
        "verified_with_counter": int(len(check)),
        "s_per_cell_counter": round(counter_s, 4),
        "enumeration_sha256": enumeration_digest(enum, n),
        "min": int(flops.min()),
        "max": int(flops.max()),
        "command": "python tools/nb101_flops.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".flops-", suffix=".npz", dir=args.out.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, flops=flops, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
        os.chmod(tmp, 0o644)
        os.replace(tmp, args.out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s: %d cells in %.1f s (%.3f ms/cell); %d verified with the counter (%.3f s/cell); "
             "FLOPs %.3g .. %.3g", args.out, n, fast_s, 1e3 * fast_s / n, len(check), counter_s,
             flops.min(), flops.max())
    return 0


if __name__ == "__main__":
    sys.exit(main())

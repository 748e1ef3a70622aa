"""Build data/nb201/nb201.npz from the shared real-data parquet (see data/nb201/SOURCE.md).

Usage: python tools/build_nb201_table.py [../shared/data/nb201_accuracies.parquet]
Checks the official index order and the published optima before writing.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.bench.nb201 import EXTRA_COLUMNS, REQUIRED_COLUMNS, embedded_table_path, write_table
from nasviz.spaces.nb201 import NB201Cell

src = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared/data/nb201_accuracies.parquet")
df = pd.read_parquet(src).sort_values("arch_index").reset_index(drop=True)
assert (df.arch_index.to_numpy() == np.arange(len(df))).all(), "arch_index must be 0..15624"
ops = np.array([NB201Cell.from_str(s).ops for s in df.arch_str], dtype=np.uint8)
for s, row in zip(df.arch_str, ops):
    assert NB201Cell(tuple(row)).to_str() == s
cols = {c: df[c].to_numpy(np.float64) for c in (*REQUIRED_COLUMNS, *EXTRA_COLUMNS)}
assert abs(cols["nats_c10_test"][6111] - 94.3733) < 1e-3
assert abs(cols["c100_test"][9930] - 73.5133) < 1e-3
assert abs(cols["in16_test"][857] - 47.3111) < 1e-3
meta = {"source": "nasviz embedded table built from shared nb201_accuracies.parquet; see data/nb201/SOURCE.md",
        "rows": len(df)}
out = write_table(embedded_table_path(), ops, cols, meta)
print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")

"""Build data/nb101/nb101_sample.npz: the shared real NB101 sample joined with the enumeration.

Usage: python tools/build_nb101_table.py [../shared/data/nb101_sample.parquet]

Every one of the sample's module hashes must be found in data/nb101/enumeration.npz
(it gives each cell its spec); the 1,000 specs the sample carries must hash to their
module hash and equal the enumeration's representative. Accuracies are stored in
percent (the parquet holds fractions), params as the exact count.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from nasviz.bench.nb101 import embedded_table_path, write_table
from nasviz.spaces.nb101 import NB101Cell
from nasviz.spaces.nb101_enum import load_enumeration

SOURCE = ("real NAS-Bench-101 sample (30,001 cells, single training run, CIFAR-10 validation accuracy at "
          "4/12/36/108 epochs) from tiga1231/nasbench-vis, via shared nb101_sample.parquet; see data/nb101/SOURCE.md")


def build(src: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict]:
    df = pd.read_parquet(src)
    enum = load_enumeration()
    idx = enum.find_many(df.module_hash.to_numpy())
    missing = int((idx < 0).sum())
    if missing:
        raise SystemExit(f"{missing} sample hashes are not in the enumeration")
    for h, adj, ops, i in zip(df.module_hash, df.adjacency, df.ops, idx):
        if adj is None:
            continue
        cell = NB101Cell(np.stack(adj), list(ops))
        if cell.hash != h or cell != enum.cell(int(i)):
            raise SystemExit(f"spec of {h} does not match the enumeration")
    cols = {f"valid_e{e}": 100.0 * df[f"val_acc_e{e}"].to_numpy(np.float64) for e in (4, 12, 36, 108)}
    cols["time_e108"] = df.train_time_s_e108.to_numpy(np.float64)
    cols["params"] = df.params.to_numpy(np.int64)
    meta = {"kind": "sample", "source": SOURCE, "rows": len(df), "dataset": "cifar10",
            "specs_checked": int(df.has_spec.sum()),
            "citation": "Ying et al., NAS-Bench-101: Towards Reproducible Neural Architecture Search, ICML 2019"}
    return idx, enum.hashes[idx], cols, meta


if __name__ == "__main__":
    src = Path(sys.argv[1] if len(sys.argv) > 1 else
               Path(__file__).resolve().parents[2] / "shared/data/nb101_sample.parquet")
    idx, hashes, cols, meta = build(src)
    out = write_table(embedded_table_path(), idx, hashes, cols, meta)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB, {len(idx):,} rows)")

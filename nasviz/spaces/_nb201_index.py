"""The official NB201 index order, read from the embedded table.

NAS-Bench-201 lists its cells in a fixed but arbitrary order (not enumeration order),
so the mapping index <-> cell is data: the ``ops`` array of ``data/nb201/nb201.npz``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from nasviz.errors import DataFileError
from nasviz.integrity import verify
from nasviz.paths import data_dir


def table_path() -> Path:
    return data_dir() / "nb201" / "nb201.npz"


def load_index_ops(path: Path | None = None) -> np.ndarray:
    """(15625, 6) op indices in official index order."""
    p = Path(path) if path is not None else table_path()
    if not p.exists():
        raise DataFileError(
            f"NB201 table not found at {p}; it ships in the repository's data/nb201/ "
            "(set NASVIZ_DATA_DIR if you moved it)"
        )
    verify(p)
    try:
        with np.load(p, allow_pickle=False) as z:
            return np.asarray(z["ops"])
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as e:
        raise DataFileError(f"NB201 table {p} is corrupt or not a nasviz table ({e}); restore it from the repository") from e

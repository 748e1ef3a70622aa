"""Before -> after, one line per changed figure, for a retraining round (issue 14).

Reads the stored results of an earlier git revision (``git show REV:path``, nothing is recomputed) and
the current ones, and writes benchmarks/results/changes.md:

* latent models (benchmarks/results/models.json): held-out reconstruction, validity, uniqueness, the
  disentanglement score; models that were removed or added are named;
* stored embeddings: duplicate rows (cells sharing an earlier cell's point), counted in the old files too;
* search (benchmarks/results/search.json): mean test accuracy of every strategy row and ablation arm
  whose value changed, at each reported budget.

    python benchmarks/compare_results.py --before dacea8d
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def _git_bytes(rev: str, path: str) -> bytes | None:
    p = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, capture_output=True)
    return p.stdout if p.returncode == 0 else None


def _pct(x) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.3f} %"


def _dup_rows(raw: bytes | None) -> int | None:
    from nasviz.analysis.embeddings import distinct_rows

    if raw is None:
        return None
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        a = z["means"] if "means" in z.files else z["latent"]
    return int(len(a) - distinct_rows(a))


def model_lines(rev: str) -> list[str]:
    old = json.loads(_git_bytes(rev, "benchmarks/results/models.json") or b"{}").get("models", {})
    new = json.loads((RESULTS / "models.json").read_text())["models"]
    lines = []
    for name in sorted(set(old) | set(new)):
        if name not in new:
            lines.append(f"- `{name}`: removed (held-out reconstruction was {_pct(old[name].get('recon_test'))})")
            continue
        if name not in old:
            lines.append(f"- `{name}`: new (held-out reconstruction {_pct(new[name].get('recon_test'))})")
            continue
        o, n = old[name], new[name]
        pairs = [("held-out reconstruction", o.get("recon_test"), n.get("recon_test")),
                 ("validity", o.get("prior", {}).get("validity"), n.get("prior", {}).get("validity")),
                 ("uniqueness (distinct cells)", o.get("prior", {}).get("uniqueness"),
                  n.get("prior", {}).get("uniqueness"))]
        for what, a, b in pairs:
            if a is not None and b is not None and f"{a:.6f}" != f"{b:.6f}":
                lines.append(f"- `{name}` {what}: {_pct(a)} -> {_pct(b)}")
        da, db = o.get("disentanglement", {}).get("score"), n.get("disentanglement", {}).get("score")
        if da is not None and db is not None and f"{da:.4f}" != f"{db:.4f}":
            lines.append(f"- `{name}` disentanglement score: {da:.3f} -> {db:.3f}")
    return lines


def embedding_lines(rev: str) -> list[str]:
    lines = []
    for path in sorted((ROOT / "data" / "embeddings").glob("*.npz")):
        rel = f"data/embeddings/{path.name}"
        before = _dup_rows(_git_bytes(rev, rel))
        after = _dup_rows(path.read_bytes())
        if before is not None and before != after:
            lines.append(f"- `{rel}` duplicate rows: {before:,} -> {after:,}")
    return lines


def search_lines(rev: str) -> list[str]:
    old = json.loads(_git_bytes(rev, "benchmarks/results/search.json") or b"{}")
    new = json.loads((RESULTS / "search.json").read_text())
    lines = []
    for section in ("results", "ablation"):
        for ds, rows in new.get(section, {}).items():
            for label, e in rows.items():
                o = old.get(section, {}).get(ds, {}).get(label)
                for b, at in e["at"].items():
                    a = (o or {}).get("at", {}).get(b)
                    if a is None:
                        lines.append(f"- {section} {ds} `{label}` at {b} queries: new, {at['test_mean']:.2f} +- "
                                     f"{at['test_std']:.2f} ({e['seeds']} seeds)")
                    elif f"{a['test_mean']:.4f}" != f"{at['test_mean']:.4f}":
                        lines.append(f"- {section} {ds} `{label}` at {b} queries: {a['test_mean']:.2f} +- "
                                     f"{a['test_std']:.2f} -> {at['test_mean']:.2f} +- {at['test_std']:.2f} "
                                     f"({e['seeds']} seeds)")
            for label in old.get(section, {}).get(ds, {}):
                if label not in rows:
                    lines.append(f"- {section} {ds} `{label}`: removed (its model is no longer shipped)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision holding the earlier results")
    args = ap.parse_args()
    rev = subprocess.run(["git", "rev-parse", "--short", args.before], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.strip()
    out = ["## Changes in the latest retraining round (before -> after)", "",
           f"Every stored figure that changed since revision `{rev}`, read from the result files of both revisions "
           "by `benchmarks/compare_results.py` (nothing recomputed).", "", "### Latent models", "",
           *(model_lines(rev) or ["- none"]), "", "### Stored embeddings", "", *(embedding_lines(rev) or ["- none"]),
           "", "### Search and ablation (mean test accuracy, %)", "", *(search_lines(rev) or ["- none"]), ""]
    (RESULTS / "changes.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()

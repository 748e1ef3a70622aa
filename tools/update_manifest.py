"""Record the sha256 of every shipped file: data/SHA256SUMS and models/SHA256SUMS.

Usage: python tools/update_manifest.py          rewrite both manifests (after a deliberate retrain,
                                                re-embedding or table rebuild)
       python tools/update_manifest.py --check  only compare; exit 1 and list what differs

nasviz checks every file a manifest lists when it loads it (nasviz.integrity.verify) and refuses
one whose hash differs, naming the file. The manifests cover tables, embeddings and the weights
and configs of every finished checkpoint folder; model cards and docs (*.md), train_state.pt and
the files of a training run still in progress (a folder holding train_state.pt) are left out.
"""

from __future__ import annotations

import argparse
import sys

from nasviz.integrity import build_manifest, check_manifest, read_manifest, write_manifest
from nasviz.paths import data_dir, models_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare only: list files that changed, are missing "
                                                         "or are not yet recorded; exit 1 if any")
    args = ap.parse_args(argv)
    status = 0
    for root in (data_dir(), models_dir()):
        if args.check:
            problems = check_manifest(root)
            listed = read_manifest(root)
            problems += [f"{rel}: not recorded" for rel in sorted(set(build_manifest(root)) - set(listed))]
            for p in problems:
                print(f"{root}: {p}")
            status |= bool(problems)
            if not problems:
                print(f"{root}: {len(listed)} files match {root / 'SHA256SUMS'}")
            continue
        old = read_manifest(root)
        path, entries = write_manifest(root)
        changed = sorted(rel for rel, h in entries.items() if old.get(rel) not in (None, h))
        added = sorted(set(entries) - set(old))
        removed = sorted(set(old) - set(entries))
        print(f"{path}: {len(entries)} files ({len(changed)} changed, {len(added)} added, {len(removed)} removed)")
        for label, rels in (("changed", changed), ("added", added), ("removed", removed)):
            for rel in rels:
                print(f"  {label}: {rel}")
    return status


if __name__ == "__main__":
    sys.exit(main())

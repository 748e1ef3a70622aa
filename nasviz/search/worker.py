"""Worker process entry: ``python -m nasviz.search.worker --db PATH --run ID``.

Started by :func:`nasviz.search.jobs.launch_local`; runs one stored run to a final
state (see :func:`nasviz.search.jobs.execute_run`) and exits 0, or 1 when the run
failed (its traceback is in the store).
"""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nasviz.search.worker")
    ap.add_argument("--db", required=True)
    ap.add_argument("--run", type=int, required=True)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from nasviz.search.jobs import execute_run

    out = execute_run(args.db, args.run)
    logging.getLogger("nasviz.search.worker").info("run %s finished: %s", args.run, out["state"])
    return 0 if out["state"] in ("complete", "cancelled") else 1


if __name__ == "__main__":
    sys.exit(main())

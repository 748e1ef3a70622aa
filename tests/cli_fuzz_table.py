"""Malformed ``nasviz`` invocations, and an in-process runner that checks the CLI's bad-input contract.

Shared by ``tests/test_cli_fuzz.py`` (asserts) and ``benchmarks/bench_badinput.py`` (counts). Every case
is one argv that must give exactly one line, ``error: ...``, on stderr, exit status 2, no traceback,
and write nothing: the run database, the user folder, ``models/``, ``data/`` and the output folder keep
their files (size, mtime, inode).

:func:`make_sandbox` builds what the commands touch in a temporary folder: a copy of ``data/`` and
``models/`` (pointed to by ``NASVIZ_DATA_DIR`` / ``NASVIZ_MODELS_DIR``), a user folder
(``NASVIZ_HOME``) with a run database holding three real runs (``NASVIZ_DB``), a corrupt, a read-only
and a foreign database, files that are not what they claim, and an NB101 tfrecord whose accuracies
are NaN, inf and -7. :func:`cases` returns the table (the sandbox's paths substituted).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import shutil
import signal
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    traceback: bool
    changed: list[str]
    seconds: float
    lost: list[str] = None  # files that existed before and were changed or deleted

    @property
    def lines(self) -> list[str]:
        return [ln for ln in (self.stdout + self.stderr).splitlines() if ln.strip()]

    @property
    def clean(self) -> bool:
        """The contract: exit 2, one line in all, on stderr, starting ``error:``; no traceback; nothing written."""
        return (self.code == 2 and not self.traceback and len(self.lines) == 1 and not self.stdout.strip()
                and self.stderr.strip().startswith("error:") and not self.changed)

    def why(self) -> str:
        out = []
        if self.code != 2:
            out.append(f"exit {self.code}")
        if self.traceback:
            out.append("traceback")
        if len(self.lines) != 1:
            out.append(f"{len(self.lines)} lines")
        elif not self.stderr.strip().startswith("error:"):
            out.append("not an error: line on stderr")
        if self.changed:
            out.append("wrote " + ", ".join(self.changed[:3]))
        return "; ".join(out) or "ok"


# -- the sandbox ------------------------------------------------------------------------------
def _nb101_bad_tfrecord(path: Path) -> Path:
    """One official-format record per bad value: accuracies NaN, inf, -7 (and 250 %), epochs 5."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_nb101_import import _eval_data, _frame, _model_metrics  # the independent writer of the format

    from nasviz.spaces import get_space

    space = get_space("nb101")
    cell = space.cell(1234)
    adj = "".join(str(x) for row in cell.matrix for x in row)
    ops = ",".join(cell.ops)
    variants = {"nan": (float("nan"), 108), "inf": (float("inf"), 108), "neg": (-7.0, 108), "big": (2.5, 108),
                "epochs": (0.9, 5)}
    out = {}
    for name, (acc, ep) in variants.items():
        evals = [_eval_data(float(ep), 100.0, acc, acc, acc)]
        row = [cell.hash, ep, adj, ops, base64.b64encode(_model_metrics(evals, 1_000_000, 105.0)).decode()]
        p = path.with_name(f"{path.stem}-{name}.tfrecord")
        p.write_bytes(_frame(json.dumps(row).encode()))
        out[name] = p
    return out


def make_sandbox(root: Path) -> dict[str, str]:
    """Build the sandbox under ``root``; returns the paths the table substitutes and the env to run in."""
    root = Path(root)
    data, models, home, out = root / "data", root / "models", root / "home", root / "out"
    shutil.copytree(REPO / "data", data, ignore=shutil.ignore_patterns("*.tmp"))
    # the shipped checkpoints only (the ENAS full-schedule runs being trained are not ours to copy)
    shutil.copytree(REPO / "models", models, ignore=shutil.ignore_patterns("full-seed*", "*.tmp", "train_state.pt"))
    home.mkdir()
    out.mkdir()
    (out / "existing-dir.svg").mkdir()
    env = {"NASVIZ_DATA_DIR": str(data), "NASVIZ_MODELS_DIR": str(models), "NASVIZ_HOME": str(home),
           "NASVIZ_DB": str(home / "search.sqlite"), "NASVIZ_RAY_ADDRESS": ""}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from nasviz.search.store import Store

        with Store(home / "search.sqlite") as st:  # three real runs: complete, failed, queued
            for state in ("complete", "failed", "queued"):
                rid = st.create_run(strategy="random", space="nb201", dataset="cifar10", budget=5, seed=rid_seed(state),
                                    config={"strategy": "random", "space": "nb201", "dataset": "cifar10",
                                            "budget": 5, "seed": 0, "params": {}, "region": None,
                                            "device": "cpu", "backend": "local"})
                if state != "queued":
                    st.mark_running(rid, "sandbox")
                    st.finish_run(rid, state, error=None if state == "complete" else "sandbox")
            st._con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        bad = root / "bad"
        bad.mkdir()
        tf = _nb101_bad_tfrecord(bad / "nb101")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    shutil.copy(home / "search.sqlite", bad / "readonly.sqlite")
    os.chmod(bad / "readonly.sqlite", 0o444)
    readonly = os.geteuid() != 0 or _immutable(bad / "readonly.sqlite", True)  # root writes to 0444 files
    raw = bytearray((home / "search.sqlite").read_bytes())
    raw[200:4096] = os.urandom(4096 - 200)  # the header survives, the schema page does not
    (bad / "corrupt.sqlite").write_bytes(bytes(raw))
    con = sqlite3.connect(bad / "foreign.sqlite")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    (bad / "notadb.sqlite").write_text("hello\n")
    (bad / "garbage.bin").write_bytes(os.urandom(2048))
    (bad / "region-bad.json").write_text("{not json")
    (bad / "region-empty.json").write_text(json.dumps({"space": "nb201", "model": "nb201-arch2vec",
                                                       "projection": "pca", "box": [1e9, 1e9, 2e9, 2e9]}))
    (bad / "emptydir").mkdir()
    _payloads(bad, bad / "PAYLOAD-RAN")
    paths = {"READONLY": "yes" if readonly else "",  "ROOT": str(root), "OUT": str(out), "BAD": str(bad), "DB": str(home / "search.sqlite"),
             "HOME": str(home), **{f"TF_{k.upper()}": str(v) for k, v in tf.items()}}
    return {"env": env, "paths": paths, "watch": [str(data), str(models), str(home), str(out), str(bad)]}


class _Payload:
    """Unpickling this creates ``marker``: a file that runs code when it is loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payloads(bad: Path, marker: Path) -> None:
    """Benchmark files that run code when unpickled: an NB201 .pth, a NATS .pickle.pbz2 and a -simple folder."""
    import bz2
    import pickle

    raw = pickle.dumps({"meta_archs": _Payload(marker)}, protocol=2)
    (bad / "payload.pth").write_bytes(raw)
    (bad / "NATS-tss-v1_0-3ffb9.pickle.pbz2").write_bytes(bz2.compress(raw))
    simple = bad / "NATS-tss-v1_0-3ffb9-simple"
    simple.mkdir()
    (simple / "meta.pickle.pbz2").write_bytes(bz2.compress(raw))
    (simple / "000000.pickle.pbz2").write_bytes(bz2.compress(raw))


def payloads_run(paths: dict[str, str]) -> int:
    """1 when a payload of :func:`_payloads` ran (its marker file exists; it is removed), else 0."""
    marker = Path(paths["BAD"]) / "PAYLOAD-RAN"
    ran = marker.exists()
    marker.unlink(missing_ok=True)
    return int(ran)


def _immutable(path: Path, on: bool) -> bool:
    """``chattr +i`` / ``-i``: a file even root cannot write (the read-only database for a root user)."""
    import subprocess

    try:
        return subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True).returncode == 0
    except OSError:
        return False


def remove_sandbox(root: Path) -> None:
    """Delete the sandbox (the read-only database first loses its immutable flag)."""
    ro = Path(root) / "bad" / "readonly.sqlite"
    if ro.exists() and os.geteuid() == 0:
        _immutable(ro, False)
    shutil.rmtree(root, ignore_errors=True)


def rid_seed(state: str) -> int:
    return {"complete": 0, "failed": 1, "queued": 2}[state]


def warm_up() -> None:
    """Import what the commands import (torch and the model code) once, outside any case's time limit: an
    import interrupted by the limit would leave torch half-initialised for every later case."""
    import nasviz.cli  # noqa: F401
    import nasviz.commands.controller  # noqa: F401
    import nasviz.distributions.run  # noqa: F401
    import nasviz.models.train  # noqa: F401
    import nasviz.search.strategies  # noqa: F401
    import torch  # noqa: F401


def snapshot(folders: list[str]) -> dict[str, tuple]:
    """path -> (size, mtime_ns, inode) for every file under ``folders``: a write in place changes the mtime,
    an atomic replace the inode, a new or deleted file the folder's listing (stat only, so a case costs ms)."""
    snap = {}
    for f in folders:
        for dirpath, dirnames, files in os.walk(f):
            dirnames.sort()
            snap[dirpath] = ("dir", tuple(sorted(n for n in dirnames + files if not n.endswith(("-shm", "-wal")))))
            for name in files:
                p = os.path.join(dirpath, name)
                st = os.lstat(p)
                if name.endswith("-shm") or (name.endswith("-wal") and st.st_size == 0):
                    continue  # SQLite's shared-memory index and an empty WAL: opened, not written
                snap[p] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return snap


def diff(before: dict, after: dict) -> list[str]:
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


# -- the runner -------------------------------------------------------------------------------
class _Timeout(BaseException):
    pass


def invoke(argv: list[str], env: dict[str, str], timeout: float | None = None) -> tuple[int | None, str, str, bool]:
    """Run ``nasviz.cli.main`` in this process with ``argv``; returns (exit code, stdout, stderr, traceback?).

    An exception escaping ``main`` is printed as Python would print it (a traceback) and counts as one.
    With ``timeout`` (seconds, main thread only) a run that goes on longer is stopped: exit ``None``.
    """
    from nasviz.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_env = {k: os.environ.get(k) for k in env}
    old_argv = sys.argv
    os.environ.update(env)
    sys.argv = ["nasviz", *argv]
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers.clear()  # main()'s basicConfig binds its handler to the captured stderr
    code: int | None = 0
    tb = False
    if timeout:
        def _alarm(*_):
            raise _Timeout()
        prev = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
                if not isinstance(e.code, (int, type(None))):
                    err.write(f"{e.code}\n")
            except _Timeout:
                code = None
                err.write("(stopped: still running after the timeout)\n")
            except BaseException:  # what a user would see: Python's traceback, status 1
                traceback.print_exc(file=err)
                code = 1
                tb = True
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, prev)
        root.handlers[:] = handlers
        sys.argv = old_argv
        for k, v in old_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    e = err.getvalue()
    return code, out.getvalue(), e, tb or "Traceback (most recent call last)" in e


def run_case(argv: list[str], box: dict, timeout: float | None = None) -> Outcome:
    import time

    before = snapshot(box["watch"])
    t0 = time.perf_counter()
    code, so, se, tb = invoke(argv, box["env"], timeout=timeout)
    secs = time.perf_counter() - t0
    after = snapshot(box["watch"])
    changed = diff(before, after)
    lost = sorted(k for k, v in before.items() if v[0] != "dir" and after.get(k) != v)  # existing files changed
    return Outcome(argv, code, so, se, tb, changed, secs, lost)


# -- the table --------------------------------------------------------------------------------
HUGE = [str(2**63), str(2**64), "9" * 5000, "-" + str(2**63 + 1)]
NOT_INT = ["²", "٣", "1e3", "abc", "1.5", "", "0x10", "nan"]
NOT_FLOAT = ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "abc", "", "²"]
BAD_INDEX = ["-1", "15625", "²", "٣", "9" * 5000, "1e3", "", " ", "|bogus|", "nan", "+-3"]

#: (command prefix, option, values that must be refused) for every number option of every command
INT_OPTIONS = [
    (["show", "1", "--space", "nb201"], None, []),
    (["export", "1", "--out", "{OUT}/m.py"], "--classes", ["0", "-1"]),
    (["export", "1", "--out", "{OUT}/m.py"], "--seed", ["-1"]),
    (["enumerate", "nb101", "--out", "{OUT}/e.npz"], "--max-vertices", ["0", "1", "8"]),
    (["enumerate", "nb101", "--out", "{OUT}/e.npz"], "--workers", ["0", "-1"]),
    (["train", "arch2vec", "--out", "{OUT}/a2v"], "--epochs", ["0", "-1"]),
    (["train", "arch2vec", "--out", "{OUT}/a2v"], "--seed", ["-1"]),
    (["train", "beta-vae", "--out", "{OUT}/bvae"], "--epochs", ["0", "-1"]),
    (["train", "beta-vae", "--out", "{OUT}/bvae"], "--latent-dim", ["0", "-1"]),
    (["train", "beta-vae", "--out", "{OUT}/bvae"], "--hidden", ["0", "-1"]),
    (["train", "beta-vae", "--out", "{OUT}/bvae"], "--labelled", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--epochs", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--steps-per-epoch", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--batch-size", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--hidden-size", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--threads", ["0", "-1"]),
    (["controller", "train", "--kind", "random", "--out", "{OUT}/ctrl"], "--seed", ["-1"]),
    (["controller", "analyze", "--out", "{OUT}/an"], "--n-archs", ["0", "-1"]),
    (["controller", "analyze", "--out", "{OUT}/an"], "--n-pairs", ["0", "-1"]),
    (["controller", "analyze", "--out", "{OUT}/an"], "--seed", ["-1"]),
    (["controller", "embed", "--out", "{OUT}/emb"], "--seed", ["-1"]),
    (["distribution", "run", "--method", "vimnas", "--out", "{OUT}/dist", "--no-store"], "--epochs", ["0", "-1"]),
    (["distribution", "run", "--method", "vimnas", "--out", "{OUT}/dist", "--no-store"], "--seed", ["-1"]),
    (["distribution", "run", "--method", "vimnas", "--out", "{OUT}/dist", "--no-store"], "--max-steps", ["0", "-1"]),
    (["search", "run", "--strategy", "random", "--detach"], "--budget", ["0", "-1", "15626", "1000000000000"]),
    (["search", "run", "--strategy", "random", "--detach"], "--seeds", ["0", "-1", "1000000000000"]),
    (["search", "run", "--strategy", "random", "--detach"], "--seed", ["-1"]),
    (["search", "list"], "--limit", ["0", "-1"]),
]
INT_ARGS = [  # commands whose argument is a whole number
    ["search", "show"], ["search", "cancel"], ["search", "resume", "--detach"],
]
FLOAT_OPTIONS = [
    (["train", "beta-vae", "--out", "{OUT}/bvae"], "--beta", ["-1"]),
    (["controller", "train", "--kind", "unsupervised", "--out", "{OUT}/ctrl"], "--lr", ["0", "-1"]),
    (["controller", "train", "--kind", "unsupervised", "--out", "{OUT}/ctrl"], "--entropy-coeff", ["-1"]),
    (["distribution", "run", "--method", "unas", "--out", "{OUT}/dist", "--no-store"], "--lambda", ["-1"]),
]
PARAM_CASES = [  # search run --param: strategy, bad KEY=VALUE
    ("evolution", "sample=abc"), ("evolution", "sample=0"), ("evolution", "sample=-3"),
    ("evolution", "sample=2.5"), ("evolution", "population=NaN"), ("evolution", "sample=1e999"),
    ("evolution", f"population={2**64}"), ("evolution", "bogus=1"), ("evolution", "noequals"),
    ("evolution", "=3"), ("evolution", "population=true"), ("evolution", "population=[1,2]"),
    ("reinforce", "lr=NaN"), ("reinforce", "lr=Infinity"), ("reinforce", "lr=-Infinity"), ("reinforce", "lr=abc"),
    ("reinforce", "lr=-1"), ("reinforce", "lr=0"), ("reinforce", "lr=1e999"), ("reinforce", "ema=NaN"),
    ("reinforce", "batch=abc"), ("reinforce", "batch=0"), ("reinforce", "hidden_size=1e3"),
    ("dense", "eps1=NaN"), ("dense", "eps1=Infinity"), ("dense", "eps1=abc"), ("dense", "eps1=-1"),
    ("dense", "sigma=abc"), ("dense", "sigma=NaN"), ("dense", "sigma=-1"), ("dense", "sigma=1e999"),
    ("dense", "tau=NaN"), ("dense", "flops_limit=NaN"), ("dense", "dense=maybe"), ("dense", "moves=abc"),
    ("arch2vec-bo", "n_init=abc"), ("arch2vec-bo", "n_init=0"), ("arch2vec-bo", "top_k=NaN"),
    ("arch2vec-bo", "surrogate=x"), ("arch2vec-bo", "ei_best=NaN"),
    ("arch2vec-rl", "lr=NaN"), ("arch2vec-rl", "lr=abc"), ("arch2vec-rl", "discount=NaN"),
]


def _int_values(extra: list[str]) -> list[str]:
    return list(dict.fromkeys([*extra, *HUGE, *NOT_INT]))


def cases(paths: dict[str, str]) -> list[tuple[str, list[str]]]:
    """(class, argv) for every malformed invocation; ``{NAME}`` in the table is a sandbox path."""
    table: list[tuple[str, list[str]]] = []
    add = table.append
    # numbers: every integer option, every float option
    for prefix, opt, extra in INT_OPTIONS:
        if opt is None:
            continue
        for v in _int_values(extra):
            add(("integer option", [*prefix, f"{opt}={v}" if v.startswith("-") else opt, *([] if v.startswith("-") else [v])]))
    for prefix in INT_ARGS:
        for v in _int_values(["-1", "0"]):
            add(("integer argument", [*prefix, "--", v] if v.startswith("-") else [*prefix, v]))
    for prefix, opt, extra in FLOAT_OPTIONS:
        for v in list(dict.fromkeys([*extra, *NOT_FLOAT])):
            add(("float option", [*prefix, f"{opt}={v}"]))
    for strat, kv in PARAM_CASES:
        add(("--param", ["search", "run", "--strategy", strat, "--detach", "--param", kv]))
    # architectures: show / export, both spaces
    for v in BAD_INDEX:
        add(("architecture", ["show", "--", v] if v.startswith(("-", "+")) else ["show", v]))
        add(("architecture", ["export", "--out", "{OUT}/m.py", "--", v] if v.startswith(("-", "+"))
             else ["export", v, "--out", "{OUT}/m.py"]))
    for v in ["-1", "423624", "²", "9" * 5000, "zz" * 16, "0" * 31, '{"matrix": [[0,1],[0,0]], "ops": ["x"]}',
              '{"matrix": 3}', "{", "[]"]:
        add(("architecture", ["show", "--space", "nb101", "--", v]))
    add(("click usage", ["show", "-1"]))  # an option-looking index: click's own usage error
    # choices and names
    for argv in (["show", "1", "--space", "nb999"], ["show", "1", "--view", "sideways"], ["spaces", "--bogus"],
                 ["bogus"], ["show"], ["search", "run"], ["search", "run", "--strategy", "bogus"],
                 ["search", "run", "--strategy", "random", "--space", "nb999"],
                 ["search", "run", "--strategy", "random", "--dataset", "mnist"],
                 ["search", "run", "--strategy", "random", "--device", "tpu"],
                 ["search", "run", "--strategy", "random", "--backend", "spark"],
                 ["search", "list", "--state", "sleeping"], ["train", "arch2vec", "--space", "nb999"],
                 ["train", "arch2vec", "--device", "tpu", "--out", "{OUT}/a2v"],
                 ["train", "beta-vae", "--label", "valid_acc:cifar10", "--out", "{OUT}/bvae"],
                 ["train", "beta-vae", "--label", "valid_acc:cifar10-valid:²", "--out", "{OUT}/bvae"],
                 ["train", "beta-vae", "--label", "valid_acc:cifar10-valid:" + "9" * 5000, "--out", "{OUT}/bvae"],
                 ["train", "beta-vae", "--label", "bogus:cifar10-valid:12", "--out", "{OUT}/bvae"],
                 ["embed", "--model", "no-such-model"], ["embed", "--methods", "pca,bogus"],
                 ["controller", "train", "--kind", "bogus"], ["controller", "train", "--kind", "random", "--space", "x"],
                 ["controller", "train", "--kind", "random", "--device", "tpu", "--out", "{OUT}/ctrl"],
                 ["controller", "train", "--kind", "supervised", "--reward-column", "bogus", "--out", "{OUT}/ctrl"],
                 ["controller", "train", "--kind", "supervised", "--snapshot-steps", "²", "--out", "{OUT}/ctrl"],
                 ["controller", "train", "--kind", "supervised", "--snapshot-steps", "9" * 5000, "--out", "{OUT}/ctrl"],
                 ["controller", "analyze", "--space", "nb999", "--out", "{OUT}/an"],
                 ["controller", "embed", "--space", "nb999", "--out", "{OUT}/emb"],
                 ["controller", "embed", "--seed", "987654", "--out", "{OUT}/emb"],
                 ["distribution", "run", "--method", "bogus", "--no-store", "--out", "{OUT}/dist"],
                 ["distribution", "run", "--method", "unas", "--estimator", "bogus", "--no-store", "--out", "{OUT}/dist"],
                 ["distribution", "run", "--method", "vimnas", "--device", "tpu", "--no-store", "--out", "{OUT}/dist"],
                 ["distribution", "run", "--method", "vimnas", "--dataset", "{BAD}/emptydir", "--no-store"],
                 ["distribution", "run", "--method", "vimnas", "--backend", "spark", "--detach"],
                 ["distribution", "run", "--method", "vimnas", "--backend", "local", "--no-store"],
                 ["import", "nb201", "{BAD}/nope.pth"], ["import", "nb201", "{BAD}/garbage.bin"],
                 ["import", "nb201", "{BAD}/emptydir"], ["import", "nb101", "{BAD}/nope.tfrecord"],
                 ["import", "nb101", "{BAD}/garbage.bin"], ["import", "nb101", "{BAD}/emptydir"]):
        add(("choice or name", argv))
    # benchmark files that would run code when unpickled
    for f in ("payload.pth", "NATS-tss-v1_0-3ffb9.pickle.pbz2", "NATS-tss-v1_0-3ffb9-simple"):
        add(("code in a file", ["import", "nb201", "{BAD}/" + f]))
    # a bad benchmark file: NaN, inf, negative, above 100 %, unknown epochs
    for k in ("NAN", "INF", "NEG", "BIG", "EPOCHS"):
        add(("bad import", ["import", "nb101", "{TF_%s}" % k]))
        add(("bad import", ["import", "nb101", "{TF_%s}" % k, "--out", "{OUT}/nb101.npz"]))
    # outputs that cannot be written: kernel file systems, a folder, a missing parent we may not create
    for out in ["{OUT}/existing-dir.svg"]:  # a folder where a file should go
        add(("unwritable output", ["show", "1", "--out", out]))
        add(("unwritable output", ["export", "1", "--out", out]))
    for out in ["/proc/nasviz-test/x", "/sys/nasviz-x", "{BAD}/garbage.bin/sub/x"]:
        add(("unwritable output", ["show", "1", "--out", out + ("" if out.endswith(".svg") else ".svg")]))
        add(("unwritable output", ["export", "1", "--out", out + ("" if out.endswith(".svg") else ".py")]))
        add(("unwritable output", ["train", "arch2vec", "--epochs", "1", "--out", out]))
        add(("unwritable output", ["train", "beta-vae", "--epochs", "1", "--out", out]))
        add(("unwritable output", ["controller", "train", "--kind", "random", "--out", out]))
        add(("unwritable output", ["controller", "analyze", "--n-archs", "2", "--n-pairs", "2", "--out", out]))
        add(("unwritable output", ["controller", "embed", "--out", out]))
        add(("unwritable output", ["enumerate", "nb101", "--max-vertices", "2", "--out", out + ".npz"]))
        add(("unwritable output", ["distribution", "run", "--method", "vimnas", "--max-steps", "1", "--no-store",
                                   "--out", out]))
    for out in ["{OUT}/diagram.txt", "{OUT}/model.exe"]:
        add(("unwritable output", ["show", "1", "--out", out] if out.endswith("txt") else ["export", "1", "--out", out]))
    # shipped checkpoints are never overwritten without --force
    add(("shipped checkpoint", ["train", "arch2vec", "--epochs", "1"]))
    add(("shipped checkpoint", ["train", "beta-vae", "--beta", "1", "--epochs", "1"]))
    add(("shipped checkpoint", ["train", "arch2vec", "--supervised", "--epochs", "1"]))
    # run databases: corrupt, read-only, foreign, not SQLite, a folder
    # a read-only database is read by list/show (not bad input); the commands that write refuse it
    for name in ("corrupt", "foreign", "notadb") + (("readonly",) if paths.get("READONLY") else ()):
        db = "{BAD}/%s.sqlite" % name
        if name != "readonly":
            add(("run database", ["search", "list", "--db", db]))
            add(("run database", ["search", "show", "1", "--db", db]))
        add(("run database", ["search", "cancel", "3", "--db", db]))
        add(("run database", ["search", "resume", "2", "--detach", "--db", db]))
        add(("run database", ["search", "run", "--strategy", "random", "--budget", "3", "--detach", "--db", db]))
    for argv in (["search", "list", "--db", "{BAD}/emptydir"], ["search", "list", "--db", "{BAD}/missing.sqlite"],
                 ["search", "show", "999"], ["search", "cancel", "1"], ["search", "resume", "1", "--detach"],
                 ["search", "run", "--strategy", "random", "--region", "{BAD}/region-bad.json", "--detach"],
                 ["search", "run", "--strategy", "region", "--region", "{BAD}/region-bad.json", "--detach"],
                 ["search", "run", "--strategy", "region", "--region", "{BAD}/nope.json", "--detach"],
                 ["search", "run", "--strategy", "region", "--detach"],
                 ["search", "run", "--strategy", "random", "--budget", "3", "--backend", "ray",
                  "--ray-address", "127.0.0.1:1", "--detach"],
                 ["distribution", "run", "--method", "vimnas", "--max-steps", "1", "--backend", "ray",
                  "--ray-address", "127.0.0.1:1", "--detach"]):
        add(("run database", argv))
    return [(cls, [a.format(**paths) if "{" in a and "}" in a and not a.lstrip().startswith(("{\"", "{ ")) and a != "{"
                   else a for a in argv]) for cls, argv in table]

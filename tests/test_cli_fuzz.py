"""Bad input to the ``nasviz`` command line: one ``error:`` line, exit status 2, nothing written.

The table (``tests/cli_fuzz_table.py``, shared with ``benchmarks/bench_badinput.py``) holds several hundred
malformed invocations across every command and every option type: whole numbers out of range or in other
scripts (``²``, 5,000 digits), non-finite floats, bad ``--param`` values, architectures, choices, outputs that
cannot be written, shipped checkpoints, broken run databases, an unreachable Ray cluster and benchmark files
with NaN, infinite, negative or out-of-range values. Each runs ``nasviz.cli.main`` in this process (a few also
as a real console-script subprocess) against a sandbox copy of ``data/`` and ``models/`` and a run database with
real runs, whose files are compared before and after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import cli_fuzz_table as T


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    b = T.make_sandbox(root)
    T.warm_up()
    yield b
    T.remove_sandbox(root)


def test_every_malformed_invocation_is_one_error_line_exit_2_and_writes_nothing(box):
    table = T.cases(box["paths"])
    assert len(table) >= 300
    commands = {" ".join(a for a in argv[:2] if not a.startswith("-") and "/" not in a) for _, argv in table}
    for cmd in ("show", "export", "train arch2vec", "train beta-vae", "embed", "enumerate nb101", "import nb101",
                "import nb201", "controller train", "controller analyze", "controller embed", "distribution run",
                "search run", "search list", "search show", "search cancel", "search resume"):
        assert any(c.startswith(cmd) for c in commands), f"no case for {cmd}"
    bad = []
    for cls, argv in table:
        o = T.run_case(argv, box)
        if not o.clean:
            bad.append(f"[{cls}] nasviz {' '.join(a[:50] for a in argv)} -> {o.why()}: "
                       f"{(o.lines[-1] if o.lines else '')[:200]}")
    # (its speed is measured by benchmarks/bench_badinput.py, not asserted here)
    assert not bad, f"{len(bad)} of {len(table)} invocations broke the contract:\n" + "\n".join(bad)


def test_error_lines_say_what_is_accepted(box):
    """Spot checks of the messages themselves (the table checks their shape)."""
    def err(*argv):
        o = T.run_case(list(argv), box)
        assert o.clean, o.why()
        return o.stderr.strip()

    assert "0..15624" in err("show", "²")
    assert len(err("search", "show", "9" * 5000)) < 300  # not the 5,000 digits back
    msg = err("search", "list", "--limit", str(2**64))
    assert "out of range" in msg and str(2**63 - 1) in msg
    assert "finite" in err("train", "beta-vae", "--beta", "nan")
    assert "finite" in err("train", "arch2vec", "--kl-weight", "inf")
    assert "finite number of epochs" in err("train", "arch2vec", "--kl-warmup", "-1")
    assert "not a finite number" in err("train", "arch2vec", "--kl-warmup", "nan")
    assert "[0, 1)" in err("train", "arch2vec", "--dropout", "1")
    assert "none, mlp or attn" in err("train", "arch2vec", "--dec-mix", "gru")
    assert "[0, 1e-3]" in err("train", "arch2vec", "--lr-final", "0.5")
    assert "finite number >= 0" in err("train", "arch2vec", "--dangling-weight", "-1")
    assert "not a finite number" in err("train", "arch2vec", "--dangling-weight", "nan")
    out = ("--out", box["paths"]["OUT"] + "/a2v")  # past the shipped-checkpoint check: the options' checks answer
    assert "needs dangling_weight > 0" in err("train", "arch2vec", "--edge-budget", "9", *out)
    assert "needs dangling_weight > 0" in err("train", "arch2vec", "--mask-pad", *out)
    assert "no pad rows" in err("train", "arch2vec", "--dangling-weight", "1", "--mask-pad", *out)
    assert "expected or decoded" in err("train", "arch2vec", "--dangling-weight", "1", "--edge-budget", "9",
                                        "--edge-count", "all")
    assert "needs edge_budget" in err("train", "arch2vec", "--dangling-weight", "1", "--edge-count", "decoded", *out)
    assert not Path(box["paths"]["OUT"], "a2v").exists()
    assert "finite" in err("search", "run", "--strategy", "dense", "--param", "eps1=NaN", "--detach")
    assert "sigma must be a number" in err("search", "run", "--strategy", "dense", "--param", "sigma=abc", "--detach")
    assert "1..15,625" in err("search", "run", "--strategy", "random", "--budget", "1000000000000", "--detach")
    assert "--force" in err("train", "arch2vec", "--epochs", "1")
    assert "No such option: -1" in err("show", "-1")
    assert "kernel pseudo file system" in err("train", "arch2vec", "--out", "/proc/x")
    assert "cannot reach the Ray cluster" in err("search", "run", "--strategy", "random", "--backend", "ray",
                                                 "--ray-address", "127.0.0.1:1", "--detach")
    assert "record 0 has train accuracy nan %" in err("import", "nb101", box["paths"]["TF_NAN"])


@pytest.mark.parametrize("argv", [["show", "-1"], ["show", "²"], ["search", "list", "--limit", str(2**64)],
                                  ["search", "run", "--strategy", "dense", "--param", "sigma=abc", "--detach"]])
def test_console_script_in_a_subprocess(box, argv):
    """The same contract from a real process (the in-process runner could hide an import-time problem)."""
    env = {**os.environ, **box["env"]}
    before = T.snapshot(box["watch"])
    r = subprocess.run([sys.executable, "-m", "nasviz.cli", *argv], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.splitlines()) == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert T.diff(before, T.snapshot(box["watch"])) == []


def test_a_damaged_run_row_is_flagged_and_the_others_listed(tmp_path):
    from nasviz.cli import main  # noqa: F401 (the runner imports it)
    from nasviz.search.store import Store

    db = tmp_path / "runs.sqlite"
    with Store(db) as st:
        ids = [st.create_run(strategy="random", space="nb201", dataset="cifar10", budget=5, seed=i,
                             config={"strategy": "random"}) for i in range(3)]
        st._con.execute("UPDATE runs SET config='{broken', stats='[' WHERE id=?", (ids[1],))
        runs = st.list_runs()
        assert [r.id for r in runs] == ids[::-1]
        assert runs[1].damaged == "config is not a JSON object; stats is not a JSON object" and runs[1].config == {}
        assert runs[0].damaged is None and runs[0].config == {"strategy": "random"}
    env = {"NASVIZ_HOME": str(tmp_path)}
    code, out, err, tb = T.invoke(["search", "list", "--db", str(db)], env)
    assert code == 0 and not tb, err
    lines = out.splitlines()
    assert len(lines) == 3 and "DAMAGED ROW: config is not a JSON object" in lines[1]
    assert "DAMAGED" not in lines[0] + lines[2]
    code, out, err, tb = T.invoke(["search", "show", str(ids[1]), "--db", str(db)], env)
    assert code == 0 and not tb and "DAMAGED ROW" in out
    from nasviz.viz.runs import runs_frame  # the Search runs page's table

    with Store(db) as st:
        errors = list(runs_frame(st.list_runs())["error"])
    assert errors[1].startswith("DAMAGED ROW") and errors[0] == errors[2] == ""


@pytest.mark.parametrize("name", ["runs#1.sqlite", "what?.sqlite", "a%20b #?x.sqlite"])
def test_db_path_with_uri_characters(tmp_path, name):
    """``#`` and ``?`` are escaped in SQLite's URI: the run completes in that very file, no stray file appears."""
    db = tmp_path / name
    env = {"NASVIZ_HOME": str(tmp_path / "home")}
    code, out, err, tb = T.invoke(["search", "run", "--strategy", "random", "--budget", "3", "--db", str(db),
                                   "--json"], env)
    assert code == 0 and not tb, err
    assert '"state": "complete"' in out
    assert db.is_file()
    stray = sorted(p.name for p in tmp_path.iterdir())
    assert all(n.startswith(name) or n == "home" for n in stray), stray
    code, out, err, tb = T.invoke(["search", "list", "--db", str(db)], env)  # the check_db_file URI path
    assert code == 0 and "complete" in out, err


def test_a_deleted_database_fails_the_worker_loudly(tmp_path):
    """SQLite keeps writing into an unlinked file; the store refuses instead, so no run 'completes' there."""
    from nasviz.errors import NasvizError
    from nasviz.search.store import RunState, Store, Trial, TrialState

    db = tmp_path / "runs.sqlite"
    st = Store(db)
    rid = st.create_run(strategy="random", space="nb201", dataset="cifar10", budget=5, seed=0, config={})
    st.mark_running(rid, "w")
    st.add_trial(rid, Trial(0, "x", 1, 50.0, TrialState.COMPLETE, 0.0, 1.0, 1.0))
    for p in tmp_path.iterdir():
        p.unlink()
    with pytest.raises(NasvizError, match="deleted or replaced"):
        st.add_trial(rid, Trial(1, "y", 2, 51.0, TrialState.COMPLETE, 0.0, 1.0, 1.0))
    with pytest.raises(NasvizError, match="deleted or replaced"):
        st.finish_run(rid, RunState.COMPLETE)
    with pytest.raises(NasvizError, match="deleted or replaced"):
        st.heartbeat(rid, 1)
    assert not db.exists()


def test_a_deleted_database_during_a_worker_run(tmp_path):
    """End to end: a real worker process whose database is deleted mid-run exits non-zero and says why."""
    from nasviz.search import jobs as J
    from nasviz.search.runs import validate_config
    from nasviz.search.store import Store

    db = tmp_path / "runs.sqlite"
    st = Store(db)
    cfg = validate_config("random", "nb201", "cifar10", 15_000, seed=0)
    rid, job = J.submit(st, cfg)
    t_end = time.monotonic() + 120
    while st.n_trials(rid) < 5 and time.monotonic() < t_end and job.poll() is None:
        time.sleep(0.05)
    assert job.poll() is None, "the worker ended before the database could be deleted"
    for p in list(tmp_path.glob("runs.sqlite*")):
        if p.is_file():
            p.unlink()
    rc = job.proc.wait(timeout=120)
    log = job.log_path.read_text()
    assert rc != 0, log
    assert "deleted or replaced" in log
    assert "finished: complete" not in log


def test_nb101_imports_are_validated_listed_shown_and_removable(tmp_path):
    """An import lives in the user folder, says it replaces the sample, warns when partial; remove goes back."""
    sys.path.insert(0, str(Path(__file__).parent))
    from test_nb101_import import write_official

    import numpy as np

    from nasviz.spaces import get_space

    space = get_space("nb101")
    cells = [space.cell(int(i)) for i in np.random.default_rng(3).choice(len(space), 4, replace=False)]
    src = write_official(tmp_path / "nasbench_only108.tfrecord", cells, epochs=(108,))
    env = {"NASVIZ_HOME": str(tmp_path / "home"), "NASVIZ_DATA_DIR": str(T.REPO / "data")}
    from nasviz.bench import _CACHE

    _CACHE.pop("nb101", None)  # as a fresh process: not the table an earlier test of this process loaded
    code, out, err, tb = T.invoke(["import", "nb101", str(src)], env)
    assert code == 0 and not tb, err
    assert "instead of the embedded 30,001-cell sample" in out
    assert "holds 12 records of 4 cells; the official file has 1,270,872" in err
    table = tmp_path / "home" / "nb101" / "nb101.npz"
    assert table.is_file()
    code, out, err, tb = T.invoke(["import", "list"], env)
    assert code == 0 and f"nb101: {table}" in out and "12 records" in out
    code, out, err, tb = T.invoke(["show", cells[0].hash, "--space", "nb101"], env)
    assert code == 0 and str(table) in out.splitlines()[1]
    code, out, err, tb = T.invoke(["import", "remove", "nb101"], env)
    assert code == 0 and not table.exists()
    code, out, err, tb = T.invoke(["show", cells[0].hash, "--space", "nb101"], env)
    assert code == 0 and "nb101_sample.npz" in out.splitlines()[1]
    code, out, err, tb = T.invoke(["import", "remove", "nb101"], env)
    assert code == 2 and err.startswith("error: no imported nb101 table")


def test_show_out_writes_the_diagram_atomically(tmp_path):
    from nasviz.viz.diagrams import dot_available

    if not dot_available():
        pytest.skip("Graphviz's dot is not installed")
    out = tmp_path / "c.svg"
    out.write_text("old")
    code, so, se, tb = T.invoke(["show", "6111", "--out", str(out)], {"NASVIZ_HOME": str(tmp_path)})
    assert code == 0, se
    assert out.read_text().lstrip().startswith(("<?xml", "<svg"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.svg"]  # no temporary file left beside it

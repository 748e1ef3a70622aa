"""The ``nasviz`` console script, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasviz.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env)


def test_spaces_json_reports_nb201():
    p = run("spaces", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    nb201 = out["spaces"]["nb201"]
    assert nb201["cells"] == 15625 and nb201["cells_with_results"] == 15625
    assert nb201["datasets"] == ["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"]
    assert {"train_acc", "valid_acc", "test_acc", "params", "flops"} <= set(nb201["metrics"])


@pytest.mark.parametrize(
    "arch, dataset, value",
    [("6111", "cifar10", 94.37), ("9930", "cifar100", 73.51), ("857", "ImageNet16-120", 47.31)],
)
def test_show_json_gives_the_published_optima(arch, dataset, value):
    p = run("show", arch, "--space", "nb201", "--json")
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)
    assert round(rec["metrics"][dataset]["200ep"]["test_acc"], 2) == value
    assert rec["index"] == int(arch)


def test_show_accepts_an_official_string_and_prints_canonical_form():
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"
    p = run("show", arch)
    assert p.returncode == 0, p.stderr
    assert arch in p.stdout
    # node 2 feeds nothing live: NB-201's identity (to_unique_str) drops it; the smallest member of the class
    assert "canonical: |nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2| (#9722;" in p.stdout
    assert "same expression as #69 (stricter merge" in p.stdout
    assert "cifar100" in p.stdout and "flops=" in p.stdout


def test_show_dot_and_render(tmp_path):
    p = run("show", "6111", "--dot")
    assert p.returncode == 0 and p.stdout.startswith("digraph")
    assert p.stdout.count("->") == 6
    for suffix, magic in ((".svg", b"<svg"), (".png", b"\x89PNG")):
        out = tmp_path / f"cell{suffix}"
        p = run("show", "6111", "--out", str(out), "--view", "node")
        assert p.returncode == 0, p.stderr
        assert magic in out.read_bytes()[:400]


@pytest.mark.parametrize(
    "args, message",
    [
        (("show", "|nor_conv_3x3~0|+|nor_conv_3x3~0|"), "expected 3 node groups"),
        (("show", "|conv5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"), "unknown op 'conv5x5'"),
        (("show", "15625"), "out of range; accepted: 0..15624"),
        (("show", "1", "--space", "nb999"), "accepted: nb"),
        (("show", "1", "--view", "3d"), "unknown diagram view"),
        (("show", "1", "--out", "cell.jpg"), "accepted: .svg, .png"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args, message):
    p = run(*args)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr + p.stdout


def test_corrupt_data_file_is_reported(tmp_path):
    import os

    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "nb201.npz").write_bytes(b"garbage")
    env = {**os.environ, "NASVIZ_DATA_DIR": str(tmp_path), "NASVIZ_HOME": str(tmp_path / "home")}
    p = run("show", "1", env=env)
    assert p.returncode == 2 and "corrupt" in p.stderr and "Traceback" not in p.stderr
    p = run("spaces", env={**env, "NASVIZ_DATA_DIR": str(tmp_path / "missing")})
    assert p.returncode == 2 and "not found" in p.stderr


def test_every_command_has_help():
    for cmd in ((), ("spaces",), ("show",), ("import",), ("import", "nb201")):
        p = run(*cmd, "--help")
        assert p.returncode == 0 and "Usage" in p.stdout, cmd

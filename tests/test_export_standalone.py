"""`nasviz export --out m.py` writes a module that stands alone: it needs torch, not nasviz (nor numpy).

Each exported file is run in a separate `python -I` process, from a folder without nasviz, with
``nasviz`` and ``numpy`` made unimportable (``sys.modules[name] = None``: the editable install would
otherwise still find nasviz). There it must build the net, run a forward pass and have the parameter
count nasviz reports; with the same seed its weights and outputs equal those of nasviz's own network.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nasviz.nets import build_net
from nasviz.nets.export import export, parse_arch

NB101_SPEC = json.dumps({"matrix": [[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1],
                                    [0, 0, 0, 0, 0]],
                         "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"]})

_CHILD = r"""
import json, sys
sys.modules["nasviz"] = None  # any `import nasviz...` fails
sys.modules["numpy"] = None
sys.path.insert(0, sys.argv[1])
import torch
torch.manual_seed(0)
import {module} as m
net = m.build()
x = torch.linspace(-1, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32)
net.eval()
with torch.no_grad():
    y = net(x)
net.train()
net(x).sum().backward()  # trainable
print(json.dumps({{"shape": list(y.shape), "params": net.num_params(), "out": y.flatten().tolist(),
                  "state": {{k: list(v.shape) for k, v in net.state_dict().items()}},
                  "modules": sorted(k for k in sys.modules if k.split(".")[0] in ("nasviz", "numpy")
                                    and sys.modules[k] is not None)}}))
"""


@pytest.mark.parametrize(("space", "arch", "classes"), [
    ("nb201", "6111", 10),
    ("nb201", "|none~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|", 100),
    ("nb101", NB101_SPEC, 10),
])
def test_exported_py_runs_with_torch_only(tmp_path, space, arch, classes):
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    result = export(space, arch, out_dir / "standalone_net.py", num_classes=classes)
    src = (out_dir / "standalone_net.py").read_text()
    assert not re.search(r"^\s*(import|from)\s+(nasviz|numpy)\b", src, re.M), "the file imports nasviz or numpy"

    cwd = tmp_path / "elsewhere"  # no nasviz here, and -I keeps the repository off sys.path
    cwd.mkdir()
    r = subprocess.run([sys.executable, "-I", "-c", _CHILD.format(module="standalone_net"), str(out_dir)],
                       cwd=cwd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert got["modules"] == []
    assert got["shape"] == [2, classes]
    assert got["params"] == result["params"]

    torch.manual_seed(0)
    ref = build_net(space, parse_arch(space, arch), classes)
    assert got["params"] == ref.num_params()
    assert got["state"] == {k: list(v.shape) for k, v in ref.state_dict().items()}
    ref.eval()
    with torch.no_grad():
        want = ref(torch.linspace(-1, 1, 2 * 3 * 32 * 32).reshape(2, 3, 32, 32)).flatten().tolist()
    assert got["out"] == pytest.approx(want, rel=1e-5, abs=1e-6)  # same seed: the same weights


def test_exported_py_runs_as_a_script(tmp_path):
    out = tmp_path / "m.py"
    export("nb201", "6111", out)
    code = ("import sys, runpy; sys.modules['nasviz'] = None; "
            f"runpy.run_path({str(out)!r}, run_name='__main__')")
    r = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "NB201Net: logits (2, 10), 1,073,466 trainable parameters"


def test_stand_in_cell_refuses_a_bad_arch(tmp_path):
    out = tmp_path / "m.py"
    export("nb201", "6111", out)
    code = ("import sys; sys.modules['nasviz'] = None; sys.path.insert(0, sys.argv[1]); import m\n"
            "try:\n    m.NB201NetConfig(arch='|conv~0|')\nexcept ValueError as e:\n    print('refused', e)")
    r = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0 and r.stdout.startswith("refused not an NB201 arch string"), r.stdout + r.stderr

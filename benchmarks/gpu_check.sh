#!/usr/bin/env bash
# The GPU evidence the project can get, in one short run (< 8 minutes on one GPU): run it on a machine
# with a CUDA GPU (the device tool's machine when one is lent) from the repository root.
#   1. the CUDA build of torch==2.13.0 into .venv-gpu (the pinned CPU build has no CUDA);
#   2. NB101 arch2vec training, 2 epochs on cuda, timed (per-epoch time beside the CPU's in the model card);
#   3. a --device cuda search (dense, NB201, 2 seeds x 100 queries), timed, with its results read back;
#   4. an NB201 ENAS controller on cuda: 3 epochs of the 2,000-step schedule, timed and extrapolated
#      to the full 150 x 2,000 schedule;
#   5. the tests marked for a GPU (pytest -m gpu, where present).
# Writes benchmarks/results/gpu.json (and $OUT/gpu.json when $OUT is set, for the device tool).
set -uo pipefail
cd "$(dirname "$0")/.."
OUTDIR=${OUT:-benchmarks/results}
mkdir -p "$OUTDIR" benchmarks/results
log=$(mktemp)
say() { printf '[gpu_check] %s\n' "$*" | tee -a "$log" >&2; }

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"
PY=${NASVIZ_PYTHON:-python3}
if [ ! -x .venv-gpu/bin/python ]; then
    say "creating .venv-gpu with the CUDA build of torch==2.13.0"
    "$PY" -m venv .venv-gpu || exit 1
    .venv-gpu/bin/pip install -q --disable-pip-version-check torch==2.13.0 2>&1 | tail -3
    grep -v '^torch==' requirements.txt > /tmp/req-nogpu.txt
    .venv-gpu/bin/pip install -q --disable-pip-version-check -r /tmp/req-nogpu.txt -e . 2>&1 | tail -3
fi
G=.venv-gpu/bin/python
$G -c 'import torch,sys; print("torch", torch.__version__, "cuda", torch.cuda.is_available()); sys.exit(0 if torch.cuda.is_available() else 3)' \
    || { say "no CUDA device visible to torch: nothing to time"; exit 3; }
tmp=$(mktemp -d)

t() { local s=$EPOCHREALTIME; "$@" >>"$log" 2>&1; local rc=$?; awk -v a="$s" -v b="$EPOCHREALTIME" -v rc=$rc 'BEGIN{printf "%d %.2f\n", rc, b-a}'; }

say "NB101 arch2vec, 2 epochs on cuda"
read -r a2v_rc a2v_s < <(t timeout 300 $G -m nasviz.cli train arch2vec --space nb101 --device cuda --epochs 2 --out "$tmp/a2v" --json)
say "dense search on cuda, NB201, 2 seeds x 100 queries"
read -r srch_rc srch_s < <(t timeout 150 $G -m nasviz.cli search run --strategy dense --space nb201 --budget 100 --seeds 2 \
    --device cuda --db "$tmp/runs.sqlite")
$G -m nasviz.cli search list --db "$tmp/runs.sqlite" >>"$log" 2>&1
say "NB201 unsupervised controller on cuda, 3 epochs x 2,000 steps"
read -r ctl_rc ctl_s < <(t timeout 150 $G -m nasviz.cli controller train --space nb201 --kind unsupervised --device cuda \
    --epochs 3 --steps-per-epoch 2000 --snapshot-steps '' --out "$tmp/ctrl" --json)
say "GPU-marked tests"
read -r test_rc test_s < <(t timeout 120 $G -m pytest -q -m gpu tests -p no:cacheprovider)

$G - "$log" "$tmp" <<PYEOF
import json, sys, torch, platform, pathlib
log, tmp = sys.argv[1], pathlib.Path(sys.argv[2])
def card(p):
    try: return json.loads((p / "config.json").read_text()).get("training", {})
    except Exception: return None
res = {
  "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "host": platform.node(),
  "arch2vec_nb101_2_epochs": {"exit": $a2v_rc, "seconds": $a2v_s, "card": card(tmp / "a2v")},
  "dense_search_nb201_2x100_cuda": {"exit": $srch_rc, "seconds": $srch_s},
  "controller_nb201_unsupervised_3x2000_cuda": {"exit": $ctl_rc, "seconds": $ctl_s,
      "extrapolated_full_schedule_seconds": round($ctl_s / 3 * 150, 1), "card": card(tmp / "ctrl")},
  "gpu_tests": {"exit": $test_rc, "seconds": $test_s},
  "log_tail": open(log).read()[-4000:],
}
for d in ("benchmarks/results", "$OUTDIR"):
    pathlib.Path(d, "gpu.json").write_text(json.dumps(res, indent=2, default=str) + "\n")
print(json.dumps({k: v for k, v in res.items() if k != "log_tail"}, indent=2, default=str))
PYEOF

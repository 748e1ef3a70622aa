#!/usr/bin/env bash
# Full-schedule ENAS controllers (150 x 2,000 = 300,000 steps; ENAS-pytorch's default, nasviz's too), 3 seeds of
# the unsupervised and the supervised controller, one torch thread each, niced (NICE, default 10).
# PARALLEL runs at once (default 2, one per core). With other work on the machine, running all six at once
# gives training a larger share of the CPU at the same total cost.
# Each run writes its state every epoch: run this script again after a stop, and every unfinished run
# continues with --resume, every finished one is skipped, one still running is left alone.
# Usage: benchmarks/train_controllers_full.sh [space] [parallel]   (default nb201 2)
# Logs: benchmarks/results/logs/controller-<space>-<kind>-seed<N>.log
set -uo pipefail
cd "$(dirname "$0")/.."
export SPACE=${1:-nb201} PY=${NASVIZ_PY:-.venv/bin/python} NICE=${NICE:-10}
PARALLEL=${2:-2}
mkdir -p benchmarks/results/logs

run_one() {  # kind seed
    local kind=$1 seed=$2 out="models/$SPACE-controller-$1/full-seed$2"
    local log="benchmarks/results/logs/controller-$SPACE-$kind-seed$seed.log" extra=()
    if [ -f "$out/config.json" ] && [ ! -f "$out/train_state.pt" ]; then echo "done: $out"; return 0; fi
    if pgrep -f -- "--out $out\$" >/dev/null; then echo "running already: $out"; return 0; fi
    [ -f "$out/train_state.pt" ] && extra=(--resume)
    nice -n "$NICE" "$PY" -m nasviz.cli controller train --space "$SPACE" --kind "$kind" --seed "$seed" \
        --epochs 150 --steps-per-epoch 2000 --threads 1 --out "$out" "${extra[@]}" >>"$log" 2>&1
    echo "$kind seed $seed exit $? ($(date -u +%H:%M))"
}
export -f run_one

# supervised runs take ~1.7x as long as unsupervised ones: they go first
printf '%s\n' "supervised 0" "supervised 2" "supervised 1" "unsupervised 0" "unsupervised 1" "unsupervised 2" |
    xargs -P "$PARALLEL" -L 1 bash -c 'run_one "$@"' _

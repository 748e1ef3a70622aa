#!/usr/bin/env bash
# Full-schedule ENAS controllers (150 x 2,000 = 300,000 steps; ENAS-pytorch's default, nasviz's too):
# two queues, niced, one thread each, so at most two runs share the 2 cores. Each run writes its state
# every epoch; run this script again after a stop and every unfinished run continues with --resume,
# every finished one is skipped. Usage: benchmarks/train_controllers_full.sh [space] (default nb201)
# Logs: benchmarks/results/logs/controller-<space>-<kind>-seed<N>.log
set -uo pipefail
cd "$(dirname "$0")/.."
space=${1:-nb201}
py=${NASVIZ_PY:-.venv/bin/python}
mkdir -p benchmarks/results/logs

run_one() {  # kind seed
    local kind=$1 seed=$2 out="models/$space-controller-$1/full-seed$2"
    local log="benchmarks/results/logs/controller-$space-$kind-seed$seed.log" extra=()
    if [ -f "$out/config.json" ] && [ ! -f "$out/train_state.pt" ]; then echo "done: $out"; return 0; fi
    [ -f "$out/train_state.pt" ] && extra=(--resume)
    nice -n 19 "$py" -m nasviz.cli controller train --space "$space" --kind "$kind" --seed "$seed" \
        --epochs 150 --steps-per-epoch 2000 --threads 1 --out "$out" "${extra[@]}" >>"$log" 2>&1
    echo "$kind seed $seed exit $? ($(date -u +%H:%M))"
}

# supervised runs take ~1.7x as long as unsupervised ones: balance the two queues
( run_one supervised 0; run_one supervised 1; run_one unsupervised 2 ) &
( run_one supervised 2; run_one unsupervised 0; run_one unsupervised 1 ) &
wait

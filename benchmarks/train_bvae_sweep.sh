#!/usr/bin/env bash
# The NB201 beta-VAE sweep of issue 14: beta in {0, 0.5, 1, 2, 4} x training seeds, with the NB201 decoder
# options (nasviz.models.train.NB201_OVERRIDES). Each run writes its checkpoint to
#   models/sweeps/nb201-bvae/beta<B>-seed<S>/
# and is skipped when that checkpoint exists; an interrupted run continues from its per-epoch state (--resume).
# Run from the repository root, niced, one job at a time (the order puts the shipped seed 0 first):
#   nice -n 10 benchmarks/train_bvae_sweep.sh [seeds...]      (default seeds: 0 1 2; BETAS="0 1" to pick betas)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
SEEDS=${*:-0 1 2}
for seed in $SEEDS; do
  for beta in ${BETAS:-1 0 4 2 0.5}; do
    out=models/sweeps/nb201-bvae/beta${beta}-seed${seed}
    if [ -f "$out/config.json" ]; then echo "done: $out"; continue; fi
    extra=()
    [ -f "$out/train_state.pt" ] && extra=(--resume)
    echo "training $out" >&2
    NASVIZ_THREADS=1 "$PY" -m nasviz.cli train beta-vae --space nb201 --beta "$beta" --seed "$seed" \
      --out "$out" --json "${extra[@]}" > /dev/null
  done
done

#!/usr/bin/env bash
# Ship a sweep checkpoint as models/nb101-arch2vec and regenerate what is built on it (issue 14, point 4):
# the embedding of all 423,624 cells with its PCA/UMAP/t-SNE, the model's figures in benchmarks/results/models.json
# and its card, the manifest, and the NB101 latent search rows (arch2vec-bo and dense-arch2vec, 50 seeds each,
# budget 300), then BENCHMARKS.md. About 25 minutes on 2 cores; run it with nothing else heavy running.
#
#   benchmarks/ship_nb101_arch2vec.sh nb101-arch2vec-mlp-kl40-cos-wu2-dangle0.3
#
# Afterwards: set nasviz.models.train.NB101_OVERRIDES["arch2vec"] to the candidate's options (so `nasviz train
# arch2vec --space nb101` reproduces it), run the suite, and note every changed figure before -> after.
set -euo pipefail
C=${1:?usage: $0 SWEEP_FOLDER_NAME (under models/sweeps/)}
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -f "models/sweeps/$C/model.safetensors" ] || { echo "error: models/sweeps/$C has no checkpoint" >&2; exit 2; }
cp "models/sweeps/$C/README.md" "models/sweeps/$C/config.json" "models/sweeps/$C/model.safetensors" models/nb101-arch2vec/
$PY tools/update_manifest.py
echo "== embed $(date)"; NASVIZ_THREADS=2 nice .venv/bin/nasviz embed --model nb101-arch2vec --force
echo "== bench_models $(date)"; NASVIZ_THREADS=2 nice $PY benchmarks/bench_models.py --models nb101-arch2vec
echo "== manifest $(date)"; $PY tools/update_manifest.py
echo "== search $(date)"
NASVIZ_THREADS=1 nice $PY benchmarks/bench_search.py run --space nb101 --strategies arch2vec-bo --datasets cifar10 \
  --seeds 50 --budget 300 &
NASVIZ_THREADS=1 nice $PY benchmarks/bench_search.py run --space nb101 --strategies dense-arch2vec --datasets cifar10 \
  --seeds 50 --budget 300
wait
echo "== report $(date)"; $PY benchmarks/bench_search.py report; $PY benchmarks/make_report.py
echo "== done $(date)"

"""The NB201 beta-VAE sweep (issue 14): does a larger beta give a more disentangled latent space here?

For every checkpoint under ``models/sweeps/nb201-bvae/beta<B>-seed<S>/`` (written by
``benchmarks/train_bvae_sweep.sh``) this measures, on the model's own seeded held-out split:

* held-out reconstruction (share of the 10 % test cells decoded exactly) and its curve over epochs (from the
  checkpoint's card, recorded while training);
* active dimensions and the DNAS traversal score (``nasviz.analysis.latent.disentanglement``: 100 anchors,
  11 points over mean +- 2 std), and the same score for traversals along the axes of a *random rotation* of
  the same latent space (5 rotations): the baseline a disentangled basis has to beat, since a rotation keeps
  everything the model encodes but mixes its coordinates;
* max |Spearman| of a latent coordinate with 12-epoch accuracy and with FLOPs (all 15,625 cells).

Writes benchmarks/results/bvae_sweep.json and bvae_sweep.md:

    python benchmarks/bench_bvae_sweep.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nasviz.analysis import latent as L  # noqa: E402
from nasviz.bench import get_benchmark  # noqa: E402
from nasviz.models import load_model  # noqa: E402
from nasviz.models._base import hardware  # noqa: E402
from nasviz.models._common import split_indices  # noqa: E402

SWEEP = ROOT / "models" / "sweeps" / "nb201-bvae"
#: shipping thresholds of issue 14: held-out reconstruction for beta <= 1 / beta > 1
SHIP_AT = {True: 0.995, False: 0.95}
N_ROTATIONS = 5


class Rotated:
    """The same model seen through a random orthogonal rotation Q of its latent space: z' = z Q."""

    def __init__(self, model, seed: int) -> None:
        d = model.latent_shape[0]
        q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
        self.q = (q * np.sign(np.diag(r))).astype(np.float32)
        self.model, self.space, self.latent_shape = model, model.space, model.latent_shape

    def latent(self, cells):
        return self.model.latent(cells) @ self.q

    def decode(self, z):
        return self.model.decode(np.asarray(z, dtype=np.float32) @ self.q.T)


def measure(folder: Path, cells: list, acc12: np.ndarray, flops: np.ndarray) -> dict:
    m = load_model(folder, space="nb201")
    beta, seed = float(m.config.beta), int(m.config.seed)
    _, te = split_indices(len(cells), seed, 0.1)
    t0 = time.perf_counter()
    axes = L.disentanglement(m, cells, n_anchors=100, n_points=11, span=2.0, seed=0)
    rot = [L.disentanglement(Rotated(m, 100 + k), cells, n_anchors=100, n_points=11, span=2.0, seed=0).score()
           for k in range(N_ROTATIONS)]
    emb = m.transform(cells)
    rho = L.latent_correlations(emb, a=acc12, f=flops)
    metrics = m.info_.get("metrics", {})
    curve = next((v for k, v in metrics.items() if k.startswith("held-out reconstruction after each epoch")), [])
    return {"folder": str(folder.relative_to(ROOT)), "beta": beta, "seed": seed,
            "recon_test": L.reconstruction_accuracy(m, [cells[i] for i in te]), "recon_curve": curve,
            "active_dims": axes.to_dict()["active_dims"], "latent_dim": int(m.latent_shape[0]),
            "score": axes.score(), "rotated_scores": rot, "rotated_mean": float(np.mean(rot)),
            "max_abs_rho_acc": float(np.nanmax(np.abs(rho["a"]))), "max_abs_rho_flops": float(np.nanmax(np.abs(rho["f"]))),
            "training": m.info_.get("training", {}), "seconds": round(time.perf_counter() - t0, 1)}


def summarise(rows: list[dict]) -> dict:
    by: dict[float, list[dict]] = {}
    for r in rows:
        by.setdefault(r["beta"], []).append(r)
    out = {}
    for beta, rs in sorted(by.items()):
        def ms(key):
            v = np.array([r[key] for r in rs], dtype=np.float64)
            return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None,
                    "min": float(v.min()), "max": float(v.max())}
        gap = np.array([r["score"] - r["rotated_mean"] for r in rs])
        out[str(beta)] = {"seeds": sorted(r["seed"] for r in rs), "recon_test": ms("recon_test"),
                          "active_dims": ms("active_dims"), "score": ms("score"), "rotated": ms("rotated_mean"),
                          "gap_mean": float(gap.mean()), "gap_std": float(gap.std(ddof=1)) if len(gap) > 1 else None,
                          "max_abs_rho_acc": ms("max_abs_rho_acc"), "max_abs_rho_flops": ms("max_abs_rho_flops"),
                          "ships": bool(min(r["recon_test"] for r in rs if r["seed"] == min(x["seed"] for x in rs))
                                        >= SHIP_AT[beta <= 1])}
    return out


def answer(rows: list[dict], summary: dict) -> str:
    """One sentence from the data: does the traversal score rise with beta, beyond the rotated baseline?"""
    from scipy.stats import spearmanr

    betas = np.array([r["beta"] for r in rows])
    gaps = np.array([r["score"] - r["rotated_mean"] for r in rows])
    scores = np.array([r["score"] for r in rows])
    rho_s = float(spearmanr(betas, scores).statistic) if len(set(betas)) > 1 else float("nan")
    rho_g = float(spearmanr(betas, gaps).statistic) if len(set(betas)) > 1 else float("nan")
    lo, hi = min(summary, key=float), max(summary, key=float)
    s_lo, s_hi = summary[lo], summary[hi]
    more = s_hi["gap_mean"] > s_lo["gap_mean"] and rho_g > 0
    verdict = "yes" if more and s_hi["gap_mean"] > 0 else "no"
    return (f"{'Yes' if verdict == 'yes' else 'No'}: over {len(rows)} models (beta {', '.join(summary)}), the "
            f"traversal score's lead over randomly rotated axes goes from {s_lo['gap_mean']:+.3f} at beta {lo} to "
            f"{s_hi['gap_mean']:+.3f} at beta {hi} (Spearman of beta with the lead {rho_g:+.2f}, with the raw score "
            f"{rho_s:+.2f})" + (", so larger beta gives a more disentangled latent space here." if verdict == "yes"
                                else ", so larger beta does not give a more disentangled latent space here."))


def render(res: dict) -> str:
    lines = ["## NB201 beta-VAE sweep: reconstruction and disentanglement by beta", "",
             f"Measured by `benchmarks/bench_bvae_sweep.py` on {res['hardware']}; models trained by "
             "`benchmarks/train_bvae_sweep.sh` (`nasviz train beta-vae --space nb201 --beta B --seed S`: LSTM width "
             "128, decoder position input, KL warm-up over 8,000 steps, lr 3e-3 cosine to 1e-4, batch 64, 100 "
             "epochs). Each model is scored on its own seeded 10 % held-out split. Mean ± std over seeds (std "
             "needs 2 or more).", "",
             "| beta | seeds | held-out recon % (min) | active dims | traversal score | rotated-axes baseline | "
             "lead over baseline | max abs rho acc | max abs rho FLOPs | shipped |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def f(d, scale=1.0, nd=3):
        s = f"{d['mean'] * scale:.{nd}f}"
        return s + (f" ± {d['std'] * scale:.{nd}f}" if d.get("std") is not None else "")
    for beta, s in res["summary"].items():
        gap = f"{s['gap_mean']:+.3f}" + (f" ± {s['gap_std']:.3f}" if s["gap_std"] is not None else "")
        lines.append(f"| {beta} | {len(s['seeds'])} | {f(s['recon_test'], 100, 2)} ({100 * s['recon_test']['min']:.2f}) "
                     f"| {f(s['active_dims'], 1, 1)} / 26 | {f(s['score'])} | {f(s['rotated'])} | {gap} | "
                     f"{f(s['max_abs_rho_acc'])} | {f(s['max_abs_rho_flops'])} | "
                     f"{'yes' if s['ships'] else 'no (below ' + str(100 * SHIP_AT[float(beta) <= 1]) + ' %)'} |")
    lines += ["", f"**Does larger beta give a more disentangled latent space here?** {res['answer']}", "",
              "Traversal score: for each latent coordinate, the share of its decoded changes that fall on its most "
              "frequent factor (the op of one edge), change-weighted over coordinates (1 = each coordinate moves one "
              "edge's op). Rotated-axes baseline: the same score along the axes of a random rotation of the same "
              f"latent space ({N_ROTATIONS} rotations), which keeps what the model encodes and mixes the "
              "coordinates. rho acc: Spearman with 12-epoch cifar10-valid validation accuracy.", "",
              "Held-out reconstruction by epoch (every 10th epoch, seed 0):", "",
              "| beta | " + " | ".join(f"ep {e}" for e in range(10, 101, 10)) + " |",
              "|---|" + "---|" * 10]
    for r in sorted(res["models"], key=lambda r: (r["beta"], r["seed"])):
        if r["seed"] == 0 and r["recon_curve"]:
            c = r["recon_curve"]
            lines.append(f"| {r['beta']:g} | " + " | ".join(f"{100 * c[e - 1]:.1f}" if e <= len(c) else ""
                                                             for e in range(10, 101, 10)) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    bench = get_benchmark("nb201")
    cells = list(bench.space.enumerate())
    acc12 = np.asarray(bench.column("valid_acc", "cifar10-valid", 12), dtype=np.float64)
    flops = np.asarray(bench.column("flops", "cifar10"), dtype=np.float64)
    folders = sorted(p for p in SWEEP.glob("beta*-seed*") if (p / "config.json").is_file())
    if not folders:
        raise SystemExit(f"no sweep checkpoints under {SWEEP}; run benchmarks/train_bvae_sweep.sh first")
    rows = []
    for p in folders:
        r = measure(p, cells, acc12, flops)
        rows.append(r)
        print(f"{p.name}: recon {r['recon_test']:.4f} score {r['score']:.3f} rotated {r['rotated_mean']:.3f} "
              f"active {r['active_dims']} ({r['seconds']} s)", flush=True)
    summary = summarise(rows)
    res = {"hardware": hardware(), "models": rows, "summary": summary, "answer": answer(rows, summary),
           "ship_thresholds": {"beta <= 1": SHIP_AT[True], "beta > 1": SHIP_AT[False]}}
    out = Path(args.out)
    (out / "bvae_sweep.json").write_text(json.dumps(res, indent=1, default=float) + "\n")
    (out / "bvae_sweep.md").write_text(render(res))
    print(res["answer"])


if __name__ == "__main__":
    main()

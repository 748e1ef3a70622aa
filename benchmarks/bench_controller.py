"""Measure the shipped ENAS controllers against Adam & Lorraine (paper 001).

Writes benchmarks/results/controller.json (machine-readable) and
benchmarks/results/controller.md (a markdown section for BENCHMARKS.md). Run from the
repository root:

    python benchmarks/bench_controller.py [--space nb201|nb101] [--n-archs 1000] [--n-pairs 10000]

Each space is its own section: ``--space nb201`` (the default) rewrites the NB201
numbers (top level of controller.json, first section of controller.md) and keeps the
NB101 ones; ``--space nb101`` rewrites only the NB101 section (``"nb101"`` key of
controller.json, the part of controller.md after the ``<!-- nb101 -->`` marker).

Every number is measured here from the checkpoints under models/; the paper's Table 1
is quoted beside ours. Besides Table 1 it reports the two diagnostics behind the
paper's claim: how much the final hidden state varies across sampled architectures
(Fig. 3) and how much each step's action distribution depends on earlier decisions
(Fig. 4), plus training times and GED speed.
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

from nasviz.analysis import controller as A  # noqa: E402
from nasviz.analysis import ged as G  # noqa: E402
from nasviz.bench import get_benchmark  # noqa: E402
from nasviz.controllers import io  # noqa: E402
from nasviz.spaces.nb201 import NB201Space  # noqa: E402


NB101_MARKER = "<!-- nb101 -->"


def conditioning(ctrl, n: int = 100, seed: int = 0, valid_only: bool = False) -> dict:
    """How much the step distributions of n sampled archs differ from each other (0 = independent of the past).

    ``valid_only``: the n sampled sequences are cells of the space (NB101: as in Fig. 3)."""
    if valid_only:
        roll, _ = A.sample_valid(ctrl, n, seed)
        roll.step_probs = [p.detach() for p in roll.step_probs]
        roll.hidden = roll.hidden.detach()
    else:
        with torch.no_grad():
            roll = ctrl.sample(n, torch.Generator().manual_seed(seed))
    tv = []
    for p in roll.step_probs[1:]:  # step 0 has no past
        p = p.numpy().astype(np.float64)
        tv.append(float(0.5 * np.abs(p - p.mean(0)).sum(1).mean()))
    maxp = roll.max_probs.detach().numpy()
    h = roll.hidden.numpy().astype(np.float64)
    return {
        "mean_tv_from_mean_distribution": float(np.mean(tv)),
        "tv_per_step": [round(x, 5) for x in tv],
        "max_prob_mean_per_step": np.round(maxp.mean(0), 4).tolist(),
        "max_prob_std_across_archs_per_step": np.round(maxp.std(0), 4).tolist(),
        "hidden_mean_neuron_variance": float(h.var(0).mean()),
        "hidden_mean_norm": float(np.linalg.norm(h, axis=1).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--space", choices=("nb201", "nb101"), default="nb201")
    ap.add_argument("--n-archs", type=int, default=1000)
    ap.add_argument("--n-pairs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.space == "nb101":
        return main_nb101(args)
    main_nb201(args)


def _write(nb201: dict | None = None, nb101: dict | None = None) -> str:
    """Merge one space's result into controller.json/.md, keeping the other space's section."""
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    jpath, mpath = out / "controller.json", out / "controller.md"
    old = json.loads(jpath.read_text()) if jpath.exists() else {}
    old_md = mpath.read_text() if mpath.exists() else ""
    head_md, _, tail_md = old_md.partition(NB101_MARKER)
    if nb201 is not None:
        doc = {**A.jsonable(nb201), **({"nb101": old["nb101"]} if "nb101" in old else {})}
        head_md = markdown(nb201)
    else:
        doc = {**old, "nb101": A.jsonable(nb101)}
        tail_md = "\n" + markdown_nb101(nb101)
    jpath.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    md = head_md.rstrip("\n") + "\n\n" + (NB101_MARKER + tail_md if tail_md else "")
    mpath.write_text(md.rstrip("\n") + "\n")
    return md


def main_nb201(args) -> None:
    t_all = time.perf_counter()
    bench = get_benchmark("nb201")
    ctrls = A.load_shipped("nb201")

    # -- Table 1 over every seed
    t0 = time.perf_counter()
    both = A.table1_both(ctrls, bench, n_archs=args.n_archs, n_pairs=args.n_pairs, seed=args.seed)
    table, table_distinct = both["spearman"], both["spearman_distinct"]
    table_s = time.perf_counter() - t0

    # -- per-checkpoint diagnostics and training times
    per_kind: dict[str, dict] = {}
    for kind, items in ctrls.items():
        rows = []
        for ctrl, doc in items:
            vals = A.reward_values(doc, bench)
            acc = A.sampled_accuracy(ctrl, vals, args.n_archs, args.seed)
            with torch.no_grad():
                d = ctrl.sample(args.n_archs, torch.Generator().manual_seed(args.seed)).decisions.numpy()
            tr = doc.get("training", {})
            rows.append({
                "seed": doc["seed"],
                "checkpoint": str(io.checkpoint_dir("nb201", kind, doc["seed"]).relative_to(ROOT)),
                "train_seconds": tr.get("seconds"), "cpu_seconds": tr.get("cpu_seconds"),
                "epochs": doc["train"]["epochs"], "steps_per_epoch": doc["train"]["steps_per_epoch"],
                "final_train_reward": (tr.get("final_epoch") or {}).get("reward"),
                "final_entropy": (tr.get("final_epoch") or {}).get("entropy"),
                "sampled_acc_mean": float(acc.mean()), "sampled_acc_std": float(acc.std()),
                "unique_archs_in_samples": int(len(np.unique(d, axis=0))),
                **conditioning(ctrl, 100, args.seed),
            })
        agg = {}
        for key in ("sampled_acc_mean", "unique_archs_in_samples", "mean_tv_from_mean_distribution",
                    "hidden_mean_neuron_variance", "train_seconds", "cpu_seconds"):
            v = np.array([r[key] for r in rows if r[key] is not None], dtype=np.float64)
            agg[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0} if len(v) else None
        per_kind[kind] = {"checkpoints": rows, "summary": agg}

    # -- sensitivity: controllers trained on other schedules, kept as named variants beside the shipped seeds
    # (models/nb201-controller-<kind>/long*/: 40 x 1,000; sched40x200-seed*/: the former 8,000-step defaults)
    longer = []
    for kind in A.KINDS:
        parent = io.checkpoint_dir("nb201", kind, 0).parent
        for folder in sorted(parent.glob("long*")) + sorted(parent.glob("sched*")):
            ctrl, doc = io.load(folder, space="nb201")
            vals = A.reward_values(doc, bench)
            sc = A.similarity_correlations(ctrl, vals, args.n_archs, args.n_pairs, args.seed)
            longer.append({
                "kind": kind, "checkpoint": str(folder.relative_to(ROOT)), "seed": doc["seed"],
                "epochs": doc["train"]["epochs"], "steps_per_epoch": doc["train"]["steps_per_epoch"],
                "train_seconds": doc["training"]["seconds"], "cpu_seconds": doc["training"].get("cpu_seconds"),
                "spearman": sc["spearman"], "spearman_distinct": sc["spearman_distinct"],
                "unique_archs_in_samples": sc["n_unique_archs"], "identical_pairs": sc["identical_pairs"],
                "sampled_acc_mean": float(A.sampled_accuracy(ctrl, vals, args.n_archs, args.seed).mean()),
                **conditioning(ctrl, 100, args.seed),
            })

    # -- GED speed (10,000 random pairs) and hidden states of every cell
    space = NB201Space()
    rng = np.random.default_rng(0)
    a = [space.sample(rng) for _ in range(10_000)]
    b = [space.sample(rng) for _ in range(10_000)]
    t0 = time.perf_counter()
    g = G.pairwise("nb201", a, b)
    ged_s = time.perf_counter() - t0
    ham = np.array([x.hamming(y) for x, y in zip(a, b)])
    ctrl0 = ctrls["supervised"][0][0]
    t0 = time.perf_counter()
    A.all_hidden(ctrl0)
    latent_s = time.perf_counter() - t0

    # -- separation along training: the snapshots saved at 8k/40k/100k steps and the final checkpoints
    t0 = time.perf_counter()
    schedule = A.schedule_curve("nb201", bench, n_archs=args.n_archs, n_pairs=args.n_pairs, seed=args.seed)
    schedule_s = time.perf_counter() - t0
    train_cfg = ctrls["supervised"][0][1]["train"]

    result = {
        "space": "nb201",
        "reward": ctrls["supervised"][0][1]["reward"],
        "n_archs": args.n_archs, "n_pairs": args.n_pairs, "seed": args.seed,
        "table1": table, "table1_distinct_pairs": table_distinct, "table1_seconds": round(table_s, 1),
        "separation": A.separation(table), "separation_distinct_pairs": A.separation(table_distinct),
        "schedule": schedule, "schedule_seconds": round(schedule_s, 1),
        "schedule_marks": {"buffer_start_step": train_cfg["buffer_start_epoch"] * train_cfg["steps_per_epoch"],
                           "sup_start_step": train_cfg["sup_start_epoch"] * train_cfg["steps_per_epoch"]},
        "controllers": per_kind,
        "longer_schedule": longer,
        "ged": {"pairs": 10_000, "seconds": round(ged_s, 3), "smaller_than_hamming": int((g < ham).sum()),
                "mean": float(g.mean())},
        "all_cells_hidden_seconds": round(latent_s, 2),
        "hardware": io.hardware(),
        "seconds": round(time.perf_counter() - t_all, 1),
    }
    result["verdict"] = verdict(result)
    _write(nb201=result)
    print(markdown(result))


def _s(per_kind, kind, key):
    return per_kind[kind]["summary"][key]["mean"]


def verdict(r: dict) -> dict:
    """Explicit criteria for the paper's two claims, evaluated on our numbers."""
    pk = r["controllers"]
    var_u, var_s = _s(pk, "unsupervised", "hidden_mean_neuron_variance"), _s(pk, "supervised", "hidden_mean_neuron_variance")
    tv_u, tv_s = _s(pk, "unsupervised", "mean_tv_from_mean_distribution"), _s(pk, "supervised", "mean_tv_from_mean_distribution")
    collapse = bool(var_u < 0.5 * var_s and tv_u < tv_s)
    per = {pairs: {m: x["verdict"] for m, x in r[key].items()}
           for pairs, key in (("all", "separation"), ("distinct", "separation_distinct_pairs"))}
    return {
        "collapse_without_buffer": collapse,
        "collapse_criterion": "unsupervised per-neuron variance of h over 100 sampled archs < 0.5 x supervised, "
                              "and its step distributions depend less on past decisions (mean TV) than supervised's",
        "separation": per,
        "separation_criterion": "per measure, the Welch 95 % interval of mean(supervised) - mean(unsupervised) over "
                                "seeds excludes 0 with the sign of the paper's difference",
        "separation_with_buffer": all(v == A.VERDICTS[0] for v in per["all"].values()),
        "numbers": {"hidden_var_unsup": var_u, "hidden_var_sup": var_s, "tv_unsup": tv_u, "tv_sup": tv_s},
    }


def markdown(r: dict) -> str:
    pk = r["controllers"]
    v = r["verdict"]
    lines = [
        "## ENAS controller study (paper 001, Adam & Lorraine) on NB201",
        "",
        f"Reward `{r['reward']}` (real NAS-Bench-201 table). Controllers: `models/nb201-controller-<kind>/seed<N>/`. "
        f"Table 1: Spearman correlation between ||h(A1) - h(A2)||_2 and each similarity measure over {r['n_pairs']:,} "
        f"random pairs of {r['n_archs']:,} architectures sampled from each controller; mean and 95 % interval "
        "(Student t) over seeds. "
        "Paper: ENAS RNN cells on PTB (single run). Measured by `benchmarks/bench_controller.py`.",
        "",
        A.table1_markdown(r["table1"]),
        "",
        "The same, leaving out pairs of identical architectures (a collapsed controller samples many; their "
        "distance is 0 and all measures are extreme, which alone produces correlation):",
        "",
        A.table1_markdown(r["table1_distinct_pairs"]),
        "",
        "NB201 measures: common ops = multiset overlap of the six edge ops; common connections = edges that are not "
        "`none` in both cells; GED = exact graph edit distance in the node-op DAG view (unit costs); abs. acc. diff = |accuracy difference| on the "
        "reward column.",
        "",
        "**Is supervised separated from unsupervised, as in the paper?** Welch 95 % interval of the difference of "
        "seed means (supervised - unsupervised); the verdict is read from that interval and the sign of the paper's "
        "difference.",
        "",
        separation_markdown(r),
        "",
        "| controller | seeds | training time (s, mean ± std) | sampled acc (%) | unique archs / "
        f"{r['n_archs']} | identical pairs / {r['n_pairs']} | hidden var per neuron | past-dependence (mean TV) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, d in pk.items():
        s = d["summary"]
        ts = s["train_seconds"]
        idp = r["table1"]["rows"][kind]["identical_pairs"]
        tt = "0 (untrained)" if kind == "random" else f"{ts['mean']:.0f} ± {ts['std']:.0f}"
        lines.append(
            f"| {kind} | {len(d['checkpoints'])} | {tt} | {s['sampled_acc_mean']['mean']:.2f} ± "
            f"{s['sampled_acc_mean']['std']:.2f} | {s['unique_archs_in_samples']['mean']:.0f} | "
            f"{np.mean(idp):.0f} | {s['hidden_mean_neuron_variance']['mean']:.2e} | {s['mean_tv_from_mean_distribution']['mean']:.4f} |")
    ck = pk["supervised"]["checkpoints"][0]
    steps = ck["epochs"] * ck["steps_per_epoch"]
    cpu = {k: pk[k]["summary"].get("cpu_seconds") for k in ("unsupervised", "supervised")}
    cpu_txt = ", ".join(f"{k} {c['mean'] / 60:.1f} ± {c['std'] / 60:.1f} CPU-minutes ({c['mean'] / steps * 1e3:.1f} ms "
                        "per step)" for k, c in cpu.items() if c)
    lines += [
        "",
        f"Training schedule of the shipped controllers: {ck['epochs']} epochs x {ck['steps_per_epoch']:,} steps "
        f"= {steps:,} steps, one architecture per step, the hyper-parameters of ENAS-pytorch, the PyTorch port of "
        "ENAS's PTB search that the paper analyses (the paper does not state its schedule). " +
        (f"Training cost per controller, in CPU time of the training process: {cpu_txt}; wall clock on this shared "
         f"machine was longer, as several runs and other work shared its cores ({r['hardware']})." if cpu_txt else
         f"Hardware: {r['hardware']}."),
        f"Exact GED: {r['ged']['pairs']:,} random pairs in {r['ged']['seconds']} s "
        f"({r['ged']['smaller_than_hamming']} pairs below the Hamming distance). Hidden states of all 15,625 cells: "
        f"{r['all_cells_hidden_seconds']} s per controller.",
        "",
    ]
    if r.get("schedule"):
        lines += [schedule_markdown(r), ""]
    if r.get("longer_schedule"):
        lines += [
            "Other schedules, kept as named variants beside the shipped seeds (`sched40x200-seed<N>`: the former "
            "8,000-step defaults; `long40x1000-seed0`: 40,000 steps, one seed) — Spearman on all pairs / on distinct "
            "pairs:",
            "",
            "| controller | schedule | # common ops | # common connections | GED | abs. acc. diff | unique archs | "
            "hidden var per neuron | past-dependence (mean TV) | time (s wall / CPU) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for x in r["longer_schedule"]:
            sp = " | ".join(f"{x['spearman'][m]:+.3f} / {x['spearman_distinct'][m]:+.3f}" for m in A.MEASURES)
            cpu = f"{x['cpu_seconds']:.0f}" if x.get("cpu_seconds") is not None else "-"
            lines.append(f"| {x['kind']} (seed {x['seed']}) | {x['epochs']} x {x['steps_per_epoch']} | {sp} | "
                         f"{x['unique_archs_in_samples']} | {x['hidden_mean_neuron_variance']:.1e} | "
                         f"{x['mean_tv_from_mean_distribution']:.4f} | {x['train_seconds']:.0f} / {cpu} |")
        lines.append("")
    lines += [
        "**Does it reproduce?** " + sentence(r),
        "",
    ]
    return "\n".join(lines)


def separation_markdown(r: dict) -> str:
    lines = ["| measure | all pairs: sup - unsup [95 % CI] | verdict | distinct pairs: sup - unsup [95 % CI] | verdict "
             "| paper (sup - unsup) |", "|---|---|---|---|---|---|"]
    for m in A.MEASURES:
        a, d = r["separation"][m], r["separation_distinct_pairs"][m]

        def fmt(x):
            lo, hi = (float("nan") if v is None else v for v in x["ci95"])
            return f"{x['diff']:+.3f} [{lo:+.3f}, {hi:+.3f}]"

        lines.append(f"| {A.MEASURE_LABELS[m]} | {fmt(a)} | {a['verdict']} | {fmt(d)} | {d['verdict']} | "
                     f"{a['paper_diff']:+.3f} |")
    return "\n".join(lines)


def schedule_markdown(r: dict) -> str:
    sc = r["schedule"]
    marks = r.get("schedule_marks", {})
    lines = [
        "**How separation appears with training** (the same Spearman correlations on checkpoints saved along the "
        f"{sc['steps'][-1]:,}-step runs; mean [95 % interval] over seeds; all pairs / distinct pairs):",
        "",
        "| steps | controller | " + " | ".join(A.MEASURE_LABELS[m] for m in A.SCHEDULE_MEASURES) + " | unique archs |",
        "|---|---|" + "---|" * len(A.SCHEDULE_MEASURES) + "---|",
    ]
    for steps in sc["steps"]:
        for kind in sc["rows"]:
            cell = sc["rows"][kind].get(steps) or sc["rows"][kind].get(str(steps))
            if cell is None:
                continue

            def fmt(x):
                lo, hi = (float("nan") if v is None else v for v in x["ci95"])
                return f"{x['mean']:+.3f} [{lo:+.2f}, {hi:+.2f}]"

            vals = " | ".join(f"{fmt(cell['all'][m])} / {fmt(cell['distinct'][m])}" for m in A.SCHEDULE_MEASURES)
            lines.append(f"| {steps:,} | {kind} (n={len(cell['seeds'])}) | {vals} | "
                         f"{np.mean(cell['unique_archs']):.0f} |")
    lines += ["", A.schedule_caption(sc, "distinct", marks.get("buffer_start_step"), marks.get("sup_start_step"))]
    return "\n".join(lines)


def sentence(r: dict) -> str:
    v = r["verdict"]
    n = v["numbers"]
    ck = r["controllers"]["supervised"]["checkpoints"][0]
    seeds = {k: len(r["controllers"][k]["checkpoints"]) for k in ("unsupervised", "supervised")}
    part1 = (f"the collapse without the buffer {'is' if v['collapse_without_buffer'] else 'is not'} reproduced "
             f"(per-neuron variance of h over sampled architectures: unsupervised {n['hidden_var_unsup']:.1e} vs "
             f"supervised {n['hidden_var_sup']:.1e}; dependence of the action distribution on past decisions, mean TV: "
             f"{n['tv_unsup']:.4f} vs {n['tv_sup']:.4f})")
    parts = []
    for pairs, key in (("all pairs", "separation"), ("distinct pairs", "separation_distinct_pairs")):
        by = {}
        for m, x in r[key].items():
            by.setdefault(x["verdict"], []).append(A.MEASURE_LABELS[m])
        parts.append(f"on {pairs}, " + "; ".join(f"{verdict} on {', '.join(ms)}" for verdict, ms in by.items()))
    return (f"With the shipped controllers ({ck['epochs']} x {ck['steps_per_epoch']:,} = "
            f"{ck['epochs'] * ck['steps_per_epoch']:,} steps; {seeds['unsupervised']} unsupervised and "
            f"{seeds['supervised']} supervised seeds), {part1}. Table 1's separation of supervised from unsupervised "
            f"(Welch 95 % intervals above): " + "; ".join(parts) + ".")


# -- NB101 ----------------------------------------------------------------------------------------
def main_nb101(args) -> None:
    from nasviz.spaces.nb101 import NB101Space

    t_all = time.perf_counter()
    bench = get_benchmark("nb101")
    ctrls = A.load_shipped("nb101")
    t0 = time.perf_counter()
    both = A.table1_both(ctrls, bench, n_archs=args.n_archs, n_pairs=args.n_pairs, seed=args.seed)
    table_s = time.perf_counter() - t0

    per_kind: dict[str, dict] = {}
    for kind, items in ctrls.items():
        rows = []
        for ctrl, doc in items:
            vals = A.reward_values(doc, bench)
            sr = A.sampled_rewards(ctrl, vals, args.n_archs, args.seed, bench)
            roll, _ = A.sample_valid(ctrl, args.n_archs, args.seed)
            d = roll.decisions.numpy()
            tr = doc.get("training", {})
            cnt = tr.get("sampled") or {}
            n_tr = sum(cnt.values())
            rows.append({
                "seed": doc["seed"],
                "checkpoint": str(io.checkpoint_dir("nb101", kind, doc["seed"]).relative_to(ROOT)),
                "train_seconds": tr.get("seconds"), "train_cpu_seconds": tr.get("cpu_seconds"),
                "epochs": doc["train"]["epochs"], "steps_per_epoch": doc["train"]["steps_per_epoch"],
                "final_train_reward": (tr.get("final_epoch") or {}).get("reward"),
                "final_entropy": (tr.get("final_epoch") or {}).get("entropy"),
                "train_sampled": cnt,
                "train_invalid_frac": cnt.get("invalid", 0) / n_tr if n_tr else None,
                "train_mapped_frac": cnt.get("mapped", 0) / n_tr if n_tr else None,
                "last_epoch_invalid_frac": ((tr.get("final_epoch") or {}).get("invalid", 0) / doc["train"]["steps_per_epoch"]
                                            / doc["train"]["batch_size"]) if n_tr else None,
                "sampled_acc_mean": float(sr["values"].mean()), "sampled_acc_std": float(sr["values"].std()),
                "sampled_in_table": sr["in_table"], "sampled_mapped": sr["mapped"],
                "sampled_invalid_draws": sr["invalid_draws"],
                "unique_archs_in_samples": int(len(np.unique(d, axis=0))),
                **conditioning(ctrl, 100, args.seed, valid_only=True),
            })
        agg = {}
        for key in ("sampled_acc_mean", "unique_archs_in_samples", "mean_tv_from_mean_distribution",
                    "hidden_mean_neuron_variance", "train_seconds", "train_cpu_seconds", "sampled_invalid_draws",
                    "sampled_in_table", "train_invalid_frac", "last_epoch_invalid_frac"):
            v = np.array([r[key] for r in rows if r[key] is not None], dtype=np.float64)
            agg[key] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0} if len(v) else None
        per_kind[kind] = {"checkpoints": rows, "summary": agg}

    space = NB101Space()
    rng = np.random.default_rng(0)
    a = [space.sample(rng) for _ in range(10_000)]
    b = [space.sample(rng) for _ in range(10_000)]
    t0 = time.perf_counter()
    g = G.pairwise("nb101", a, b)
    ged_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    A.all_hidden(ctrls["supervised"][0][0])
    latent_s = time.perf_counter() - t0
    result = {
        "space": "nb101",
        "reward": ctrls["supervised"][0][1]["reward"],
        "table": ("imported official NB101 table" if bench.meta.get("kind") == "official" else
                  f"embedded real 30,001-cell sample (`{bench.path.relative_to(ROOT) if bench.path.is_relative_to(ROOT) else bench.path.name}`)"),
        "n_archs": args.n_archs, "n_pairs": args.n_pairs, "seed": args.seed,
        "table1": both["spearman"], "table1_distinct_pairs": both["spearman_distinct"],
        "table1_seconds": round(table_s, 1),
        "separation": A.separation(both["spearman"]),
        "separation_distinct_pairs": A.separation(both["spearman_distinct"]),
        "controllers": per_kind,
        "ged": {"pairs": 10_000, "seconds": round(ged_s, 3), "mean": float(g.mean()),
                "identical": int((g == 0).sum())},
        "sample_cells_hidden_seconds": round(latent_s, 2), "sample_cells": len(bench),
        "hardware": io.hardware(),
        "seconds": round(time.perf_counter() - t_all, 1),
    }
    result["verdict"] = verdict(result)
    _write(nb101=result)
    print(markdown_nb101(result))


def markdown_nb101(r: dict) -> str:
    pk = r["controllers"]
    lines = [
        "## ENAS controller study (paper 001, Adam & Lorraine) on NB101",
        "",
        f"Reward `{r['reward']}` from the {r['table']}. Controllers: `models/nb101-controller-<kind>/seed<N>/`, "
        "26 decisions per cell (for vertices 1..6: the op of an interior vertex, then one input bit per earlier "
        "vertex; `nasviz/controllers/nb101.py`). Sequences outside the space (no input -> output path, more than 9 "
        "edges after pruning) get reward 0 during training; valid cells missing from the 30,001-cell sample get the "
        "accuracy of the nearest sample cell (Hamming distance of canonical decision sequences). The analyses draw "
        "valid cells only (invalid draws are dropped and counted). Table 1 as for NB201: Spearman correlation between "
        f"||h(A1) - h(A2)||_2 and each measure over {r['n_pairs']:,} random pairs of {r['n_archs']:,} sampled cells, "
        "mean ± std over seeds. Measured by `benchmarks/bench_controller.py --space nb101`.",
        "",
        A.table1_markdown(r["table1"]),
        "",
        "Pairs of different architectures only:",
        "",
        A.table1_markdown(r["table1_distinct_pairs"]),
        "",
        "NB101 measures: common ops = multiset overlap of the interior ops of the pruned cells; common connections = "
        "input connections u -> v chosen in both decision sequences; GED = exact graph edit distance of the pruned "
        "cells (unit costs, isomorphic cells at 0); abs. acc. diff = |difference| of the reward column (nearest sample "
        "cell for cells outside the sample).",
        "",
        f"| controller | seeds | training time (s wall / CPU) | invalid while training (all / last epoch) | sampled acc (%) "
        f"| in sample / {r['n_archs']} | invalid draws per {r['n_archs']} cells | unique archs | hidden var per neuron "
        "| past-dependence (mean TV) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, d in pk.items():
        s = d["summary"]
        ts, tc = s["train_seconds"], s["train_cpu_seconds"]
        tt = "0 (untrained)" if kind == "random" or ts is None else \
            f"{ts['mean']:.0f} ± {ts['std']:.0f} / {tc['mean']:.0f} ± {tc['std']:.0f}" if tc else f"{ts['mean']:.0f}"
        inv = "-" if s["train_invalid_frac"] is None else \
            f"{100 * s['train_invalid_frac']['mean']:.1f}% / {100 * s['last_epoch_invalid_frac']['mean']:.1f}%"
        lines.append(
            f"| {kind} | {len(d['checkpoints'])} | {tt} | {inv} | {s['sampled_acc_mean']['mean']:.2f} ± "
            f"{s['sampled_acc_mean']['std']:.2f} | {s['sampled_in_table']['mean']:.0f} | "
            f"{s['sampled_invalid_draws']['mean']:.0f} | {s['unique_archs_in_samples']['mean']:.0f} | "
            f"{s['hidden_mean_neuron_variance']['mean']:.2e} | {s['mean_tv_from_mean_distribution']['mean']:.4f} |")
    ck = pk["supervised"]["checkpoints"][0]
    lines += [
        "",
        f"Schedule as for NB201: {ck['epochs']} epochs x {ck['steps_per_epoch']} steps, one architecture per step, "
        f"ENAS-pytorch hyper-parameters, paper buffer counts. Times on {r['hardware']} (shared, two runs in parallel, "
        f"niced). Exact GED of {r['ged']['pairs']:,} random NB101 pairs: {r['ged']['seconds']} s. Hidden states of the "
        f"{r['sample_cells']:,} table cells: {r['sample_cells_hidden_seconds']} s per controller.",
        "",
        "**Does it reproduce on NB101?** " + sentence_nb101(r),
        "",
    ]
    return "\n".join(lines)


def sentence_nb101(r: dict) -> str:
    v = r["verdict"]
    n = v["numbers"]
    t = r["table1"]["rows"]
    co = {k: t[k]["measures"]["common_ops"]["mean"] for k in t}
    ad = {k: t[k]["measures"]["abs_acc_diff"]["mean"] for k in t}
    collapse = "is" if v["collapse_without_buffer"] else "is not"
    separation = "is" if v["separation_with_buffer"] else "is not"
    join = "and" if v["collapse_without_buffer"] == v["separation_with_buffer"] else "but"
    return (f"With our shortened schedule the collapse without the buffer {collapse} reproduced (per-neuron variance "
            f"of h over sampled cells: unsupervised {n['hidden_var_unsup']:.1e} vs supervised {n['hidden_var_sup']:.1e}; "
            f"past-dependence {n['tv_unsup']:.4f} vs {n['tv_sup']:.4f}), {join} the Table 1 separation {separation} "
            f"(Spearman with # common ops: supervised {co['supervised']:+.3f} vs unsupervised {co['unsupervised']:+.3f}, "
            f"paper -0.404 vs -0.315; with |acc diff|: {ad['supervised']:+.3f} vs {ad['unsupervised']:+.3f}, paper "
            "+0.163 vs -0.001).")

if __name__ == "__main__":
    main()

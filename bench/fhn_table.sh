#!/usr/bin/env bash
# FitzHugh–Nagumo surrogate results page → bench/results/fhn_surrogates.md (+ PNG figures), from the
# outputs of bench/fhn_runs.sh. Usage: bench/fhn_table.sh [OUT_DIR]   (default: out)
# Missing runs are reported as missing, never filled in.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(cd "${1:-$root/out}" && pwd)
res="$root/bench/results"
mkdir -p "$res"
for f in "$out"/fhn_quick/fig2_mae_by_class_*.png "$out"/fhn_quick/fig3_error_vs_time.png; do
  [[ -f "$f" ]] && cp "$f" "$res/fhn_surrogates_$(basename "$f")"
done
python3 - "$out" "$res/fhn_surrogates.md" <<'PY'
import csv, json, os, statistics, sys, datetime
out, page = sys.argv[1], sys.argv[2]
L = []
def rows(d):
    p = os.path.join(out, d, "results.csv")
    return list(csv.DictReader(open(p))) if os.path.exists(p) else []
def sci(v): return "n/a" if v is None else f"{float(v):.2e}"
def expected(d):
    p = os.path.join(out, d, "sweep.json")
    if not os.path.exists(p): return None
    c = json.load(open(p))["config"]
    if c["zoo"]["file"]: n = sum(1 for _ in open(c["zoo"]["file"])) - 1
    else: n = 8 * c["zoo"]["per_group"] if c["zoo"]["per_group"] > 0 else 800
    return (n + len(c["extra"])) * len(c["studies"])
def status(d, r):
    e = expected(d)
    if e is None: return "Not run.\n"
    if len(r) < e: return f"**Unfinished: {len(r)} of {e} models** (the run was stopped for lack of CPU; re-running the same command resumes it).\n"
    return f"Complete: {len(r)} of {e} models.\n"
L.append("# FitzHugh–Nagumo neural surrogates (DDNN / PINN / ITNN)\n")
L.append(f"Written by `bench/fhn_table.sh` from the outputs of `bench/fhn_runs.sh` ({datetime.date.today()}); "
         "a shared 2-core machine, LibTorch CPU, 1 thread per process (torch and OpenBLAS; before e2b98b7 OpenBLAS "
         "kept its own spinning pool and the same runs took hours), load average 4–7 from other jobs, so every "
         "time below is a loaded-machine time and ratios between runs are rough: the quick sweep took 38 min of "
         "wall time here at load 4–7; a second run of it, with the other core busy with one training, took 942 s "
         "(15.7 min) and gave bit-identical MAEs; the rest of `bench/fhn_runs.sh` took 4 min. Training is deterministic for a given seed and "
         "thread count; with another BLAS thread count the summation order changes and so do the results "
         "(the best A model was ReLU16-ReLU128-ELU64 at 6.7e-4 in session 5's run of the same A config, "
         "1.5e-3 here). "
         "Model: the cubic FHN form (`fhn-cubic`). Errors are validation MAE over u and w (the study has no "
         "separate test split; nothing was tuned on these numbers except where said). Published numbers: the "
         "800-architecture study (DDNN).\n")
L.append("Commands (`B=build/tools/metaeikonal`): `$B fhn sweep -c configs/fhn/quick.json -o out/fhn_quick`; "
         "`$B fhn sweep -c configs/fhn/scarce_N.json -o out/fhn_scarce_N` (N = 10, 100, 1000); "
         "`$B fhn sweep -c configs/fhn/itnn_quick.json -o out/fhn_itnn`; "
         "`$B fhn train -c configs/fhn/problem_b.json -o out/fhn_b_best`; "
         "`$B fhn train -c configs/fhn/quick_a.json --architecture BEST_A -o out/fhn_a_best`; "
         "`$B fhn train -c configs/fhn/quick_a.json --iterations 10000 -o out/fhn_a_silu`; "
         "`$B fhn bench -m RUN --samples N --threads 1 --json` — all in `bench/fhn_runs.sh`.\n")
# 1. Quick sweep.
q = rows("fhn_quick")
L.append("## Quick sweep (`configs/fhn/quick.json`)\n")
L.append(status("fhn_quick", q))
if q:
    L.append("41 architectures (the first 5 of each of the 8 zoo groups, seed 0, plus the published best "
             "SiLU64-Sigmoid64-Sigmoid64) × problems A and B, DDNN. Reduced budgets: A 100 points, 8 000 "
             "full-batch steps with a faster plateau schedule (patience 200, factor 0.8); B 500 training / 200 "
             "validation trajectories (of 5 000 / 5 000), 20 000 steps of batch 1 024 at lr 3e-3, halved after "
             "2 000 steps without a new best (chosen on a tuning dataset of data seed 1 with Tanh128-SiLU64-ReLU32: "
             "8.7e-3 with the published schedule at 20 000 steps, 6.4e-3 with this one, 1.4e-2 at the former 8 000 "
             "steps; the reported runs use data seed 0).\n")
    pub = {"a": (3.3e-4, 1.13e-3), "b": (2.8e-3, 8.8e-3), "c": (3.4e-3, 8.0e-3)}
    L.append("| problem | kind | models | best | median | worst | best architecture | published best | published median | train s (sum) |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for key in sorted({(r["problem"], r["kind"]) for r in q}):
        s = [r for r in q if (r["problem"], r["kind"]) == key]
        m = sorted(float(r["val_mae"]) for r in s)
        best = min(s, key=lambda r: float(r["val_mae"]))
        p = pub.get(key[0], (None, None)) if key[1] == "ddnn" else (None, None)
        L.append(f"| {key[0]} | {key[1]} | {len(s)} | {sci(m[0])} | {sci(statistics.median(m))} | {sci(m[-1])} | "
                 f"{best['architecture']} | {sci(p[0])} | {sci(p[1])} | {sum(float(r['train_seconds']) for r in s):.0f} |")
    L.append("")
    summ = os.path.join(out, "fhn_quick", "summary.md")
    if os.path.exists(summ):
        text = open(summ).read()
        i = text.find("## Median validation MAE")
        if i >= 0:
            L.append("### From `out/fhn_quick/summary.md`\n")
            L.append(text[i:].replace("\n## ", "\n#### ").replace("\n### ", "\n#### ").replace("## Median", "#### Median", 1))
    figs = [("MAE by class, A", "fhn_surrogates_fig2_mae_by_class_a_ddnn.png"),
            ("MAE by class, B", "fhn_surrogates_fig2_mae_by_class_b_ddnn.png"),
            ("error vs time", "fhn_surrogates_fig3_error_vs_time.png")]
    have = [f for f in figs if os.path.exists(os.path.join(os.path.dirname(page), f[1]))]
    for name, f in have: L.append(f"![{name}]({f})\n")
    if not have:
        L.append("Figures: not written yet (the CLI writes them when the sweep completes, or with "
                 "`fhn report out/fhn_quick` for the rows so far).\n")
else:
    L.append("Not run.\n")
# 2. Published best architecture on B, full budget.
L.append("## SiLU64-Sigmoid64-Sigmoid64 on problem B with the `problem_b.json` budget\n")
d = os.path.join(out, "fhn_b_best")
if os.path.exists(os.path.join(d, "log.csv")):
    log = list(csv.DictReader(open(os.path.join(d, "log.csv"))))
    cfg = json.load(open(os.path.join(d, "config.json")))
    vals = [(int(r["iteration"]), float(r["val_mae"])) for r in log if r["val_mae"]]
    met = json.load(open(os.path.join(d, "metrics.json"))) if os.path.exists(os.path.join(d, "metrics.json")) else None
    L.append(f"5 000 training / 5 000 validation trajectories, batch {cfg['train']['batch_size']}, budget "
             f"{cfg['train']['iterations']} steps. Reached step {log[-1]['iteration'] if log else 0} "
             f"({float(log[-1]['seconds']) if log else 0:.0f} s of training).\n")
    if vals:
        L.append("| step | validation MAE |\n|---|---|")
        for it, v in vals: L.append(f"| {it} | {sci(v)} |")
        L.append("")
    if met:
        L.append(f"Final: validation MAE {sci(met['val_mae'])}, max error {sci(met['val_max_error'])} after "
                 f"{met['iterations']} steps (published: 2.8e-3).\n")
else:
    L.append("Not run.\n")
# 3. Data-scarce.
L.append("## DDNN against PINN on problem A with 10 / 100 / 1 000 data points\n")
sc = {n: rows(f"fhn_scarce_{n}") for n in (10, 100, 1000)}
for n in (10, 100, 1000): L.append(f"{n} points: " + status(f"fhn_scarce_{n}", sc[n]))
if any(sc.values()):
    L.append("Three architectures (`configs/fhn/scarce_zoo.csv`: the published best and the two best of the quick "
             "A sweep, i.e. chosen on validation), 3 000 full-batch steps each; PINN with 256 collocation points per "
             "step and weights data 100 / physics 2 / start 1. Validation: the whole trajectory (2 501 points).\n")
    archs = sorted({r["architecture"] for v in sc.values() for r in v})
    L.append("| points | architecture | DDNN MAE | PINN MAE | PINN / DDNN | DDNN s | PINN s |\n|---|---|---|---|---|---|---|")
    for n, v in sc.items():
        for a in archs:
            dd = [r for r in v if r["architecture"] == a and r["kind"] == "ddnn"]
            pi = [r for r in v if r["architecture"] == a and r["kind"] == "pinn"]
            if not dd and not pi: continue
            dm = float(dd[0]["val_mae"]) if dd else None
            pm = float(pi[0]["val_mae"]) if pi else None
            ratio = f"{pm / dm:.2f}" if dm and pm else "n/a"
            L.append(f"| {n} | {a} | {sci(dm)} | {sci(pm)} | {ratio} | {dd[0]['train_seconds'] if dd else 'n/a'} | "
                     f"{pi[0]['train_seconds'] if pi else 'n/a'} |")
    L.append("")
elif expected("fhn_scarce_10") is None:
    L.append("Not run.\n")
# 4. ITNN.
L.append("## ITNN rollouts\n")
it = rows("fhn_itnn")
L.append(status("fhn_itnn", it))
if it:
    roll = {}
    p = os.path.join(out, "fhn_itnn", "itnn.csv")
    for r in csv.DictReader(open(p)): roll[(r["architecture"], r["problem"])] = r
    L.append("9 architectures (the first of each zoo group + the published best) trained on the 1-ms update by MSE "
             "(4 000 steps, quick data) and rolled out from every validation start (A: 25 steps; B: 25 steps × 200 "
             "trajectories). MAE over the 1-ms outputs; diverged = max error > 0.1 without settling; false "
             "equilibrium = the last 3 steps move < 1e-3 while the end state is > 0.05 from the truth.\n")
    L.append("| problem | architecture | rollout MAE | max error | rollouts | diverged | false equilibria |\n|---|---|---|---|---|---|---|")
    for r in sorted(it, key=lambda r: (r["problem"], float(r["val_mae"]))):
        x = roll.get((r["architecture"], r["problem"]), {})
        L.append(f"| {r['problem']} | {r['architecture']} | {sci(r['val_mae'])} | {sci(r['val_max_error'])} | "
                 f"{x.get('rollouts', 'n/a')} | {x.get('diverged', 'n/a')} | {x.get('false_equilibria', 'n/a')} |")
    for prob in sorted({r["problem"] for r in it}):
        xs = [v for k, v in roll.items() if k[1] == prob]
        L.append(f"\nProblem {prob}: {sum(int(v['diverged']) for v in xs)} diverged and "
                 f"{sum(int(v['false_equilibria']) for v in xs)} false equilibria in "
                 f"{sum(int(v['rollouts']) for v in xs)} rollouts; DDNN quick-sweep median for comparison: "
                 + sci(statistics.median([float(r['val_mae']) for r in q if r['problem'] == prob])) if q else "")
    L.append("")
elif expected("fhn_itnn") is None:
    L.append("Not run.\n")
# 5. Bench.
L.append("## Inference time against the vectorised Euler solver (`fhn bench`)\n")
bench = []
for run in ("fhn_a_best", "fhn_b_best", "fhn_a_silu"):
    p = os.path.join(out, run, "bench.json")
    if os.path.exists(p) and os.path.getsize(p) > 0: bench.append((run, json.load(open(p))))
if bench:
    L.append("`samples` trajectories (Latin-hypercube starts; problem A: its fixed start) over 50 ms with outputs every "
             "1 ms (50 network evaluations per sample in one batch), 1 thread for both. Errors against Euler at "
             "Δt 0.01 over the 50 outputs (the networks were trained on t ≤ 25 ms; the column 't ≤ 25' restricts "
             "to the training horizon). A time ratio is a benchmark figure of this loaded machine.\n")
    L.append("| run | problem | kind | architecture | samples | network s | MAE | MAE t ≤ 25 | Euler Δt 0.1 s | its MAE | Euler Δt 0.01 s | network / Euler 0.1 | network / Euler 0.01 |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for run, b in bench:
        L.append(f"| {run} | {b['problem']} | {b['kind']} | {b['architecture']} | {b['samples']} | {b['surrogate_seconds']:.3f} | "
                 f"{sci(b['surrogate_mae'])} | {sci(b['surrogate_mae_horizon'])} | {b['euler_0.1_seconds']:.3f} | "
                 f"{sci(b['euler_0.1_mae'])} | {b['euler_0.01_seconds']:.3f} | {b['ratio_euler_0.1']:.1f} | "
                 f"{b['ratio_euler_0.01']:.2f} |")
    L.append("")
else:
    L.append("Not run.\n")
open(page + ".tmp", "w").write("\n".join(L) + "\n")
os.replace(page + ".tmp", page)
PY
echo "wrote $res/fhn_surrogates.md" >&2

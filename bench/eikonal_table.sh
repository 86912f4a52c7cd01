#!/usr/bin/env bash
# Builds and runs the Eikonal benchmarks and writes bench/results/eikonal.md:
# time per solve, time per node, speed-up 1→2 threads, error against |x − x₀|/v per mesh size,
# the fim-python reference case (CLI `solve --json` on the same mesh), scikit-fmm on the same problem as a
# grid (bench/skfmm_cube.py, needs Debian python3-scikit-fmm), Dijkstra, batch throughput, and
# the adjoint (recorded solve + vector–Jacobian product) against the plain solve.
#
# usage: bench/eikonal_table.sh [BUILD_DIR]   (default build-bench, configured Release without LibTorch
#        if it does not exist yet; an existing build directory is used as configured)
# env:   METAEIK_BATCH_MESH=path.vtu  mesh for the batch benchmark (default meshes/biv_2k.vtu; if it is
#        missing, a 2 000-node BiV is generated with `metaeikonal mesh generate --shape biv`)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${1:-$ROOT/build-bench}"
OUT="$ROOT/bench/results/eikonal.md"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMETAEIK_WITH_TORCH=OFF \
    -DMETAEIK_BUILD_TESTS=OFF -DMETAEIK_BUILD_BENCH=ON >/dev/null
fi
ninja -C "$BUILD" metaeik_bench_eikonal metaeikonal >/dev/null
BENCH="$BUILD/bench/metaeik_bench_eikonal"
CLI="$BUILD/tools/metaeikonal"

# Batch mesh: the shipped 2 000-node BiV, else a freshly generated one.
BATCH_NOTE=""
if [[ -z "${METAEIK_BATCH_MESH:-}" ]]; then
  if [[ -f "$ROOT/meshes/biv_2k.vtu" ]]; then
    export METAEIK_BATCH_MESH="$ROOT/meshes/biv_2k.vtu"
  else
    "$CLI" -q mesh generate --shape biv -n 2000 -o "$WORK/biv_2k.vtu"
    export METAEIK_BATCH_MESH="$WORK/biv_2k.vtu"
    BATCH_NOTE="meshes/biv_2k.vtu was not in the tree; generated with \`metaeikonal mesh generate --shape biv -n 2000\` (seed 0)"
  fi
fi

# Waiting OpenMP threads sleep instead of spinning: on a shared machine a spinning thread steals the
# core its partner needs at the next barrier.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
# Three repetitions; the table keeps the fastest of each (the machine may be shared).
"$BENCH" --benchmark_repetitions="${REPETITIONS:-3}" --benchmark_out="$WORK/bench.json" \
  --benchmark_out_format=json >"$WORK/bench.txt" 2>&1 || {
  cat "$WORK/bench.txt"; exit 1; }
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# The fim-python reference case through the CLI: side 50 mm, 41³ vertices, corner source, 1 thread.
"$BENCH" --write_cube=40:"$WORK/cube41.vtu"
for i in 1 2 3; do
  "$CLI" -q solve "$WORK/cube41.vtu" --speed 0.6 --source 0 --threads 1 -o "$WORK/at41.vtu" --json >>"$WORK/cli.jsonl"
done

# The second peer, in the same run: scikit-fmm (Debian python3-scikit-fmm) on the same cube as a 41³ grid.
: >"$WORK/skfmm.jsonl"
for py in python3 /usr/bin/python3; do
  if "$py" -c "import numpy, skfmm" 2>/dev/null; then
    "$py" "$ROOT/bench/skfmm_cube.py" 3 >"$WORK/skfmm.jsonl"
    break
  fi
done

python3 - "$WORK/bench.json" "$WORK/cli.jsonl" "$OUT" "$LOAD_BEFORE" "$LOAD_AFTER" "$BATCH_NOTE" "$OMP_WAIT_POLICY" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$WORK/skfmm.jsonl" <<'PY'
import json, sys, re
bench_json, cli_jsonl, out, load_before, load_after, batch_note, wait_policy, commit, skfmm_jsonl = sys.argv[1:10]
data = json.load(open(bench_json))
ctx = data["context"]
runs = {}
for b in data["benchmarks"]:
    if b.get("run_type", "iteration") != "iteration":
        continue
    name = b.get("run_name", b["name"])
    if name not in runs or b["real_time"] < runs[name]["real_time"]:
        runs[name] = b

def find(prefix):
    return [b for n, b in runs.items() if n.startswith(prefix)]

def ms(b, key="real_time"):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b[key] * scale

lines = []
w = lines.append
w("# Eikonal solver benchmarks")
w("")
w(f"Written by `bench/eikonal_table.sh` (commit {commit}, {ctx.get('date', '')}); each row is the fastest of "
  f"{max(b.get('repetitions', 1) for b in data['benchmarks'])} repetitions.")
w(f"Machine: {ctx.get('num_cpus')} CPUs at {ctx.get('mhz_per_cpu')} MHz, "
  f"load average {load_before} before and {load_after} after the run "
  f"(the machine is shared; wall times under load are pessimistic), OMP_WAIT_POLICY={wait_policy}.")
w("")
w("Meshes: Kuhn-split cubes (6 tets per cell, side 50 mm), corner source at (0, 0, 0), v = 0.6 mm/ms, "
  "default options (tolerance 1e-6 ms, automatic band, exact start ball of 5 cells around the source). "
  "Error = max over nodes of |T − |x − x₀|/v|.")
w("")
w("## One FIM solve")
w("")
w("| cells/axis | nodes | tets | threads | wall ms/solve | CPU ms/solve (main thread) | µs/node (wall) | µs/node (CPU) | speed-up 1→2 (wall) | work split 1→2 (main-thread CPU) | max error ms | max T ms | error % of max T | sweeps | node updates/node |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
cube = {}
for b in find("BM_FimCube/"):
    m = re.match(r"BM_FimCube/(\d+)/(\d+)", b["name"])
    cube[(int(m.group(1)), int(m.group(2)))] = b
for (cells, threads), b in sorted(cube.items()):
    one = cube.get((cells, 1))
    speedup = f"{ms(one) / ms(b):.2f}×" if threads == 2 and one else ""
    split = f"{ms(one, 'cpu_time') / ms(b, 'cpu_time'):.2f}×" if threads == 2 and one else ""
    wall = ms(b)
    w(f"| {cells} | {int(b['nodes'])} | {int(b['tets'])} | {threads} | {wall:.1f} | {ms(b, 'cpu_time'):.1f} | "
      f"{wall * 1e3 / b['nodes']:.2f} | {ms(b, 'cpu_time') * 1e3 / b['nodes']:.2f} | {speedup} | {split} | "
      f"{b['max_err_ms']:.3f} | {b['max_time_ms']:.1f} | "
      f"{100 * b['max_err_ms'] / b['max_time_ms']:.2f} | {int(b['iterations'])} | {b['node_updates'] / b['nodes']:.2f} |")
w("")
w("Work split: single-thread CPU time / main-thread CPU time with 2 threads, i.e. how evenly the sweep "
  "work is shared — the wall-clock speed-up two dedicated cores would give, less barrier waits.")
w("")
sizes = sorted({c for c, t in cube if c != 40})
if len(sizes) >= 2 and all((c, 1) in cube for c in sizes):
    for key, what in (("real_time", "wall"), ("cpu_time", "CPU")):
        per_node = [ms(cube[(c, 1)], key) / cube[(c, 1)]["nodes"] for c in sizes]
        w(f"Single-thread {what} time per node from {int(cube[(sizes[0], 1)]['tets'])} to "
          f"{int(cube[(sizes[-1], 1)]['tets'])} tets: " + ", ".join(f"{1e3 * p:.2f} µs" for p in per_node)
          + f" (largest/smallest ratio {max(per_node) / min(per_node):.2f}).")
        w("")
    w("")

w("## Centre source, 61³ vertices (issue acceptance: max error < 2 % of the largest arrival time)")
w("")
w("| split | nodes | tets | solve ms (1 thread) | max error ms | max T ms | error % of max T |")
w("|---|---|---|---|---|---|---|")
for b in find("BM_FimCentre61/"):
    w(f"| {b.get('label', '')} | {int(b['nodes'])} | {int(b['tets'])} | {ms(b):.0f} | {b['max_err_ms']:.3f} | "
      f"{b['max_time_ms']:.2f} | {100 * b['max_err_ms'] / b['max_time_ms']:.2f} |")
w("")
w("The Kuhn split has all cell diagonals along (1,1,1); fronts travelling across that diagonal (the octants "
  "(−,+,+) etc. of a centre source) are resolved worse than along it (the corner source above travels along it): "
  "there the error grows like log(distance from the source), by about 0.3 h/v per doubling of the distance. "
  "The mirrored split alternates the diagonal from cell to cell and is accurate in every octant. The exact start "
  "ball (FimOptions::source_radius, default 5 cells: nodes near the source start from t0 + |x − x₀|/v where the "
  "speed is constant) removes the start of that growth.")
w("")
w("## Reference points: fim-python 1.2.2 and scikit-fmm on the same problem")
w("")
cli = [json.loads(l) for l in open(cli_jsonl) if l.strip()]
best = min(c["solve_seconds"] for c in cli)
ref = cube.get((40, 1))
w("Cube of side 50 mm, 41³ vertices (68 921 nodes, 384 000 tets), corner source, v = 0.6 mm/ms.")
w("")
w("| solver | solve time | max error ms |")
w("|---|---|---|")
w("| fim-python 1.2.2 (issue's measurement; not installable here: no PyPI) | 21.5 s | 1.07 |")
peers = [json.loads(l) for l in open(skfmm_jsonl) if l.strip()]
for p in peers:
    w(f"| scikit-fmm {p['version']} (this run, order {p['order']}, 41³ grid, best of 3; bench/skfmm_cube.py) | "
      f"{p['seconds']:.3f} s | {p['max_err_ms']:.3f} |")
if not peers:
    w("| scikit-fmm: not run (no Python with numpy and skfmm; Debian python3-scikit-fmm) | | |")
if ref:
    w(f"| ours, benchmark, 1 thread (wall) | {ms(ref) / 1e3:.3f} s | {ref['max_err_ms']:.3f} |")
w(f"| ours, `metaeikonal solve --threads 1 --json`, `solve_seconds` (best of {len(cli)}) | {best:.3f} s "
  "(all: " + ", ".join("%.3f" % c["solve_seconds"] for c in cli) + ") | same solver |")
for p in peers if ref else []:
    w(f"| ratio ours (benchmark) / scikit-fmm order {p['order']} | {ms(ref) / 1e3 / p['seconds']:.2f}× | "
      f"{p['max_err_ms'] / ref['max_err_ms']:.2f}× our error |")
dij = find("BM_DijkstraCube/40")
if dij:
    w(f"| Dijkstra (mesh edges), 1 thread | {ms(dij[0]) / 1e3:.3f} s | {dij[0]['max_err_ms']:.3f} |")
w("")

w("## Batch throughput (`solve_batch`, 64 solves: 2 speed fields × random origins)")
w("")
if batch_note:
    w(f"Note: {batch_note}.")
    w("")
w("| mesh | nodes | tets | threads | solves/s (wall) | solves/s per thread | solves per CPU-second | node updates/node |")
w("|---|---|---|---|---|---|---|---|")
for b in sorted(find("BM_FimBatch/"), key=lambda b: b["threads"]):
    per_s = b["items_per_second"]
    cpu_s = ms(b, "cpu_time") / 1e3
    per_cpu = 64 / cpu_s if cpu_s > 0 else float("nan")
    w(f"| {b.get('label', '')} | {int(b['nodes'])} | {int(b['tets'])} | {int(b['threads'])} | {per_s:.0f} | "
      f"{per_s / b['threads']:.0f} | {per_cpu:.0f} | {b['node_updates_per_node']:.2f} |")
w("")
w("(Google Benchmark's CPU time counts the main thread only, so \"solves per CPU-second\" is meaningful for 1 thread.)")
w("")

w("## Adjoint: recorded solve and vector–Jacobian product (issue 13)")
w("")
w("One thread. `solve`: plain FIM; `recorded solve`: the same solve also recording each node's origin "
  "(`FimSolver::solve(speed, sources, record)`); `vjp`: `FimSolver::vjp(record, dL/dT)` (dL/dT = 1 on every "
  "node). Cube: 41³ vertices, corner source, v = 0.6; BiV: the batch mesh, one source, v = 0.6·(1 + 0.5 sin(0.2x)).")
w("")
w("| mesh | nodes | tets | solve ms | recorded solve ms | vjp ms | vjp / solve | (recorded solve + vjp) / solve |")
w("|---|---|---|---|---|---|---|---|")
adj = {}
for b in find("BM_FimAdjoint/"):
    m = re.match(r"BM_FimAdjoint/(\d)/(\d)", b["name"])
    adj[(int(m.group(1)), int(m.group(2)))] = b
for mesh in (0, 1):
    if all((mesh, k) in adj for k in range(3)):
        s0, s1, s2 = (ms(adj[(mesh, k)]) for k in range(3))
        name = adj[(mesh, 0)].get("label", "").rsplit(",", 1)[0]
        w(f"| {name} | {int(adj[(mesh, 0)]['nodes'])} | {int(adj[(mesh, 0)]['tets'])} | {s0:.2f} | {s1:.2f} | "
          f"{s2:.3f} | {s2 / s0:.2f}× | {(s1 + s2) / s0:.2f}× |")
w("")
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
PY

#!/usr/bin/env bash
# The FitzHugh–Nagumo surrogate runs behind bench/results/fhn_surrogates.md (then run
# bench/fhn_table.sh). Usage: bench/fhn_runs.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, out)
# Every step resumes or skips work already done, so the script can be re-run after an interrupt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out=${2:-$root/out}
cli="$build/tools/metaeikonal"
[[ -x "$cli" ]] || { echo "error: $cli not built" >&2; exit 1; }
cd "$root"
mkdir -p "$out"
"$cli" fhn zoo -o "$out/fhn_zoo.csv"                                  # the 800 architectures
"$cli" fhn sweep -c configs/fhn/quick.json -o "$out/fhn_quick"        # 41 archs x {A, B}, DDNN
"$cli" fhn report "$out/fhn_quick"                                    # summary + figures (also if unfinished)
for n in 10 100 1000; do                                              # DDNN vs PINN, data-scarce A
  "$cli" fhn sweep -c "configs/fhn/scarce_$n.json" -o "$out/fhn_scarce_$n"
done
"$cli" fhn sweep -c configs/fhn/itnn_quick.json -o "$out/fhn_itnn"    # ITNN rollouts on A and B
# The published best architecture (SiLU64-Sigmoid64-Sigmoid64) with the full problem-B budget;
# FHN_B_ITERATIONS caps it (it checkpoints every 5000 steps and resumes).
b_args=()
[[ -n "${FHN_B_ITERATIONS:-}" ]] && b_args=(--iterations "$FHN_B_ITERATIONS")
if [[ -f "$out/fhn_b_best/state.json" ]]; then
  "$cli" fhn train -c configs/fhn/problem_b.json -o "$out/fhn_b_best" --resume "${b_args[@]}"
else
  "$cli" fhn train -c configs/fhn/problem_b.json -o "$out/fhn_b_best" "${b_args[@]}"
fi
# The best quick-sweep architecture of problem A (chosen on validation MAE), retrained for timing.
best_a=$(awk -F, '$7 == "a" && NR > 1 {print $8, $1}' "$out/fhn_quick/results.csv" | sort -g | head -1 | cut -d' ' -f2)
[[ -f "$out/fhn_a_best/model.pt" ]] ||
  "$cli" fhn train -c configs/fhn/quick_a.json --architecture "$best_a" -o "$out/fhn_a_best"
# The published best architecture on A with the quick budget (10 000 steps), for timing.
[[ -f "$out/fhn_a_silu/model.pt" ]] ||
  "$cli" fhn train -c configs/fhn/quick_a.json --iterations 10000 -o "$out/fhn_a_silu"
samples=${FHN_BENCH_SAMPLES:-100000}
for run in fhn_a_best fhn_b_best fhn_a_silu; do                       # samples x 50 ms
  "$cli" -q fhn bench -m "$out/$run" --samples "$samples" --threads 1 --json > "$out/$run/bench.json"
done

#!/usr/bin/env bash
# The main job on the built-in defaults: everything lands in out/default/ (open the .vtu/.pvd
# files in ParaView).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cli=build/tools/metaeikonal
out=out/default
mkdir -p "$out"
"$cli" mesh generate --shape lv --nodes 2000 --seed 0 -o "$out/lv.vtu"
"$cli" mesh generate --shape biv --nodes 2000 --seed 0 -o "$out/biv.vtu"
"$cli" mesh info "$out/lv.vtu" "$out/biv.vtu"

# Meta-PINN on the default dataset: generate → quick training → personalise held-out maps
# (.vtu + .json) → evaluation tables (summary.md / metrics.csv). Skipped without LibTorch.
if "$cli" train --help >/dev/null 2>&1; then
  [ -f "$out/dataset/manifest.json" ] || "$cli" dataset generate -o "$out/dataset" --force
  [ -f "$out/metapinn/last.pt" ] || "$cli" train -c configs/train/quick.json -d "$out/dataset" -o "$out/metapinn"
  ds="$out/dataset"
  for s in 0 5 10 15; do   # subject s: maps 20s..20s+7 train, +8..+9 val, +10..+19 test (manifest order)
    b=$((20 * s))
    "$cli" personalize -m "$out/metapinn" --checkpoint last \
      --context "$ds#$b" "$ds#$((b + 1))" "$ds#$((b + 2))" "$ds#$((b + 3))" "$ds#$((b + 4))" \
      --query "$ds#$((b + 10))" -o "$out/metapinn/personalized_subject${s}_map$((b + 10)).vtu"
  done
  "$cli" evaluate -m "$out/metapinn" -d "$ds" --k 5 --split test --checkpoint last
fi

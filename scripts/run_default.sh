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

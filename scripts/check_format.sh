#!/usr/bin/env bash
# Fails (non-zero exit, one line per file) when a tracked C++ file differs from .clang-format.
# Fix with: clang-format -i --style=file <files>
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
bad=0
for f in "${files[@]}"; do
  if ! clang-format --style=file "$f" | cmp -s - "$f"; then
    echo "check_format: $f is not formatted (clang-format -i --style=file $f)" >&2
    bad=$((bad + 1))
  fi
done
if [ "$bad" -gt 0 ]; then
  echo "check_format: $bad of ${#files[@]} files differ from .clang-format" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"

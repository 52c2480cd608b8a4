#!/usr/bin/env bash
# Test strength: cargo-mutants on the modules where a wrong number costs users most.
# Slow (each mutant is a build and a test run): not part of .ci/run. Usage:
#   scripts/mutants.sh [MODULE...]     default: all of the list below
# Runs in a scratch clone beside this one (so ../shared is beside it, and --in-place keeps
# the paths the data tests use), narrowing each module's tests to those that cover it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v cargo-mutants >/dev/null || cargo install cargo-mutants
scratch="$(dirname "$root")/qkdbench-mutants"
rm -rf "$scratch"
git clone -q "$root" "$scratch"
cd "$scratch"
# module file, the package whose tests cover it (--test-package; several separated by commas), test
# arguments.
modules=(
  "engine/src/finite_key.rs engine --test finite_key --lib"
  "engine/src/sift.rs engine --lib"
  "engine/src/clock.rs engine --lib"
  "engine/src/windows.rs engine --lib"
  "engine/src/characterise.rs engine --lib"
  "drivers/src/protocol/tag_stream.rs drivers --lib"
  "recordings/src/import/ptu.rs recordings --test import --test ptu_built"
  "recordings/src/import/timestamp7.rs recordings --test import --test timestamp7_built"
  "recordings/src/writer.rs recordings,harness --lib --test record --test events --test reserve --test convert"
)
want=("$@")
for m in "${modules[@]}"; do
  read -r file pkg args <<<"$m"
  if ((${#want[@]})) && [[ ! " ${want[*]} " == *" $file "* ]]; then continue; fi
  echo "== $file"
  start=$(date +%s)
  # The writer's tests are also the harness's (through the binary): a comma-separated list
  # names several packages (cargo-mutants 27 otherwise tests only the mutated package).
  where=()
  IFS=, read -ra pkgs <<<"$pkg"
  for p in "${pkgs[@]}"; do where+=(--test-package "$p"); done
  # Its baseline tests only the mutated package, where those test names do not all exist:
  # skipped (CI runs the unmutated tests).
  if ((${#pkgs[@]} > 1)); then where+=(--baseline skip); fi
  # SHARD=i/n narrows a large module to a sample (e.g. SHARD=0/4).
  cargo mutants --in-place --no-shuffle -f "$file" "${where[@]}" ${SHARD:+--shard "$SHARD"} --timeout 300 -- $args \
    | tail -n 3 || true
  echo "   $(( $(date +%s) - start )) s"
  # Keep each module's lists (cargo-mutants reuses mutants.out).
  keep="$root/target/mutants/$(basename "$file" .rs)"
  rm -rf "$keep" && mkdir -p "$keep" && cp mutants.out/*.txt mutants.out/outcomes.json "$keep"/ 2>/dev/null || true
  echo "   lists kept in $keep"
done

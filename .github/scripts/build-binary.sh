#!/usr/bin/env bash
# Build the `pivot` binary with `deno compile`, and its sha256 file.
#
#   .github/scripts/build-binary.sh [TARGET]
#
# TARGET is a Rust target triple (x86_64-unknown-linux-gnu, aarch64-apple-darwin, …);
# without it, the binary is for this machine. Writes dist/pivot-TARGET (or dist/pivot)
# and dist/pivot-TARGET.sha256 ("<hex>  pivot-TARGET", for `sha256sum -c`).
#
# The binary embeds Pivot's sources (--include) and, to run a user's pipeline,
# re-executes them with the `deno` on PATH (or PIVOT_DENO): a compiled binary
# cannot import files created after it was built (lib/cli/launcher.ts).
set -euo pipefail
cd "$(dirname "$0")/../.."
deno=${DENO:-deno}
target=${1:-}
name=pivot${target:+-$target}
mkdir -p dist
"$deno" compile -A --unstable-kv --unstable-worker-options \
  --include lib/ --include mod.ts --include deno.json --include deno.lock \
  ${target:+--target "$target"} -o "dist/$name" cli.ts
# sha256sum on Linux, shasum on macOS: the same output format.
if command -v sha256sum > /dev/null; then sha256=(sha256sum); else sha256=(shasum -a 256); fi
(cd dist && "${sha256[@]}" "$name" > "$name.sha256")

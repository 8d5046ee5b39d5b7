#!/usr/bin/env bash
# Test a built `pivot` binary on a real pipeline, as a user would run it:
#
#   .github/scripts/test-binary.sh dist/pivot-x86_64-unknown-linux-gnu
#
# Checks its sha256 file, that it says how to get Deno when none is found
# (exit 2), and that with Deno on PATH it creates a project, runs its
# pipeline, and then finds nothing to run.
set -euo pipefail
binary=$(realpath "$1")
(cd "$(dirname "$binary")" && sha256sum -c "$(basename "$binary").sha256")
chmod +x "$binary"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export XDG_CACHE_HOME="$work/cache" NO_COLOR=1

"$binary" --version

# Without deno: one line saying how to get it, exit 2.
set +e
message=$(env -u PIVOT_DENO PATH=/nonexistent "$binary" repro 2>&1)
status=$?
set -e
echo "$message"
if [ "$status" -ne 2 ] || [ "$(wc -l <<<"$message")" -ne 1 ] || ! grep -q "deno" <<<"$message"; then
  echo "expected one line naming deno and exit 2, got exit $status" >&2
  exit 1
fi

# With deno: a real pipeline, then nothing to run.
"$binary" init --example
"$binary" repro
second=$("$binary" repro --json | tail -n 1)
echo "$second"
grep -q '"type":"summary"' <<<"$second"
grep -q '"ran":0' <<<"$second"
test -f build/summary.json
"$binary" status

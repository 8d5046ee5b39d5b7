#!/usr/bin/env bash
# Publish Pivot's two JSR packages; release.yml runs this, and
# tests/dist/release_test.ts runs it against a registry on loopback.
#
# The root deno.json is itself a package (@pivot/core) as well as the
# workspace root, and `deno publish` in a directory that is a package
# publishes only that package. So: the core from the root, then @pivot/cli
# from its own directory (it imports the core just published, whose version
# JSR checks when it accepts the upload).
#
# Arguments are passed to both `deno publish` runs (e.g. --token, --dry-run);
# DENO names the deno binary (default: the one on PATH).
set -euo pipefail
cd "$(dirname "$0")/../.."
deno=${DENO:-deno}
"$deno" publish "$@"
(cd packages/cli && "$deno" publish "$@")

#!/usr/bin/env bash
# Sets up a fresh machine and runs the whole test suite (unit, storage conformance against a local
# directory and a real S3 API server, end to end against real PostgreSQL clusters).
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM=$(bash scripts/setup.sh --tests)
exec "$PNPM" test "$@"

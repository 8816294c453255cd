#!/usr/bin/env bash
# Backup speed through the Kubernetes exec transport (test API server, TLS, websockets v5) against
# the same backup on the local host, in the same run. Prints the ratio (target >= 0.8).
set -euo pipefail
cd "$(dirname "$0")/../.."
BENCH_KUBERNETES=1 exec npx vitest run --project core-integration packages/core/test/integration/kubernetes-backup-restore.test.ts -t "bench: backup speed" --reporter verbose

#!/usr/bin/env node
// The AWS SDK versions are pinned (they support Node 20); its notice about future releases needing
// Node 22 is noise on an operator's stderr and in scripts that expect a clean one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// First, before any module loads: the streaming commands run with V8 tuned for throughput.
const { favourStreamingThroughputGc } = await import('../dist/gcTuning.js');
favourStreamingThroughputGc(process.argv.slice(2));

// PostgreSQL runs wal-push / wal-fetch once per WAL segment: skip oclif and load only what they use.
// Everything else is oclif (bundled: a CommonJS package, hence .default), which loads the command
// from bundle/ (scripts/bundle.mjs).
const [topic, command, ...rest] = process.argv.slice(2);
if (topic === 'database' && (command === 'wal-push' || command === 'wal-fetch') && !rest.some((a) => a === '--help' || a === '-h')) {
  const { runWalPush, runWalFetch } = await import('../bundle/walFastPath.js');
  process.exitCode = await (command === 'wal-push' ? runWalPush(rest) : runWalFetch(rest));
} else {
  const { execute } = (await import('../bundle/oclif.js')).default;
  await execute({ dir: import.meta.url });
}

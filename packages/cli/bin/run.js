#!/usr/bin/env node
// The AWS SDK versions are pinned (they support Node 20); its notice about future releases needing
// Node 22 is noise on an operator's stderr and in scripts that expect a clean one.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });

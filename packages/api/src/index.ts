/** The Hono HTTP API comes in its own issue; this package builds so the workspace is whole. */
export const API_PACKAGE = '@llm-analytics/api';

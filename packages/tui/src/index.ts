/** The Ink terminal UI comes in its own issue; this package builds so the workspace is whole. */
export const TUI_PACKAGE = '@llm-analytics/tui';

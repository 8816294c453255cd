/** The Ink terminal UI: a thin frontend over the core engines, with its deps injected. */
export { App, type AppProps } from './App.js';
export { coreDeps, type CoreContext } from './coreDeps.js';
export type { RestorableWindow, RestoreRequest, TuiDeps, VerifyReport } from './deps.js';
export { runTui, type LaunchOptions } from './launch.js';

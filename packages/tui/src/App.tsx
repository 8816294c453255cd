import { Box, useApp, useStdout } from 'ink';
import { useKeyDispatch, useKeys } from './components/useKeys.js';
import { Component, useCallback, useEffect, useState, type ReactNode } from 'react';
import type { BackupMetadata } from '@llm-analytics/core';
import type { SortKey } from './catalogModel.js';
import { ErrorPanel } from './components/ErrorPanel.js';
import type { TuiDeps } from './deps.js';
import type { Nav, Route, Size } from './nav.js';
import { BackupScreen } from './screens/Backup.js';
import { CatalogScreen, type CatalogView } from './screens/Catalog.js';
import { DetailsScreen } from './screens/Details.js';
import { HelpScreen } from './screens/Help.js';
import { RestoreWizard } from './screens/Restore.js';
import { VerifyScreen } from './screens/Verify.js';
import { ThemeContext, themeFor } from './theme.js';

export interface AppProps {
  deps: TuiDeps;
  noColor?: boolean;
  /** Fixed terminal size (tests); default: the terminal's, following resizes. */
  size?: Size;
}

type Catalog = { state: 'loading' } | { state: 'loaded'; backups: BackupMetadata[] } | { state: 'failed'; error: unknown };

export function App({ deps, noColor = false, size: fixedSize }: AppProps) {
  const { exit } = useApp();
  const { KeyTarget, target } = useKeyDispatch();
  const terminalSize = useTerminalSize();
  const size = fixedSize ?? terminalSize;
  const [stack, setStack] = useState<Route[]>([{ name: 'catalog' }]);
  const [catalog, setCatalog] = useState<Catalog>({ state: 'loading' });
  const [view, setView] = useState<CatalogView>({ cursor: 0, offset: 0, sort: 'newest' as SortKey, filter: '' });

  const reload = useCallback(() => {
    deps.loadCatalog().then(
      (backups) => setCatalog({ state: 'loaded', backups }),
      (error: unknown) => setCatalog({ state: 'failed', error }),
    );
  }, [deps]);
  useEffect(reload, [reload]);

  const nav: Nav = {
    push: (route) => setStack((routes) => [...routes, route]),
    back: () => setStack((routes) => (routes.length > 1 ? routes.slice(0, -1) : routes)),
    quit: () => exit(),
    reload,
  };
  const route = stack[stack.length - 1]!;
  const backups = catalog.state === 'loaded' ? catalog.backups : [];
  const find = (id: string) => backups.find((backup) => backup.id === id);

  let screen: ReactNode;
  if (route.name === 'help') screen = <HelpScreen nav={nav} size={size} />;
  else if (route.name === 'backup') screen = <BackupScreen deps={deps} nav={nav} size={size} />;
  else if (route.name === 'catalog' || !find(route.id)) {
    screen = <CatalogScreen deps={deps} nav={nav} size={size} catalog={catalog} view={view} onView={setView} />;
  } else if (route.name === 'details') screen = <DetailsScreen deps={deps} nav={nav} size={size} backup={find(route.id)!} backups={backups} />;
  else if (route.name === 'verify') screen = <VerifyScreen deps={deps} nav={nav} size={size} backup={find(route.id)!} />;
  else screen = <RestoreWizard deps={deps} nav={nav} size={size} backup={find(route.id)!} />;

  return (
    <ThemeContext.Provider value={themeFor(noColor)}>
      <KeyTarget.Provider value={target}>
        <Box flexDirection="column" width={size.columns}>
          <CrashBoundary key={stack.length} nav={nav}>
            {screen}
          </CrashBoundary>
        </Box>
      </KeyTarget.Provider>
    </ThemeContext.Provider>
  );
}

function useTerminalSize(): Size {
  const { stdout } = useStdout();
  const read = () => ({ columns: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState<Size>(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

/** A bug in a screen shows as an error panel, never as a stack trace over a broken terminal. */
class CrashBoundary extends Component<{ children: ReactNode; nav: Nav }, { error?: unknown }> {
  override state: { error?: unknown } = {};
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    if (this.state.error === undefined) return this.props.children;
    return <CrashedScreen error={this.state.error} nav={this.props.nav} />;
  }
}

function CrashedScreen({ error, nav }: { error: unknown; nav: Nav }) {
  useKeys((input, key) => {
    if (key.escape) nav.back();
    if (input === 'q' || (key.ctrl && input === 'c')) nav.quit();
  });
  return <ErrorPanel error={error} footer="Esc back · q quit" />;
}

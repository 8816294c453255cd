import { Box, Text } from 'ink';
import { useKeys } from '../components/useKeys.js';
import { KeyBar } from '../components/KeyBar.js';
import type { Nav, Size } from '../nav.js';
import { useTheme } from '../theme.js';

const HELP: readonly (readonly [string, string])[] = [
  ['↑ ↓  j k', 'move the selection'],
  ['PgUp PgDn', 'page up / down (also Ctrl-B / Ctrl-F)'],
  ['g  G', 'first / last backup'],
  ['Enter', 'details of the selected backup'],
  ['/', 'filter: words, db:NAME, status:NAME, type:NAME (Esc clears)'],
  [':', 'jump to a row number or to text in a backup id'],
  ['s', 'cycle the sort: newest, oldest, largest, database, status'],
  ['v', 'verify the selected backup (t there: with a test restore)'],
  ['r', 'restore to a data directory or a Kubernetes namespace (wizard)'],
  ['b', 'take a backup of the configured database'],
  ['R', 'reload the catalog from the repository'],
  ['Esc', 'back'],
  ['Ctrl-C', 'cancel a running operation (asks first); quit otherwise'],
  ['q', 'quit'],
];

export function HelpScreen({ nav, size }: { nav: Nav; size: Size }) {
  const theme = useTheme();
  useKeys((input, key) => {
    if (key.ctrl && input === 'c') return nav.quit();
    if (key.escape || input === '?' || input === 'q' || key.return) nav.back();
  });
  return (
    <Box flexDirection="column">
      <Text bold color={theme.accent}>
        Keys
      </Text>
      {HELP.slice(0, Math.max(1, size.rows - 4)).map(([keys, action]) => (
        <Text key={keys} wrap="truncate">
          <Text bold>{keys.padEnd(12)}</Text> {action}
        </Text>
      ))}
      <Text> </Text>
      <KeyBar keys={[['Esc', 'back']]} />
    </Box>
  );
}

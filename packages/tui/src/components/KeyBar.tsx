import { Text } from 'ink';
import { useTheme } from '../theme.js';

/** The bottom line: the keys that work on this screen. */
export function KeyBar({ keys }: { keys: readonly (readonly [string, string])[] }) {
  const theme = useTheme();
  return (
    <Text wrap="truncate">
      {keys.map(([key, action], index) => (
        <Text key={key}>
          {index > 0 ? '  ' : ''}
          <Text bold color={theme.accent}>
            {key}
          </Text>{' '}
          {action}
        </Text>
      ))}
    </Text>
  );
}

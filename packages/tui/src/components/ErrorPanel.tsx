import { Box, Text } from 'ink';
import { asBackupError } from '@llm-analytics/core';
import { useTheme } from '../theme.js';

/** A core error as the operator needs it: what happened, and what to do about it. */
export function ErrorPanel({ error, footer }: { error: unknown; footer?: string }) {
  const theme = useTheme();
  const failure = asBackupError(error);
  return (
    <Box flexDirection="column" borderStyle="round" borderColor={theme.bad} paddingX={1}>
      <Text bold color={theme.bad}>
        Error [{failure.code}]
      </Text>
      <Text>{failure.message}</Text>
      {failure.hint ? <Text>hint: {failure.hint}</Text> : null}
      {footer ? <Text color={theme.dim}>{footer}</Text> : null}
    </Box>
  );
}

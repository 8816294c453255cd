import { createInterface } from 'node:readline/promises';
import { BackupError } from '@llm-analytics/core';

/**
 * Asks on the terminal before a destructive step. Without a terminal there is nobody to ask:
 * refuse, and say how to proceed non-interactively.
 */
export async function confirmOnTerminal(question: string, action = 'restore'): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new BackupError('CONFIRMATION_REQUIRED', `Refusing to ${action} without confirmation: stdin is not a terminal.`, `Pass --force to ${action} without asking.`);
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${question} [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) {
      throw new BackupError('CONFIRMATION_REQUIRED', `${action[0]!.toUpperCase()}${action.slice(1)} not confirmed; nothing was changed.`, 'Answer "yes" to proceed, or pass --force.');
    }
  } finally {
    prompt.close();
  }
}

import { createContext, useContext } from 'react';

/** Colours by role; with NO_COLOR every role is undefined and the screens use bold/inverse only. */
export interface Theme {
  noColor: boolean;
  accent?: string;
  good?: string;
  bad?: string;
  warn?: string;
  dim?: string;
}

export function themeFor(noColor: boolean): Theme {
  if (noColor) return { noColor };
  return { noColor, accent: 'cyan', good: 'green', bad: 'red', warn: 'yellow', dim: 'gray' };
}

/** https://no-color.org: present and not empty disables colour. */
export function noColorRequested(env: NodeJS.ProcessEnv): boolean {
  return typeof env.NO_COLOR === 'string' && env.NO_COLOR !== '';
}

export const ThemeContext = createContext<Theme>(themeFor(false));
export const useTheme = () => useContext(ThemeContext);

export function statusColor(theme: Theme, status: string): string | undefined {
  if (status === 'Verified' || status === 'Completed' || status === 'pass') return theme.good;
  if (status === 'Failed' || status === 'fail') return theme.bad;
  if (status === 'InProgress' || status === 'warn') return theme.warn;
  return undefined;
}

export type Route =
  | { name: 'catalog' }
  | { name: 'details'; id: string }
  | { name: 'verify'; id: string }
  | { name: 'restore'; id: string }
  | { name: 'backup' }
  | { name: 'help' };

/** How a screen moves the app: push a screen, go back, quit, or reload the catalog after a change. */
export interface Nav {
  push(route: Route): void;
  back(): void;
  quit(): void;
  reload(): void;
}

export interface Size {
  columns: number;
  rows: number;
}

/** Ink redraws the whole screen (flicker) when the output is as tall as the terminal: stay one line short. */
export const usableRows = (size: Size) => Math.max(8, size.rows - 1);

/** Printable text typed into a field, without control characters (a paste arrives as one string). */
export function typedText(input: string): string {
  return [...input].filter((char) => char >= ' ' && char !== '\x7f').join('');
}

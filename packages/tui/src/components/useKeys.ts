import { useInput, type Key } from 'ink';
import { createContext, useContext, useRef } from 'react';

type KeyHandler = (input: string, key: Key) => void;

/**
 * Keys go to the screen rendered last. The App subscribes to Ink's input once; each screen sets
 * its handler while rendering. Subscribing per screen (Ink's useInput) happens in an effect, after
 * the screen is drawn: on a loaded machine the keys typed right after `r` would be lost, and a
 * handler could still hold the state from before the previous key.
 */
const KeyTarget = createContext<{ current?: KeyHandler }>({});

export function useKeys(handler: KeyHandler): void {
  useContext(KeyTarget).current = handler;
}

export function useKeyDispatch() {
  const target = useRef<{ current?: KeyHandler }>({}).current;
  useInput((input, key) => target.current?.(input, key));
  return { KeyTarget, target };
}

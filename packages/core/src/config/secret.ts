import { inspect } from 'node:util';

/**
 * A secret value (passphrase, password) that cannot leak by accident: JSON.stringify, template
 * strings and console.log/util.inspect all show "[redacted]". Only `reveal()` gives the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

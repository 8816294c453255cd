import { createHash, randomBytes, scrypt } from 'node:crypto';
import { DATA_KEY_BYTES, DEFAULT_KDF, SALT_BYTES } from './format.js';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * scrypt costs ~100 ms and 32 MiB per derivation by design; a restore or WAL replay reads many
 * objects written in one run (same salt), so derived keys are cached for the life of the process.
 * The cache is keyed by a digest, not by the passphrase itself, and holds promises so concurrent
 * readers of one run share a single derivation.
 */
const MAX_CACHED_KEKS = 32;
const kekCache = new Map<string, Promise<Buffer>>();
const runSalts = new Map<string, Buffer>();

function cacheKey(passphrase: string, salt: Buffer, params: ScryptParams): string {
  const secret = Buffer.from(passphrase, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(secret.length);
  return createHash('sha256')
    .update(length)
    .update(secret)
    .update(salt)
    .update(`${params.N}/${params.r}/${params.p}`)
    .digest('hex');
}

function scryptAsync(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // Node refuses scrypt when 128*N*r exceeds maxmem (default 32 MiB, exactly N=2^15 r=8), so
  // the bound is raised to what the parameters need plus headroom.
  const maxmem = 128 * params.N * params.r * 2 + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, DATA_KEY_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** The key-encryption key for (passphrase, salt, params), derived once per process. */
export function deriveKek(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const key = cacheKey(passphrase, salt, params);
  const cached = kekCache.get(key);
  if (cached) return cached;
  const derived = scryptAsync(passphrase, salt, params);
  derived.catch(() => kekCache.delete(key));
  if (kekCache.size >= MAX_CACHED_KEKS) {
    const oldest = kekCache.keys().next().value;
    if (oldest !== undefined) kekCache.delete(oldest);
  }
  kekCache.set(key, derived);
  return derived;
}

/** The salt new objects use in this process for this passphrase (see format.ts, "Keys"). */
export function runSalt(passphrase: string, params: ScryptParams = DEFAULT_KDF): Buffer {
  const key = cacheKey(passphrase, Buffer.alloc(0), params);
  let salt = runSalts.get(key);
  if (!salt) {
    salt = randomBytes(SALT_BYTES);
    runSalts.set(key, salt);
  }
  return salt;
}

/** For tests: forget cached keys so the next read derives again. */
export function clearKeyCache(): void {
  kekCache.clear();
  runSalts.clear();
}

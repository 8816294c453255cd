import {
  CIPHER,
  DATA_KEY_BYTES,
  ENCRYPTION_FORMAT_VERSION,
  ENCRYPTION_MAGIC,
  GCM_IV_BYTES,
  GCM_TAG_BYTES,
  LENGTH_PREFIX_BYTES,
  MAX_HEADER_JSON_LENGTH,
  NONCE_PREFIX_BYTES,
  SALT_BYTES,
  type EncryptionHeader,
} from './format.js';
import { dataCorrupt } from './pipelineErrors.js';

/** Bytes before the header JSON: magic and its u32 length. */
export const HEADER_PREFIX_BYTES = ENCRYPTION_MAGIC.length + LENGTH_PREFIX_BYTES;

/**
 * The total header size (magic ‖ length ‖ JSON) announced by the first 12 bytes of an object.
 * Validates the magic and bounds the length, so a damaged prefix fails before any buffering.
 */
export function headerLength(prefix: Buffer): number {
  if (prefix.length < HEADER_PREFIX_BYTES || !ENCRYPTION_MAGIC.equals(prefix.subarray(0, ENCRYPTION_MAGIC.length))) {
    throw dataCorrupt('The object does not start with the encryption header (magic "LLMAENC1"), but it was expected to be encrypted.');
  }
  const jsonLength = prefix.readUInt32BE(ENCRYPTION_MAGIC.length);
  if (jsonLength === 0 || jsonLength > MAX_HEADER_JSON_LENGTH) {
    throw dataCorrupt(`The encryption header announces ${jsonLength} bytes of JSON; a valid header has 1 to ${MAX_HEADER_JSON_LENGTH}.`);
  }
  return HEADER_PREFIX_BYTES + jsonLength;
}

/** Strict base64: Node's decoder silently skips bad characters, which would hide damage. */
function base64Bytes(value: unknown, field: string, min: number, max = min): Buffer {
  if (typeof value !== 'string') throw headerInvalid(`${field} is missing`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value || bytes.length < min || bytes.length > max) {
    throw headerInvalid(`${field} is not ${min === max ? min : `${min}-${max}`} bytes of base64`);
  }
  return bytes;
}

function headerInvalid(detail: string): Error {
  return dataCorrupt(`The encryption header of the object is damaged: ${detail}.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** scrypt cost bounds a reader accepts: generous for future tuning, small enough not to be a DoS. */
function checkKdf(kdf: unknown): void {
  if (!isObject(kdf) || kdf.name !== 'scrypt') throw headerInvalid('the key derivation is not scrypt');
  const { N, r, p } = kdf;
  const valid =
    Number.isInteger(N) && Number.isInteger(r) && Number.isInteger(p) &&
    (N as number) >= 2 ** 10 && (N as number) <= 2 ** 22 && ((N as number) & ((N as number) - 1)) === 0 &&
    (r as number) >= 1 && (r as number) <= 32 && (p as number) >= 1 && (p as number) <= 16 &&
    128 * (N as number) * (r as number) <= 1024 * 1024 * 1024;
  if (!valid) throw headerInvalid(`scrypt parameters N=${String(N)} r=${String(r)} p=${String(p)} are out of range`);
  base64Bytes(kdf.salt, 'kdf.salt', SALT_BYTES, 64);
}

/** Parses and validates a whole header (magic ‖ u32 length ‖ JSON) into its fields. */
export function parseEncryptionHeader(headerBytes: Buffer): EncryptionHeader {
  if (headerLength(headerBytes) !== headerBytes.length) {
    throw headerInvalid('its length prefix does not match its size');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(headerBytes.subarray(HEADER_PREFIX_BYTES).toString('utf8'));
  } catch {
    throw headerInvalid('it is not valid JSON');
  }
  if (!isObject(parsed)) throw headerInvalid('it is not a JSON object');
  if (parsed.v !== ENCRYPTION_FORMAT_VERSION) {
    throw headerInvalid(`format version ${String(parsed.v)} is not one this version can read (${ENCRYPTION_FORMAT_VERSION})`);
  }
  if (parsed.cipher !== CIPHER) throw headerInvalid(`cipher ${String(parsed.cipher)} is not ${CIPHER}`);
  checkKdf(parsed.kdf);
  const wrappedKey = parsed.wrappedKey;
  if (!isObject(wrappedKey)) throw headerInvalid('wrappedKey is missing');
  base64Bytes(wrappedKey.iv, 'wrappedKey.iv', GCM_IV_BYTES);
  base64Bytes(wrappedKey.data, 'wrappedKey.data', DATA_KEY_BYTES + GCM_TAG_BYTES);
  base64Bytes(parsed.noncePrefix, 'noncePrefix', NONCE_PREFIX_BYTES);
  return parsed as unknown as EncryptionHeader;
}

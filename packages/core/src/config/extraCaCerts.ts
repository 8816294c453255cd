import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { BackupError } from '../errors.js';

// Where the file comes from: DEFERRED_EXTRA_CA_CERTS_ENV (resolve.ts). Only the S3 and Kubernetes
// clients import this module (both loaded on first use): node:tls is not loaded for anything else.

/**
 * The certificates Node would trust with NODE_EXTRA_CA_CERTS=file: its bundled roots plus the
 * file's. For a TLS client's `ca` option, which replaces Node's default set rather than adding to it.
 */
export function trustWithExtraCaCerts(file: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new BackupError('INVALID_ARGUMENT', `Cannot read the extra CA certificates ${file} named by NODE_EXTRA_CA_CERTS (${reason}).`, 'Fix the path, or unset NODE_EXTRA_CA_CERTS.', { cause: error });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new BackupError('INVALID_ARGUMENT', `The extra CA certificates file ${file} named by NODE_EXTRA_CA_CERTS holds no PEM certificate.`, 'Point NODE_EXTRA_CA_CERTS at a PEM file (-----BEGIN CERTIFICATE-----), or unset it.');
  }
  return [...rootCertificates, pem];
}

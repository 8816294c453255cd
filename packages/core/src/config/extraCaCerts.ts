import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { BackupError } from '../errors.js';

/**
 * Where `bin/llm-analytics` moves NODE_EXTRA_CA_CERTS. Node reads and parses that file when the
 * process starts, before any code runs: ~0.1 s for a system bundle of ~150 certificates, a fifth
 * of a short command's start-up (and PostgreSQL starts wal-push once per WAL segment). Only the S3
 * client over HTTPS and the Kubernetes client use TLS; they read the file from here when they open.
 */
export const DEFERRED_EXTRA_CA_CERTS_ENV = 'LLM_ANALYTICS_EXTRA_CA_CERTS';

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

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificate {
  key: Buffer;
  /** The certificate (PEM); self-signed, so also the CA a client must trust. */
  certPem: string;
  /** Where certPem is, for a client's CA file (NODE_EXTRA_CA_CERTS, a kubeconfig). */
  certFile: string;
}

/** A self-signed certificate for 127.0.0.1, valid one day, written to dir (openssl). */
export function selfSignedCertificate(dir: string): TestCertificate {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(keyFile), certPem: readFileSync(certFile, 'utf8'), certFile };
}

import { manifestFilePath, parseManifest, verifyManifestChecksum, type BackupManifest } from '../postgres/manifest.js';
import { asBackupError } from '../errors.js';

/** What the tar held for one regular file: its size and the SHA-256 of its body. */
export interface FileDigest {
  size: number;
  sha256: string;
}

export interface ManifestComparison {
  ok: boolean;
  /** Files compared by size and SHA-256. */
  checkedFiles: number;
  checkedBytes: number;
  /** Files the manifest lists with another algorithm (or none): size compared only. */
  sizeOnlyFiles: number;
  problems: string[];
  manifest?: BackupManifest;
}

/**
 * Tar members that are not the data directory's files as the manifest lists them, the same as
 * pg_verifybackup's ignore list: the manifest itself and the WAL pg_basebackup -X fetch adds.
 */
function isOutsideManifest(path: string): boolean {
  return path === 'backup_manifest' || path === 'pg_wal' || path.startsWith('pg_wal/');
}

/**
 * The checks pg_verifybackup makes on a backup directory, on the files as they streamed by: the
 * manifest's own checksum, then every listed file present with its size and checksum, and no
 * unlisted file.
 */
export function compareWithManifest(manifestBytes: Buffer | undefined, files: ReadonlyMap<string, FileDigest>): ManifestComparison {
  const result: ManifestComparison = { ok: false, checkedFiles: 0, checkedBytes: 0, sizeOnlyFiles: 0, problems: [] };
  if (!manifestBytes) {
    result.problems.push('the archive holds no backup_manifest');
    return result;
  }
  try {
    verifyManifestChecksum(manifestBytes);
    result.manifest = parseManifest(manifestBytes);
  } catch (error) {
    result.problems.push(`backup_manifest: ${asBackupError(error).message}`);
    return result;
  }
  const listed = new Set<string>();
  for (const file of result.manifest.Files) {
    const path = manifestFilePath(file);
    listed.add(path);
    const found = files.get(path);
    if (!found) {
      result.problems.push(`${path} is listed in backup_manifest but missing from the archive`);
      continue;
    }
    if (found.size !== file.Size) {
      result.problems.push(`${path} is ${found.size} bytes, backup_manifest says ${file.Size}`);
      continue;
    }
    if (file['Checksum-Algorithm']?.toUpperCase() === 'SHA256' && file.Checksum) {
      if (file.Checksum.toLowerCase() !== found.sha256) result.problems.push(`${path}: SHA-256 ${found.sha256} differs from backup_manifest's ${file.Checksum.toLowerCase()}`);
      else {
        result.checkedFiles += 1;
        result.checkedBytes += found.size;
      }
    } else {
      result.sizeOnlyFiles += 1;
    }
  }
  for (const path of files.keys()) {
    if (!listed.has(path) && !isOutsideManifest(path)) result.problems.push(`${path} is in the archive but not in backup_manifest`);
  }
  result.ok = result.problems.length === 0;
  return result;
}

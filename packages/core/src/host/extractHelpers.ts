import { BackupError } from '../errors.js';

/** Who the extracted files belong to, when this process runs as root for another account. */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** The archive's permission bits without setuid/setgid/sticky (tar's default as a normal user). */
export function permissions(mode: number, fallback: number): number {
  return (mode & 0o777) || fallback;
}

/**
 * Helpers of the extracting worker threads (tarExtractor.ts, frameExtractor.ts), as source text:
 * `fs` and `dirname` must be in scope where it is placed.
 */
export const WORKER_FILE_HELPERS_SOURCE = `
${String(permissions)}

/** Opens a file for writing, replacing a symlink or creating missing parent directories. */
function openReplacing(path, flags) {
  try {
    return fs.openSync(path, flags, 0o600);
  } catch (error) {
    if (error.code === 'ELOOP') fs.unlinkSync(path);
    else if (error.code === 'ENOENT') fs.mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    else throw error;
    return fs.openSync(path, flags, 0o600);
  }
}

/** Creates a link where something may already be (tar -x replaces it). */
function replacing(path, create) {
  try {
    create();
  } catch (error) {
    if (error.code !== 'EEXIST') throw error;
    fs.unlinkSync(path);
    create();
  }
}

/** Opens a member's file for writing with its permission bits, given to \`owner\` if set. */
function openMemberFile(path, flags, mode, owner) {
  const fd = openReplacing(path, flags);
  fs.fchmodSync(fd, mode);
  if (owner) fs.fchownSync(fd, owner.uid, owner.gid);
  return fd;
}

/** Makes a member's symbolic link, replacing what is there, given to \`owner\` if set. */
function makeMemberSymlink(path, target, owner) {
  replacing(path, () => fs.symlinkSync(target, path));
  if (owner) fs.lchownSync(path, owner.uid, owner.gid);
}
`;

/** Runs a file system step on the main thread, turning its failure into extractError. */
export function guarded(path: string, work: () => void): void {
  try {
    work();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw extractError(path, reason, error);
  }
}

export function extractError(path: string, reason: string, cause?: unknown): BackupError {
  return new BackupError('HOST_COMMAND_FAILED', `Could not extract ${path} from the backup: ${reason}.`, 'Check free space and permissions of the target directory.', { cause });
}

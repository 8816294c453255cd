import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupError } from '../errors.js';
import type { Host } from '../host/host.js';
import { createFrameReader } from '../pipeline/index.js';
import { isHistoryFileName, isWalSegmentName, parseWalSegmentName, walSegmentNumber } from '../postgres/lsn.js';
import type { ProgressSink } from '../progress.js';
import type { Storage } from '../storage/storage.js';
import type { BackupMetadata } from '../types/metadata.js';
import { listArchivedWal, walChainFrom, type ArchivedWalFile } from '../wal/walChain.js';
import { parseWalObjectKey } from '../wal/walKeys.js';
import type { PitrTarget } from './recovery.js';

/**
 * WAL for a server that cannot run this tool's wal-fetch (a pod: no node, no CLI, no repository
 * credentials). The archived files recovery may ask for are copied into a directory beside the
 * data directory before the server starts, and restore_command becomes `cp <dir>/%f %p`:
 * - every `.history` file (PostgreSQL reads the backup timeline's history and, when it promotes,
 *   probes the next timelines' to pick a free one — a restored copy must not reuse a timeline a
 *   previous restore archived);
 * - the segments of the backup's timeline from its start segment through the end of the unbroken
 *   chain after its end segment, or only through the target's segment for an LSN target (time,
 *   xid and name targets cannot be placed without reading WAL: through the chain's end).
 * The files travel as one tar stream into `tar -x` on the host, decoded (decrypted, decompressed)
 * here one file at a time: memory holds one segment.
 */
export function walFilesToStage(files: readonly ArchivedWalFile[], base: BackupMetadata, target?: PitrTarget): ArchivedWalFile[] {
  if (!base.startWalSegment || !base.endWalSegment) return [];
  const start = parseWalSegmentName(base.startWalSegment);
  const chain = walChainFrom(files, base.endWalSegment);
  if (!chain.lastSegment) return files.filter((file) => isHistoryFileName(file.fileName));
  let last = parseWalSegmentName(chain.lastSegment).segmentNumber;
  if (target?.kind === 'lsn') {
    const targetSegment = walSegmentNumber(target.lsn);
    if (targetSegment < last) last = targetSegment;
  }
  return files.filter((file) => {
    if (isHistoryFileName(file.fileName)) return true;
    if (!isWalSegmentName(file.fileName)) return false;
    const segment = parseWalSegmentName(file.fileName);
    return segment.timeline === start.timeline && segment.segmentNumber >= start.segmentNumber && segment.segmentNumber <= last;
  });
}

export async function stageWal(
  base: BackupMetadata,
  directory: string,
  options: { target?: PitrTarget; passphrase?: string; signal?: AbortSignal },
  deps: { storage: Storage; host: Host; progress: ProgressSink },
): Promise<{ files: number; rawBytes: number }> {
  if (!base.systemIdentifier) throw new BackupError('METADATA_INVALID', `Backup ${base.id} records no system identifier, so its archived WAL cannot be found.`, 'Restore with --no-wal-replay.');
  const files = walFilesToStage(await listArchivedWal(deps.storage, base.systemIdentifier), base, options.target);
  let rawBytes = 0;
  async function* tarStream(): AsyncGenerator<Buffer> {
    for (const file of files) {
      const name = parseWalObjectKey(file.key);
      if (name.encrypted && !options.passphrase) {
        throw new BackupError('ENCRYPTION_KEY_MISSING', `The archived WAL file ${file.key} is encrypted and no encryption key is configured.`, 'Set BACKUP_ENCRYPTION_PASSPHRASE or pass --encryption-key-file FILE.');
      }
      const reader = createFrameReader({ compression: name.compression, passphrase: name.encrypted ? options.passphrase : undefined, encrypted: name.encrypted, signal: options.signal });
      const chunks: Buffer[] = [];
      reader.on('data', (chunk: Buffer) => chunks.push(chunk));
      await pipeline(await deps.storage.get(file.key, { signal: options.signal }), reader);
      const body = Buffer.concat(chunks);
      rawBytes += body.length;
      deps.progress({ phase: 'restore', message: `Staging WAL ${name.fileName}` });
      yield tarHeader(name.fileName, body.length);
      yield body;
      if (body.length % 512) yield Buffer.alloc(512 - (body.length % 512));
    }
    yield Buffer.alloc(1024); // end-of-archive: tar stops here even where stdin cannot be closed (v4)
  }
  const tar = deps.host.execSink(['sh', '-c', 'mkdir -p -- "$1" && chmod 700 -- "$1" && exec tar -x -f - -C "$1"', 'sh', directory], { signal: options.signal });
  try {
    await pipeline(Readable.from(tarStream()), tar.stdin, { signal: options.signal });
  } catch (error) {
    await tar.done.catch(() => undefined);
    throw error;
  }
  const result = await tar.done;
  if (result.exitCode !== 0) {
    throw new BackupError('HOST_COMMAND_FAILED', `tar could not write the staged WAL into ${directory} on ${deps.host.description}: ${result.stderr.trim()}`, 'Check free space and permissions beside the data directory.');
  }
  return { files: files.length, rawBytes };
}

/** A ustar header for a regular file (mode 0600). */
function tarHeader(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number) => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  field(0, 100, name);
  octal(100, 8, 0o600);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(Date.now() / 1000));
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

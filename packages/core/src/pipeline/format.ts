/**
 * The stored format of every data object (base backup tar, WAL segment). This is a repository
 * format: objects written today must stay readable by every later version, so this comment is the
 * specification and changing anything below means a new `v` / `formatVersion`.
 *
 * ## Frames
 * The raw stream is cut into frames of `frameSize` raw bytes (default 8 MiB; 1 KiB to 64 MiB);
 * the last frame is shorter, and readers need not know frameSize. Each frame is compressed on
 * its own, with no state shared between frames, so any frame can be decoded alone (parallel
 * ranged GETs on restore):
 *   - zstd: one zstd frame (RFC 8878) with the content size and the XXH64 content checksum set;
 *   - gzip: one gzip member (RFC 1952), which carries its own CRC-32 and length;
 *   - lz4:  one LZ4 frame (lz4 frame format 1.6.x, magic 0x184D2204), independent blocks,
 *           content checksum set;
 *   - none: the raw bytes of the frame.
 * An empty raw stream is stored as one frame holding zero raw bytes (an empty zstd frame, an empty
 * gzip member, an empty LZ4 frame), because `zstd -d` and `gzip -d` reject a zero-byte file; with
 * `none` it is stored as zero frames.
 *
 * ## Unencrypted objects
 * The compressed frames concatenated, nothing else. The object is therefore a valid `.tar.zst`,
 * `.tar.gz` or `.tar.lz4` (`zstd -d`, `gzip -d`, `lz4 -d` decode all concatenated frames) or, for
 * `none`, the raw stream itself.
 *
 * ## Encrypted objects (AES-256-GCM, authenticated)
 *   header  = "LLMAENC1" (8 ASCII bytes, ENCRYPTION_MAGIC)
 *             u32 big-endian length L of the header JSON (1 ≤ L ≤ 65536)
 *             L bytes of UTF-8 JSON:
 *               {"v":1,"cipher":"aes-256-gcm",
 *                "kdf":{"name":"scrypt","N":32768,"r":8,"p":1,"salt":"<base64, 16 bytes>"},
 *                "wrappedKey":{"iv":"<base64, 12 bytes>","data":"<base64, 32+16 bytes>"},
 *                "noncePrefix":"<base64, 4 bytes>"}
 *             (writers emit exactly this key order without whitespace; readers accept any JSON
 *             layout because they authenticate the bytes as stored, never a re-serialisation)
 *   chunk i = u32 big-endian ciphertext length C (0 ≤ C ≤ 67698688, the worst-case compressed
 *             size of a 64 MiB frame; readers refuse larger values before buffering them)
 *             C bytes of ciphertext
 *             16-byte GCM tag
 *   object  = header ‖ chunk 0 ‖ chunk 1 ‖ … ‖ chunk n-1 ‖ final chunk n
 *
 * Chunk i (i = 0 … n-1) seals compressed frame i; its plaintext is never empty. The final chunk
 * has C = 0 and final-flag 1; every other chunk has final-flag 0. Nothing may follow the final
 * chunk.
 *
 * Keys: each object has a fresh random 32-byte data key. It is stored in `wrappedKey.data` as
 * AES-256-GCM(key = KEK, nonce = wrappedKey.iv, no AAD, plaintext = data key) ‖ its 16-byte tag.
 * KEK = scrypt(passphrase as UTF-8, salt, N, r, p, 32 bytes). A writer draws one random salt per
 * (passphrase, N, r, p) per process, so the objects of one run share the KEK and a reader that
 * caches KEKs derives it once; the data keys stay distinct per object. Readers take the scrypt
 * costs from the header and accept N = 2^10…2^22 (a power of two), r ≤ 32, p ≤ 16 and
 * 128·N·r ≤ 1 GiB, so the costs can be raised later without a new version.
 *
 * Chunk sealing: AES-256-GCM with the data key,
 *   nonce(i) = noncePrefix (4 bytes) ‖ u64 big-endian i                          (12 bytes)
 *   AAD(i)   = SHA-256(header bytes) ‖ u64 big-endian i ‖ u8 final-flag           (41 bytes)
 * where "header bytes" are all bytes before chunk 0: magic ‖ u32 L ‖ header JSON. The digest binds
 * every chunk to this object's header, the counter fixes each chunk's position (reordering,
 * dropping, or splicing chunks fails authentication), and the final flag makes truncation at a
 * chunk boundary detectable.
 *
 * ## Frame index (recorded in backup metadata, FrameIndexEntry)
 * One entry per frame, in order: rawOffset/rawLength locate the frame's bytes in the raw stream;
 * storedOffset/storedLength locate the compressed frame in the object (unencrypted) or the whole
 * sealed chunk including its 4-byte length prefix and 16-byte tag (encrypted). For an encrypted
 * object the header occupies [0, frames[0].storedOffset), and the frame at index i is chunk i.
 * A base backup's entries may also carry `tar`: where the frame's first raw byte falls in the tar
 * (TarPosition: at a member header, with a pending long name; inside a regular file's body, with
 * the file's path, size, mode, mtime and the body offset, padding counted; after the end marker).
 * Writers record it for every frame or for none (none when some frame starts inside an extension
 * header, or when members depend on each other: a hard link, a path met twice). Readers that
 * ignore it lose nothing; a restore uses it to extract frames in parallel, and checks that each
 * frame ends where the next one is recorded to start. Optional, so no new version: older objects
 * simply lack it.
 */

export const ENCRYPTION_MAGIC = Buffer.from('LLMAENC1', 'ascii');
export const ENCRYPTION_FORMAT_VERSION = 1;
export const CIPHER = 'aes-256-gcm';

export const DEFAULT_FRAME_SIZE = 8 * 1024 * 1024;
/** Frames are buffered whole (to compress, to authenticate), so their size bounds memory. */
export const MIN_FRAME_SIZE = 1024;
export const MAX_FRAME_SIZE = 64 * 1024 * 1024;

/** Header JSON is a few hundred bytes; the bound makes a damaged length field fail fast. */
export const MAX_HEADER_JSON_LENGTH = 64 * 1024;
/**
 * Worst-case compressed size of a MAX_FRAME_SIZE frame (zstd, gzip and LZ4 all expand
 * incompressible input by well under 1/128 plus a constant). A reader refuses longer chunks before
 * buffering them, so a damaged length prefix cannot make it allocate gigabytes.
 */
export const MAX_CHUNK_CIPHERTEXT_LENGTH = MAX_FRAME_SIZE + MAX_FRAME_SIZE / 128 + 64 * 1024;

export const LENGTH_PREFIX_BYTES = 4;
export const GCM_TAG_BYTES = 16;
export const GCM_IV_BYTES = 12;
export const NONCE_PREFIX_BYTES = 4;
export const DATA_KEY_BYTES = 32;

/** scrypt parameters for new objects: N=2^15, r=8 needs 32 MiB, so maxmem is raised (see kdf.ts). */
export const DEFAULT_KDF = { name: 'scrypt', N: 2 ** 15, r: 8, p: 1 } as const;
export const SALT_BYTES = 16;

/** The fields of the header JSON, after parsing and validation. */
export interface EncryptionHeader {
  v: 1;
  cipher: typeof CIPHER;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  wrappedKey: { iv: string; data: string };
  noncePrefix: string;
}

/** Sniffs whether an object starts with the encryption magic; needs its first 8 bytes. */
export function isEncrypted(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < ENCRYPTION_MAGIC.length) return false;
  return ENCRYPTION_MAGIC.equals(firstBytes.subarray(0, ENCRYPTION_MAGIC.length));
}

/** The streaming data pipeline: frames, compression, encryption, hashing (format in format.ts). */
export { createFrameWriter, type FrameWriter, type FrameWriterOptions, type FrameWriterSummary, type ReadTarget } from './frameWriter.js';
export { createFrameReader, type FrameReader, type FrameReaderOptions, type FrameReaderSummary } from './frameReader.js';
export type { KeepFrame, TakeFrame } from './streamDecoders.js';
export { isEncrypted, DEFAULT_FRAME_SIZE, ENCRYPTION_MAGIC } from './format.js';
export { decodeFrame, DEFAULT_LEVELS } from './codecs.js';
export { openObjectKey, openFrame, type ObjectKey } from './encryption.js';
export { headerLength } from './encryptionHeader.js';
export { clearKeyCache } from './kdf.js';

export type { GetOptions, ObjectInfo, PutOptions, Storage } from './storage.js';
export { FsStorage } from './fs.js';
// Types only: the SDK is loaded when an S3 repository is first used (lazyS3.ts).
export type { S3Storage, S3Credentials, S3StorageOptions, ServerSideEncryption } from './s3.js';
export { LazyS3Storage } from './lazyS3.js';
export {
  describeRepository,
  normalizePrefix,
  openStorage,
  parseRepositoryUrl,
  s3BucketNameProblem,
  type FsRepositorySpec,
  type OpenStorageOptions,
  type RepositorySpec,
  type S3RepositorySpec,
} from './repository.js';
export { assertValidKey, assertValidPrefix, compareKeys, exists, getJson, jsonBytes, putJson, readAll, streamToBuffer } from './objects.js';

export type { GetOptions, ObjectInfo, PutOptions, Storage } from './storage.js';
export { FsStorage } from './fs.js';
export { S3Storage, type S3Credentials, type S3StorageOptions, type ServerSideEncryption } from './s3.js';
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

export { verifyBackup, verifyAllBackups, type CheckSink, type VerifyOptions, type VerifyDeps, type VerifyResult, type VerifyAllResult } from './verify.js';
export { CHECK, CHECK_ORDER, type CheckName } from './checks.js';
export { compareWithManifest, type FileDigest, type ManifestComparison } from './manifestCheck.js';
export { metadataProblems, frameIndexProblems } from './metadataCheck.js';
export { judgeWal, type WalAssessment } from './walCheck.js';
export type { TestRestoreReport } from './testRestore.js';

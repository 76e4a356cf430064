// The one table of what the connector asks of S3 and KMS: each step, the actions it needs, on
// which resources, whether it is required, and why. `policy` prints IAM policies from it,
// `check` names the actions of a denied step from it, and docs/setup.md's example policy is
// `policy`'s output (test/unit/policy.test.ts compares them), so the three cannot disagree.

import type { Config } from '../config/config.js';
import { layoutPrefixes } from '../layout/locations.js';

/** Who holds the permission: the connector (`spec`/`check`/`write`) or a reader (`verify`, docs/reading.md). */
export type Holder = 'writer' | 'reader';

/** What a statement's resources are, resolved against a config by resourcesOf(). */
export type ResourceScope = 'data' | 'manifests' | 'check-objects' | 'bucket' | 'kms-key';

/** A step of the connector that talks to S3 or KMS. */
export type Step =
  | 'upload-data-file'
  | 'put-manifest'
  | 'check-upload-test-file'
  | 'check-put-test-manifest'
  | 'check-delete-test-objects'
  | 'encrypt-with-kms'
  | 'abort-failed-upload'
  | 'abort-stray-upload'
  | 'confirm-retried-completion'
  | 'verify-list-objects'
  | 'verify-read-objects'
  | 'verify-decrypt'
  | 'verify-list-uploads';

export interface Permission {
  /** The policy statement's Sid: names the purpose. */
  sid: string;
  holder: Holder;
  actions: readonly string[];
  scopes: readonly ResourceScope[];
  /** Required: the step fails without it. Optional: a rare case is handled less well (`without`). */
  required: boolean;
  /** Only for some configs (the KMS statements: sse_kms). */
  appliesTo?: (config: ExportConfig) => boolean;
  steps: readonly Step[];
  purpose: string;
  /** For optional permissions: what happens without them. */
  without?: string;
}

export type ExportConfig = Pick<Config, 'bucket' | 'folder' | 'manifestLocation' | 'namespaceLayout' | 'encryption'>;

const usesKms = (c: ExportConfig): boolean => c.encryption.mode === 'sse_kms';

/** In the order the policies list them: required statements first. */
export const PERMISSIONS: readonly Permission[] = [
  {
    sid: 'WriteTransferObjects',
    holder: 'writer',
    actions: ['s3:PutObject'],
    scopes: ['data', 'manifests'],
    required: true,
    steps: ['upload-data-file', 'put-manifest', 'check-upload-test-file', 'check-put-test-manifest'],
    purpose:
      "every data file and manifest, and the connection test's two objects. Files are multipart uploads: S3 authorises CreateMultipartUpload, UploadPart and CompleteMultipartUpload with s3:PutObject",
  },
  {
    sid: 'ConnectionTestCleanup',
    holder: 'writer',
    actions: ['s3:DeleteObject'],
    scopes: ['check-objects'],
    required: true,
    steps: ['check-delete-test-objects'],
    purpose:
      'the connection test (check) deletes the two _connection_check_ objects it wrote; syncs never delete, so this statement may be removed once check has passed',
  },
  {
    sid: 'UseTransferKmsKey',
    holder: 'writer',
    actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
    scopes: ['kms-key'],
    required: true,
    appliesTo: usesKms,
    steps: ['encrypt-with-kms'],
    purpose: 'S3 asks KMS for a data key for every object and multipart upload (GenerateDataKey) and decrypts it to add and complete parts (Decrypt)',
  },
  {
    sid: 'AbortFailedUploads',
    holder: 'writer',
    actions: ['s3:AbortMultipartUpload'],
    scopes: ['data'],
    required: false,
    steps: ['abort-failed-upload', 'abort-stray-upload'],
    purpose: 'when a sync fails or stops in the middle of a file, its multipart upload is aborted so that its parts are freed at once',
    without: 'the abort is denied and the parts stay (billed) until the lifecycle rule on incomplete multipart uploads removes them',
  },
  {
    sid: 'CleanUpStrayUploads',
    holder: 'writer',
    actions: ['s3:ListBucketMultipartUploads'],
    scopes: ['bucket'],
    required: false,
    steps: ['abort-stray-upload'],
    purpose: 'after a retried CreateMultipartUpload whose first answer was lost, the stray upload on the same key is found and aborted',
    without: "the lifecycle rule on incomplete multipart uploads removes the stray upload's parts",
  },
  {
    sid: 'ConfirmRetriedCompletion',
    holder: 'writer',
    actions: ['s3:GetObject'],
    scopes: ['data'],
    required: false,
    steps: ['confirm-retried-completion'],
    purpose:
      'when a retried CompleteMultipartUpload is answered NoSuchUpload because the first attempt completed it, HeadObject confirms the object has the bytes uploaded',
    without: "that sync fails with its own error instead, and the orchestrator's retry sends the rows again",
  },
  {
    sid: 'ListExportObjects',
    holder: 'reader',
    actions: ['s3:ListBucket'],
    scopes: ['bucket'],
    required: true,
    steps: ['verify-list-objects'],
    purpose: "list the manifests, and the data files that no manifest lists (verify), limited to the export's prefixes",
  },
  {
    sid: 'ReadExportObjects',
    holder: 'reader',
    actions: ['s3:GetObject'],
    scopes: ['data', 'manifests'],
    required: true,
    steps: ['verify-read-objects'],
    purpose: 'read the manifests and the data files (verify hashes every listed file)',
  },
  {
    sid: 'DecryptExportObjects',
    holder: 'reader',
    actions: ['kms:Decrypt'],
    scopes: ['kms-key'],
    required: true,
    appliesTo: usesKms,
    steps: ['verify-decrypt'],
    purpose: 'S3 decrypts SSE-KMS objects for the reader with the key',
  },
  {
    sid: 'ListOpenUploads',
    holder: 'reader',
    actions: ['s3:ListBucketMultipartUploads'],
    scopes: ['bucket'],
    required: false,
    steps: ['verify-list-uploads'],
    purpose: "verify counts the multipart uploads left open under the export's prefixes (by killed syncs)",
    without: 'verify says it could not count them',
  },
];

/** The permissions one holder needs for a config, in table order. */
export function permissionsFor(holder: Holder, config: ExportConfig): Permission[] {
  return PERMISSIONS.filter((p) => p.holder === holder && (p.appliesTo?.(config) ?? true));
}

/** The permission (of the writer, unless said) that a step needs. */
export function permissionForStep(step: Step): Permission {
  const found = PERMISSIONS.find((p) => p.steps.includes(step));
  if (!found) throw new Error(`No permission in the table for step ${step}`);
  return found;
}

/**
 * The prefixes an export writes, each '' or ending in '/': data files under `data`, manifests
 * under `manifests` (namespaced models below both). The one place `policy` and `verify` learn
 * them: src/layout/locations.ts decides.
 */
export function exportPrefixes(config: Pick<Config, 'folder' | 'manifestLocation' | 'namespaceLayout'>): { data: string; manifests: string } {
  return layoutPrefixes(config);
}

/** The name check's test objects start with (check.ts testKeys). */
export const CHECK_OBJECT_PREFIX = '_connection_check_';

const objectArn = (bucket: string, prefix: string, rest = '*'): string => `arn:aws:s3:::${bucket}/${prefix}${rest}`;

/** Drops prefixes that another in the list contains ('' contains all). */
function outermost(prefixes: string[]): string[] {
  const unique = [...new Set(prefixes)];
  return unique.filter((p) => !unique.some((q) => q !== p && p.startsWith(q)));
}

/** The ARNs of a permission's resources for a config. */
export function resourcesOf(p: Permission, config: ExportConfig): string[] {
  const { data, manifests } = exportPrefixes(config);
  const out: string[] = [];
  const objectPrefixes: string[] = [];
  for (const scope of p.scopes) {
    if (scope === 'data') objectPrefixes.push(data);
    else if (scope === 'manifests') objectPrefixes.push(manifests);
    else if (scope === 'check-objects') {
      for (const prefix of [data, manifests]) out.push(objectArn(config.bucket, prefix, `${CHECK_OBJECT_PREFIX}*`));
    } else if (scope === 'bucket') out.push(`arn:aws:s3:::${config.bucket}`);
    else if (scope === 'kms-key' && config.encryption.mode === 'sse_kms') out.push(config.encryption.kmsKeyArn);
  }
  return [...outermost(objectPrefixes).map((prefix) => objectArn(config.bucket, prefix)), ...out];
}

/** The `s3:prefix` values a ListBucket statement is limited to; undefined when the whole bucket is the export's. */
export function listPrefixesOf(config: ExportConfig): string[] | undefined {
  const { data, manifests } = exportPrefixes(config);
  const prefixes = outermost([data, manifests]);
  return prefixes.includes('') ? undefined : prefixes.map((p) => `${p}*`);
}

/** One line for a message: "s3:PutObject on arn:… (statement WriteTransferObjects)". */
export function describePermission(p: Permission, config: ExportConfig): string {
  return `${p.actions.join(' and ')} on ${resourcesOf(p, config).join(', ')} (statement ${p.sid})`;
}

// metadata.yaml is what a connector registry reads about the image: it must agree with
// package.json (version, name, license), spec/spec.json (documentation URL, capabilities) and
// Airbyte's metadata format (metadataSpecVersion 1.0: required keys, no unknown keys, enums).

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(resolve(ROOT, file), 'utf8');

const pkg = JSON.parse(read('package.json')) as { name: string; version: string; license: string };
const spec = JSON.parse(read('spec/spec.json')) as { documentationUrl: string; supportsDBT: boolean; supportsNormalization: boolean };
const doc = parseYaml(read('metadata.yaml')) as { metadataSpecVersion: unknown; data: Record<string, unknown> };
const data = doc.data;

/** Orchestrators key connector definitions on this id: it must never change. */
const DEFINITION_ID = '8082e1f6-ba51-4755-9438-b95e58490062';

// The format's keys under `data` (metadataSpecVersion 1.0); any other key is rejected.
const REQUIRED = [
  'name',
  'definitionId',
  'connectorType',
  'connectorSubtype',
  'dockerRepository',
  'dockerImageTag',
  'documentationUrl',
  'githubIssueLabel',
  'license',
  'releaseStage',
];
const OPTIONAL = [
  'icon',
  'connectorBuildOptions',
  'connectorTestSuitesOptions',
  'supportsDbt',
  'supportsNormalization',
  'externalDocumentationUrls',
  'maxSecondsBetweenMessages',
  'releaseDate',
  'protocolVersion',
  'erdUrl',
  'supportLevel',
  'tags',
  'registryOverrides',
  'allowedHosts',
  'releases',
  'normalizationConfig',
  'suggestedStreams',
  'resourceRequirements',
  'ab_internal',
  'remoteRegistries',
  'supportsRefreshes',
  'generated',
  'supportsFileTransfer',
  'supportsDataActivation',
  'connectorIPCOptions',
];

describe('metadata.yaml', () => {
  it('has the shape of Airbyte connector metadata 1.0: required keys, no unknown ones', () => {
    expect(Object.keys(doc).sort()).toEqual(['data', 'metadataSpecVersion']);
    expect(doc.metadataSpecVersion).toBe('1.0');
    for (const key of REQUIRED) expect(data, key).toHaveProperty(key);
    expect(Object.keys(data).filter((k) => !REQUIRED.includes(k) && !OPTIONAL.includes(k))).toEqual([]);
  });

  it('describes a file destination with a fixed definitionId', () => {
    expect(data.connectorType).toBe('destination');
    expect(data.connectorSubtype).toBe('file');
    expect(data.definitionId).toBe(DEFINITION_ID);
    expect(String(data.definitionId)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('names the image and version of package.json', () => {
    expect(data.dockerRepository).toBe(`airbyte/${pkg.name}`);
    expect(data.dockerImageTag).toBe(pkg.version);
    expect(data.githubIssueLabel).toBe(pkg.name);
    expect(data.license).toBe(pkg.license);
  });

  it('points at the documentation URL of spec/spec.json and states the spec capabilities', () => {
    expect(data.documentationUrl).toBe(spec.documentationUrl);
    expect(() => new URL(String(data.documentationUrl))).not.toThrow();
    expect(data.supportsDbt ?? false).toBe(spec.supportsDBT);
    expect(data.supportsNormalization ?? false).toBe(spec.supportsNormalization);
    // Generations are honoured, so refreshes are supported (docs/reading.md, "Sync modes and what
    // readers do").
    expect(data.supportsRefreshes).toBe(true);
  });

  it('points every project URL at one repository, whose files they name exist', () => {
    const urls = [String(data.documentationUrl), spec.documentationUrl, JSON.parse(read('spec/manifest.schema.json')).$id as string];
    const REPO = /^https:\/\/github\.com\/([^/]+\/[^/]+)\/blob\/main\/(.+)$/;
    const repos = new Set<string>();
    for (const url of urls) {
      const m = REPO.exec(url);
      expect(m, url).not.toBeNull();
      repos.add(m![1]!);
      expect(existsSync(resolve(ROOT, m![2]!)), url).toBe(true);
    }
    expect([...repos]).toEqual(['airbytehq/destination-s3-export']);
    // The repository is named like the image and the issue label.
    expect(`airbytehq/${pkg.name}`).toBe([...repos][0]);
  });

  it("asks the sync container for the memory that docs/operations.md recommends, in Airbyte's resourceRequirements format", () => {
    const requirements = data.resourceRequirements as {
      default?: unknown;
      jobSpecific: { jobType: string; resourceRequirements: Record<string, string> }[];
    };
    expect(Object.keys(requirements).every((k) => ['default', 'jobSpecific'].includes(k))).toBe(true);
    const JOB_TYPES = ['get_spec', 'check_connection', 'discover_schema', 'sync', 'reset_connection', 'connection_updater', 'replicate'];
    for (const job of requirements.jobSpecific) {
      expect(JOB_TYPES).toContain(job.jobType);
      for (const [key, value] of Object.entries(job.resourceRequirements)) {
        expect(['cpu_request', 'cpu_limit', 'memory_request', 'memory_limit']).toContain(key);
        expect(value, key).toMatch(/^\d+(\.\d+)?(Ki|Mi|Gi|m)?$/);
      }
    }
    const sync = requirements.jobSpecific.find((j) => j.jobType === 'sync')!.resourceRequirements;
    // docs/operations.md, Measured figures: "recommended container memory request / limit | 768 MiB / 1 GiB"
    const row = /\| recommended container memory request \/ limit \| (\d+) (MiB|GiB) \/ (\d+) (MiB|GiB)/.exec(read('docs/operations.md'));
    expect(row, 'the recommendation row of docs/operations.md').not.toBeNull();
    const quantity = (n: string, unit: string): string => `${n}${unit === 'MiB' ? 'Mi' : 'Gi'}`;
    expect(sync).toEqual({ memory_request: quantity(row![1]!, row![2]!), memory_limit: quantity(row![3]!, row![4]!) });
  });

  it('uses values the format allows for stage, support level, tags and test suites', () => {
    expect(['alpha', 'beta', 'generally_available', 'custom']).toContain(data.releaseStage);
    expect(['community', 'certified', 'archived']).toContain(data.supportLevel);
    expect(data.tags).toContain('language:typescript');
    const suites = (data.connectorTestSuitesOptions as { suite: string }[]).map((s) => s.suite);
    expect(new Set(suites).size).toBe(suites.length);
    for (const s of suites) expect(['unitTests', 'integrationTests', 'acceptanceTests', 'liveTests']).toContain(s);
    // The two suites this repository has (vitest projects `unit` and `integration`).
    expect(suites).toEqual(expect.arrayContaining(['unitTests', 'integrationTests']));
  });
});

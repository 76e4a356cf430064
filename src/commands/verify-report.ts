// The text of `verify`'s report (verify.ts builds it; `--json` prints it as it is). One line per
// transfer, one line per problem object, then the objects no manifest lists and the uploads left
// open, with what removes them.

import type { TransferReport, VerifyReport } from './verify.js';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function problemLine(p: TransferReport['problems'][number]): string {
  switch (p.problem) {
    case 'missing':
      return `missing  ${p.key} (the manifest lists ${p.expected_bytes} bytes)`;
    case 'size':
      return `size     ${p.key}: ${p.actual_bytes} bytes, the manifest lists ${p.expected_bytes}`;
    case 'sha256':
      return `sha256   ${p.key}: ${p.actual_sha256}, the manifest lists ${p.expected_sha256}`;
  }
}

export function renderVerifyText(r: VerifyReport): string {
  const where = (prefix: string): string => prefix || 'the bucket root';
  const scope = [r.model ? `model ${r.model}` : 'all models', r.since ? `transfers from ${r.since}` : 'all dates'].join(', ');
  const lines = [`verify s3://${r.bucket}: data under ${where(r.prefixes.data)}, manifests under ${where(r.prefixes.manifests)} (${scope})`, ''];
  if (r.models.length === 0) lines.push('No manifest found.', '');
  let transfers = 0;
  let damaged = 0;
  for (const { model, transfers: list } of r.models) {
    lines.push(model);
    for (const t of list) {
      transfers++;
      damaged += t.problems.length;
      const verdict = t.problems.length ? `${plural(t.problems.length, 'problem')}` : 'intact';
      lines.push(`  ${t.transfer_date}  ${t.transfer_id}  ${t.status.padEnd(11)}  ${plural(t.files, 'file')}, ${formatBytes(t.bytes)}: ${verdict}`);
      for (const p of t.problems) lines.push(`    ${problemLine(p)}`);
    }
    lines.push('');
  }
  if (r.unreadable_manifests.length) {
    lines.push(`Unreadable manifests: ${r.unreadable_manifests.length}`);
    for (const m of r.unreadable_manifests) lines.push(`  ${m.key}: ${m.problem}`);
    lines.push('');
  }
  if (r.unlisted.count) {
    lines.push(
      `Data objects that no manifest lists: ${r.unlisted.count} (${formatBytes(r.unlisted.bytes)}). They are not committed data: readers skip them (docs/reading.md, rule 1), and the source sent their rows again.`,
    );
    for (const o of r.unlisted.objects) {
      const owner = o.transfer_id
        ? `, transfer ${o.transfer_id}${o.transfer_in_progress ? ' (in progress: it may still be running and list this file later)' : ''}`
        : '';
      lines.push(`  ${o.key} (${formatBytes(o.bytes)}${owner})`);
    }
    lines.push(
      '  No lifecycle rule removes them (rules select by prefix, tag and age, and cannot tell them from committed files): delete them by hand once no transfer is running, if their bytes matter. verify deletes nothing.',
      '',
    );
  } else {
    lines.push('Data objects that no manifest lists: none.');
  }
  if ('error' in r.open_uploads) {
    lines.push(`Multipart uploads left open: not counted (${r.open_uploads.error})`);
  } else if (r.open_uploads.count) {
    lines.push(
      `Multipart uploads left open under the export's prefixes: ${r.open_uploads.count} (by killed or running syncs; their parts are billed). The lifecycle rule of docs/setup.md step 1 (incomplete multipart uploads, after 7 days) removes them.`,
    );
    for (const u of r.open_uploads.uploads) lines.push(`  ${u.key}${u.initiated ? ` (started ${u.initiated})` : ''}`);
  } else {
    lines.push('Multipart uploads left open: none.');
  }
  lines.push('');
  const checked = `${plural(r.checked.files, 'listed file')} (${formatBytes(r.checked.bytes)}) in ${plural(transfers, 'transfer')} of ${plural(r.models.length, 'model')}`;
  if (r.ok) lines.push(`OK: ${checked}: every one exists with its listed size and SHA-256.`);
  else {
    const parts = [];
    if (damaged) parts.push(`${damaged} of the ${checked} missing, of another size or of another SHA-256`);
    if (r.unreadable_manifests.length) parts.push(plural(r.unreadable_manifests.length, 'unreadable manifest'));
    lines.push(`PROBLEMS: ${parts.join('; ')}.`);
  }
  return lines.join('\n') + '\n';
}

// Plain terminal output for the demo: numbered steps, one live status line (redrawn in place on a
// terminal, printed now and then otherwise), an object tree and a text table.

const isTty = Boolean(process.stdout.isTTY) && process.env.TERM !== 'dumb' && !process.env.NO_COLOR;
const paint = (code) => (text) => (isTty ? `\x1b[${code}m${text}\x1b[0m` : String(text));
export const bold = paint('1');
export const dim = paint('2');
export const green = paint('32');
export const red = paint('31');
export const cyan = paint('36');

export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Numbered steps with their duration, and one status line that a step updates while it runs. */
export function createUi(totalSteps) {
  let step = 0;
  let stepStart = 0;
  let live = '';
  let lastPrinted = 0;
  const clearLive = () => {
    if (isTty && live) process.stdout.write('\r\x1b[2K');
    live = '';
  };
  return {
    step(title) {
      clearLive();
      step++;
      stepStart = Date.now();
      process.stdout.write(`\n${bold(`[${step}/${totalSteps}] ${title}`)}\n`);
    },
    /** Replaces the live status line (throttled to one line every 2 s when not on a terminal). */
    status(text) {
      if (isTty) {
        live = text;
        process.stdout.write(`\r\x1b[2K  ${dim(text)}`);
      } else if (Date.now() - lastPrinted >= 2000) {
        lastPrinted = Date.now();
        process.stdout.write(`  … ${text}\n`);
      }
    },
    /** A line of output (ends the live status line). */
    say(text = '') {
      clearLive();
      process.stdout.write(`${text ? `  ${text}` : ''}\n`);
    },
    /** Ends the step: its outcome and how long it took. */
    done(text) {
      clearLive();
      process.stdout.write(`  ${green('✓')} ${text} ${dim(`(${seconds(Date.now() - stepStart)})`)}\n`);
    },
    fail(text) {
      clearLive();
      process.stdout.write(`  ${red('✗')} ${text}\n`);
    },
  };
}

/** The keys as a directory tree, with each object's size. */
export function objectTree(objects, rootLabel) {
  const root = { dirs: new Map(), files: [] };
  for (const { key, size } of objects) {
    const parts = key.split('/');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.dirs.has(part)) node.dirs.set(part, { dirs: new Map(), files: [] });
      node = node.dirs.get(part);
    }
    node.files.push({ name: parts.at(-1), size });
  }
  const lines = [rootLabel];
  const walk = (node, prefix) => {
    const entries = [
      ...[...node.dirs.entries()].map(([name, child]) => ({ name: `${name}/`, child })),
      ...node.files.map((f) => ({ name: f.name, size: f.size })),
    ];
    entries.forEach((entry, i) => {
      const last = i === entries.length - 1;
      const size = entry.child ? '' : `  ${dim(formatBytes(entry.size))}`;
      lines.push(`${prefix}${last ? '└── ' : '├── '}${entry.child ? cyan(entry.name) : entry.name}${size}`);
      if (entry.child) walk(entry.child, `${prefix}${last ? '    ' : '│   '}`);
    });
  };
  walk(root, '');
  return lines;
}

/** Rows of objects as an aligned text table (values already strings). */
export function textTable(columns, rows) {
  const cell = (v) => (v === null || v === undefined ? 'NULL' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [bold(line(columns)), dim(widths.map((w) => '─'.repeat(w)).join('  ')), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))];
}

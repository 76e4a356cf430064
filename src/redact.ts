// The one redaction helper. Every string that leaves the process (stdout messages, stderr logs,
// error messages and stack traces) goes through a Redactor that knows the configured secrets and
// the temporary credentials obtained at run time.

const MASK = '**********';
/**
 * Secrets are masked wherever they occur from this length on. Shorter values are not masked:
 * masking "a" would mangle every message. So that every configured secret is masked, spec/spec.json
 * gives each airbyte_secret field this minLength and a config with a shorter one is refused
 * (test/unit/redact.test.ts ties the two). Secrets learnt at run time (STS, the environment) are
 * far longer in practice; docs/check.md says so.
 */
export const MIN_SECRET_LENGTH = 4;

/**
 * The userinfo of a URL ("http://user:password@host"): masked wherever it occurs, whoever wrote
 * it. Config validation refuses credentials in s3_endpoint; this is the second line of defence
 * (AWS_ENDPOINT_URL_STS, a URL quoted by a library). Greedy up to the last '@' before the path,
 * so that an unencoded '@' in a password is masked with the rest.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>\\]*@/gi;

export class Redactor {
  private readonly secrets = new Set<string>();

  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.add(s);
  }

  /** Registers a secret (a configured key, a session token from STS, …). */
  add(secret: string | undefined | null): void {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) return;
    this.secrets.add(secret);
    // A secret may also appear JSON-escaped or URL-encoded inside a message.
    const jsonForm = JSON.stringify(secret).slice(1, -1);
    if (jsonForm !== secret) this.secrets.add(jsonForm);
    const urlForm = encodeURIComponent(secret);
    if (urlForm !== secret) this.secrets.add(urlForm);
  }

  redact(text: string): string {
    let out = text;
    // Longest first so that a secret containing another is masked whole.
    for (const s of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(s)) out = out.split(s).join(MASK);
    }
    return out.replace(URL_USERINFO, `$1${MASK}@`);
  }
}

/** Names of the properties the spec marks `airbyte_secret: true`, at any depth (oneOf branches too). */
export function secretPropertyNames(schema: unknown): Set<string> {
  const names = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const props = (node as { properties?: Record<string, unknown> }).properties;
    if (props && typeof props === 'object') {
      for (const [name, sub] of Object.entries(props)) {
        if (sub && typeof sub === 'object' && (sub as { airbyte_secret?: unknown }).airbyte_secret === true) names.add(name);
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(schema);
  return names;
}

/** The string values of a config held under any of the given property names, at any depth. */
export function secretValuesIn(config: unknown, names: ReadonlySet<string>): string[] {
  const found: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (names.has(key) && typeof value === 'string') found.push(value);
      else visit(value);
    }
  };
  visit(config);
  return found;
}

/** The process-wide redactor: the stdout writer and stderr logger consult it. */
export const globalRedactor = new Redactor();

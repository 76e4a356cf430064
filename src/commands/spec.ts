import { loadSpec } from '../config/spec.js';
import type { MessageWriter } from '../protocol/output.js';

/** `spec`: prints the one SPEC message, straight from spec/spec.json. */
export async function runSpec(out: MessageWriter): Promise<void> {
  await out.send({ type: 'SPEC', spec: loadSpec() });
}

// Writes a stream's manifest: rewritten in place at each checkpoint with the files committed so
// far, and once more at the end with the final status (docs/layout.md, "Manifests").

import type { Config } from '../config/config.js';
import type { ObjectStore } from '../storage/port.js';
import { manifestKey, type TransferIdentity } from '../layout/index.js';
import { buildManifest, serializeManifest, type ManifestStatus } from './manifest.js';
import type { StreamSink } from './sink.js';

export class ManifestWriter {
  constructor(
    private readonly store: ObjectStore,
    private readonly config: Config,
    private readonly transfer: TransferIdentity,
    private readonly now: () => number,
  ) {}

  keyOf(sink: StreamSink): string {
    return manifestKey({
      location: this.config.manifestLocation,
      folder: this.config.folder,
      model: sink.model,
      transferDate: this.transfer.transferDate,
      transferId: this.transfer.transferId,
    });
  }

  async write(sink: StreamSink, status: ManifestStatus): Promise<void> {
    const manifest = buildManifest({
      stream: sink.configured,
      model: sink.model,
      transfer: this.transfer,
      format: this.config.format,
      columns: sink.converter.columns,
      files: sink.files,
      status,
      now: this.now,
    });
    await this.store.put(this.keyOf(sink), serializeManifest(manifest), { contentType: 'application/json' });
  }
}

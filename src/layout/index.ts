// Pure builders of where data lands (docs/layout.md): model names, transfer identity, object keys,
// the prefixes of a config and the checks that no two streams share a place.
export * from './model-name.js';
export * from './transfer.js';
export * from './keys.js';
export * from './locations.js';

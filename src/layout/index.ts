// Pure builders of where data lands (DESIGN §3): model names, transfer identity, object keys.
export * from './model-name.js';
export * from './transfer.js';
export * from './keys.js';

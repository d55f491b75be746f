/** The publisher's blob check: the fast path (stored bytes == encoded bytes) and its fallback. */
import { describe, expect, it } from 'vitest';
import { checkArtifactBlob } from '../../src/engine/gates';
import type { ArtifactHeader } from '../../src/io/artifacts/codec';
import { encodeArtifact } from '../../src/io/artifacts/codec';

const header: ArtifactHeader = {
  artifactType: 'popularity',
  payloadField: 'items',
  tenant: 't',
  surface: 's',
  segment: 'web',
  window: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
};
const payload = [
  { item_id: 'a', count: 3 },
  { item_id: 'b', count: 1 },
];
const { version, blob, sha256 } = encodeArtifact(header, payload, '2026-01-02T03:04:05Z');
const want = { ...header, version, maxRows: 10, maxItemsPerRow: Infinity, sha256 };
const codeOf = (f: () => void) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'ok';
};

describe('checkArtifactBlob', () => {
  it('accepts the encoded bytes on the fast path and on the full path', () => {
    expect(codeOf(() => checkArtifactBlob(blob, want, 'skip'))).toBe('ok');
    expect(codeOf(() => checkArtifactBlob(blob, { ...want, sha256: undefined }, 'inspect'))).toBe('ok');
  });

  it('accepts an earlier blob of the same version (other built_at) through the full check', () => {
    const earlier = encodeArtifact(header, payload, '2025-12-31T00:00:00Z').blob;
    expect(codeOf(() => checkArtifactBlob(earlier, want, 'skip'))).toBe('ok');
  });

  it('rejects a stored copy whose payload changed: the sha differs, the full check recomputes the version', () => {
    const tampered = Buffer.from(blob.toString('utf8').replace('"count": 3', '"count": 4'));
    expect(codeOf(() => checkArtifactBlob(tampered, want, 'skip'))).toBe('E_GATE');
  });

  it('rejects a blob of another window even when its bytes are the expected ones', () => {
    const other = { ...want, window: { start: '2026-01-02T00:00:00Z', end: '2026-01-03T00:00:00Z' } };
    expect(codeOf(() => checkArtifactBlob(blob, other, 'skip'))).toBe('E_GATE');
  });
});

import { describe, expect, it } from 'vitest';
import { encodePretty } from '../../../src/io/artifacts/go-json';
import { checkExistingBlob, objectKey } from '../../../src/io/store/object-store';

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));

function artifact(builtAt: string, count = 3): Uint8Array {
  return bytesOf(
    encodePretty({
      v: 1,
      artifact_type: 'popularity',
      tenant: 'demo',
      surface: 'home',
      window: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
      items: [{ item_id: 'a', count }],
      build: { built_at: builtAt, version: 'abc123', source_hash: 'abc123' },
    }),
  );
}

describe('objectKey', () => {
  it('is <tenant>/<surface>/<type>/<version>.json', () => {
    expect(objectKey('demo', 'home', 'cooc', 'abc123')).toBe('demo/home/cooc/abc123.json');
  });

  it('refuses parts that would escape the store folder', () => {
    expect(() => objectKey('..', 'home', 'cooc', 'v')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
    expect(() => objectKey('demo', 'a/b', 'cooc', 'v')).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });
});

describe('checkExistingBlob (every backend: an existing key offered again)', () => {
  const uri = 'file:///s/demo/home/popularity/abc123.json';

  it('accepts identical bytes, and the same artifact with another build.built_at', () => {
    expect(() => checkExistingBlob(bytesOf('same'), bytesOf('same'), uri, uri)).not.toThrow();
    expect(() => checkExistingBlob(artifact('2026-01-02T00:00:00Z'), artifact('2026-01-05T10:00:00Z'), uri, uri)).not.toThrow();
  });

  it('refuses other content with E_IO naming the blob', () => {
    const other = (offered: Uint8Array) => {
      try {
        checkExistingBlob(artifact('2026-01-02T00:00:00Z', 3), offered, uri, '/s/where');
      } catch (err) {
        return err as { code: string; message: string };
      }
      return null;
    };
    expect(other(artifact('2026-01-02T00:00:00Z', 4))).toMatchObject({
      code: 'E_IO',
      message: expect.stringContaining(`put /s/where: immutable blob ${uri} already exists`),
    });
    expect(other(bytesOf('not json'))?.code).toBe('E_IO');
  });
});

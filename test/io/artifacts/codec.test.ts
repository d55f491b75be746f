/** Byte-exact artifact encoding against the worked example's `*.hashed.json` files. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactHeader } from '../../../src/io/artifacts/codec';
import { hashedJson, sha256Hex, encodeArtifact } from '../../../src/io/artifacts/codec';
import { PAYLOAD_FIELD } from '../../support/reference';
import { EXAMPLE_EXPECTED } from '../../support/helpers';

const expectedDir = EXAMPLE_EXPECTED;
const hashed = readdirSync(expectedDir).filter((f) => f.endsWith('.hashed.json'));

/** The header fields of a stored blob, as written (snake_case). */
interface StoredHeader {
  artifact_type: ArtifactHeader['artifactType'];
  tenant: string;
  surface: string;
  segment?: string;
  window: ArtifactHeader['window'];
}

function headerOf(a: StoredHeader): ArtifactHeader {
  return {
    artifactType: a.artifact_type,
    payloadField: PAYLOAD_FIELD[a.artifact_type],
    tenant: a.tenant,
    surface: a.surface,
    segment: a.segment ?? '',
    window: a.window,
  };
}

describe('artifact encoding matches the Go tool', () => {
  it.each(hashed)('%s re-encodes to the same bytes and version', (file) => {
    const golden = readFileSync(join(expectedDir, file), 'utf8');
    const a = JSON.parse(golden);
    const payload = a[PAYLOAD_FIELD[a.artifact_type as keyof typeof PAYLOAD_FIELD]];
    expect(hashedJson(headerOf(a), payload)).toBe(golden);
    const published = readFileSync(join(expectedDir, file.replace('.hashed.', '.published.')), 'utf8');
    const builtAt = JSON.parse(published).build.built_at;
    const { version, blob } = encodeArtifact(headerOf(a), payload, builtAt);
    expect(version).toBe(sha256Hex(golden));
    expect(blob.toString('utf8')).toBe(published);
  });
});

describe('segment', () => {
  it('is omitted when empty', () => {
    const h: ArtifactHeader = { artifactType: 'popularity', payloadField: 'items', tenant: 't', surface: 's', segment: '', window: { start: 'a', end: 'b' } };
    expect(hashedJson(h, [])).toBe(
      '{"v":1,"artifact_type":"popularity","tenant":"t","surface":"s","window":{"start":"a","end":"b"},"items":[],"build":{"built_at":"","version":""}}',
    );
    expect(encodeArtifact(h, [], 'X').blob.toString()).toContain('"items": [],');
  });
});

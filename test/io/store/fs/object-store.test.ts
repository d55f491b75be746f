import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodePretty } from '../../../../src/io/artifacts/go-json';
import { FsObjectStore } from '../../../../src/io/store/fs/object-store';
import { objectKey } from '../../../../src/io/store/object-store';

let dir: string;

beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'recsys-store-'));
});

afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'));
const textOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

function artifact(builtAt: string, count = 3): string {
  return encodePretty({
    v: 1,
    artifact_type: 'popularity',
    tenant: 'demo',
    surface: 'home',
    window: { start: '2026-01-01T00:00:00Z', end: '2026-01-02T00:00:00Z' },
    items: [{ item_id: 'a', count }],
    build: { built_at: builtAt, version: 'abc123', source_hash: 'abc123' },
  });
}

describe('FsObjectStore', () => {
  it('names blobs file://<absolute path>, percent-encoded as pathToFileURL writes it', () => {
    const store = new FsObjectStore(path.relative(process.cwd(), dir));
    expect(store.uriFor('demo/home/cooc/v1.json')).toBe(`file://${path.join(dir, 'demo', 'home', 'cooc', 'v1.json')}`);
    const special = new FsObjectStore(path.join(dir, 'my store #1'));
    const uri = special.uriFor('ten ant%/h?me/cooc/v1.json');
    expect(uri).toBe(`file://${dir}/my%20store%20%231/ten%20ant%25/h%3Fme/cooc/v1.json`);
    // What a consumer does with it: new URL + fileURLToPath gives the blob's path back.
    expect(fileURLToPath(new URL(uri))).toBe(path.join(dir, 'my store #1', 'ten ant%', 'h?me', 'cooc', 'v1.json'));
  });

  it('puts, gets and checks a blob', async () => {
    const store = new FsObjectStore(dir);
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const put = await store.put(key, bytesOf('hello'));
    expect(put).toEqual({ uri: store.uriFor(key), created: true });
    expect(textOf(await store.get(put.uri))).toBe('hello');
    expect(await store.exists(put.uri)).toBe(true);
    expect(await fsp.readFile(path.join(dir, 'demo', 'home', 'popularity', 'abc123.json'), 'utf8')).toBe('hello');
  });

  it('never rewrites an existing blob: identical bytes are accepted as not created', async () => {
    const store = new FsObjectStore(dir);
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const { uri } = await store.put(key, bytesOf('same'));
    const file = uri.slice('file://'.length);
    const before = await fsp.stat(file);
    expect(await store.put(key, bytesOf('same'))).toEqual({ uri, created: false });
    const after = await fsp.stat(file);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
  });

  it('keeps the first blob when a re-run differs only in build.built_at', async () => {
    const store = new FsObjectStore(dir);
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const first = artifact('2026-01-02T00:00:00Z');
    const { uri } = await store.put(key, bytesOf(first));
    expect(await store.put(key, bytesOf(artifact('2026-01-05T10:00:00Z')))).toEqual({ uri, created: false });
    expect(textOf(await store.get(uri))).toBe(first);
  });

  it('refuses different content under an existing key with E_IO and keeps the stored bytes', async () => {
    const store = new FsObjectStore(dir);
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const first = artifact('2026-01-02T00:00:00Z', 3);
    const { uri } = await store.put(key, bytesOf(first));
    expect(await codeOf(store.put(key, bytesOf(artifact('2026-01-02T00:00:00Z', 4))))).toBe('E_IO');
    expect(await codeOf(store.put(key, bytesOf('not json')))).toBe('E_IO');
    expect(textOf(await store.get(uri))).toBe(first);
    expect(await fsp.readdir(path.dirname(uri.slice('file://'.length)))).toEqual(['abc123.json']);
  });

  it('putFile links a staged file into the store (same inode, no copy); re-staging by rename leaves the blob as it was', async () => {
    const store = new FsObjectStore(path.join(dir, 'store'));
    const staged = path.join(dir, 'staged.json');
    await fsp.writeFile(staged, artifact('2026-01-02T00:00:00Z'));
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const linked = await store.putFile(key, staged);
    expect(linked).toEqual({ uri: store.uriFor(key), path: path.join(dir, 'store', 'demo', 'home', 'popularity', 'abc123.json') });
    const file = linked!.uri.slice('file://'.length);
    expect((await fsp.stat(file)).ino).toBe((await fsp.stat(staged)).ino);
    expect((await fsp.stat(file)).mode & 0o222).toBe(0); // read-only under both names
    // Writers replace a staged file by rename (a new inode): the stored blob is untouched.
    await fsp.writeFile(staged + '.tmp', 'another build');
    await fsp.rename(staged + '.tmp', staged);
    expect(textOf(await store.get(linked!.uri))).toBe(artifact('2026-01-02T00:00:00Z'));
  });

  it('putFile returns null for an existing key and leaves the stored blob alone', async () => {
    const store = new FsObjectStore(dir);
    const key = objectKey('demo', 'home', 'popularity', 'abc123');
    const { uri } = await store.put(key, bytesOf('first'));
    const staged = path.join(dir, 'staged.json');
    await fsp.writeFile(staged, 'second');
    expect(await store.putFile(key, staged)).toBeNull();
    expect(textOf(await store.get(uri))).toBe('first');
  });

  it('reports a missing blob as E_NOT_FOUND and exists() false', async () => {
    const store = new FsObjectStore(dir);
    const uri = store.uriFor(objectKey('demo', 'home', 'cooc', 'nope'));
    expect(await codeOf(store.get(uri))).toBe('E_NOT_FOUND');
    expect(await store.exists(uri)).toBe(false);
  });

  it('does not read other URI schemes', async () => {
    const store = new FsObjectStore(dir);
    expect(await codeOf(store.get('s3://bucket/demo/home/cooc/v.json'))).toBe('E_UNSUPPORTED');
  });

  describe('locate: URIs resolved as a consumer resolves them, never outside the store', () => {
    const NAMES = ['a b', 'c#d', 'e%20f', 'g?h', 'Zürich', '日本', '%', '#'];

    it('every URI the store writes resolves to its blob, for reader and store alike, without a problem', async () => {
      const store = new FsObjectStore(path.join(dir, 'store #%? é'));
      for (const name of NAMES) {
        const { uri } = await store.put(objectKey(name, name, 'popularity', 'v1'), bytesOf(name));
        expect(await fsp.readFile(fileURLToPath(new URL(uri)), 'utf8'), name).toBe(name);
        expect(await store.locate(uri, 'test')).toEqual({ uri, readerProblem: null });
        expect(textOf(await store.get(uri))).toBe(name);
      }
    });

    it('a Go-era URI (file:// + the raw path) is read inside the store; a reader problem when a reader would not open it', async () => {
      const root = path.join(dir, 'store');
      const store = new FsObjectStore(root);
      for (const name of NAMES) {
        const file = path.join(root, name, 'home', 'popularity', 'v1.json');
        await fsp.mkdir(path.dirname(file), { recursive: true });
        await fsp.writeFile(file, name);
        const raw = `file://${file}`;
        const located = await store.locate(raw, 'test');
        expect(located.uri).toBe(pathToFileURL(file).href);
        expect(textOf(await store.get(raw)), name).toBe(name);
        // A reader of the raw URI opens the blob only when the name needs no encoding.
        let readerOpens = false;
        try {
          readerOpens = fileURLToPath(new URL(raw)) === file;
        } catch {
          // not even a file URL to a reader
        }
        expect(located.readerProblem === null, name).toBe(readerOpens);
        if (!readerOpens) expect(located.readerProblem).toContain(`not the blob ${file}`);
      }
    });

    it('anything outside the store folder is E_UNSAFE_URI (exit 3) naming where it came from, for locate, get and exists', async () => {
      const root = path.join(dir, 'store');
      const store = new FsObjectStore(root);
      await fsp.mkdir(root, { recursive: true });
      const outside = path.join(dir, 'outside.json');
      await fsp.writeFile(outside, 'secret');
      await fsp.writeFile(path.join(dir, 'store-sibling.json'), 'x');
      for (const uri of [
        `file://${outside}`,
        pathToFileURL(outside).href,
        `file://${root}/../outside.json`,
        `file://${root}-sibling.json`.replace('-sibling', '/../store-sibling'),
        `file://${root}`,
        'file://other-host/etc/passwd',
        'file:relative/path.json',
      ]) {
        await expect(store.locate(uri, 'registry record R'), uri).rejects.toMatchObject({
          code: 'E_UNSAFE_URI',
          exitCode: 3,
          message: expect.stringContaining('registry record R: '),
        });
        expect(await codeOf(store.get(uri)), uri).toBe('E_UNSAFE_URI');
        expect(await codeOf(store.exists(uri)), uri).toBe('E_UNSAFE_URI');
      }
      // A reader would decode %2e%2e to "..": as written it is a folder literally named so,
      // inside the store, which is what is read (nothing there), never the file outside.
      const dotted = `file://${root}/%2e%2e/outside.json`;
      expect((await store.locate(dotted, 'R')).uri).toBe(pathToFileURL(path.join(root, '%2e%2e', 'outside.json')).href);
      expect(await codeOf(store.get(dotted))).toBe('E_NOT_FOUND');
    });
  });
});

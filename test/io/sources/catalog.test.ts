import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPipelineError } from '../../../src/errors';
import { loadCatalog, lowerSimple, parseCsv, type CatalogItem } from '../../../src/io/sources/catalog';

const EXAMPLE = '/work/shared/examples/small';

let dir: string;
let n = 0;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'recsys-catalog-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(content: string | Buffer, ext = 'csv'): string {
  const p = path.join(dir, `c${n++}.${ext}`);
  fs.writeFileSync(p, content);
  return p;
}
const csv = (content: string, surface = 'home') => loadCatalog(file(content), 'csv', surface);
const jsonl = (content: string, surface = 'home') => loadCatalog(file(content, 'jsonl'), 'jsonl', surface);
const asMap = (items: CatalogItem[]) => Object.fromEntries(items.map((i) => [i.itemId, i.tags]));

function thrown(f: () => unknown): Error & { code?: string } {
  try {
    f();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error');
}

describe('loadCatalog: the shared example', () => {
  const items = loadCatalog(path.join(EXAMPLE, 'catalog.csv'), 'csv', 'home');

  it('normalises tags', () => {
    const m = asMap(items);
    expect(m['café']).toEqual(['food', 'drink']);
    expect(m['kids&toys']).toEqual(['kids', 'toys']);
    expect(m['sku-17wdrqp']).toEqual(['sale']);
    expect(m['sku-0']).toEqual(['shoes', 'new']);
    expect(m['<b>bold</b>']).toEqual(['promo']);
  });

  it('matches the expected content_sim payload exactly (content and byte order)', () => {
    const expected = JSON.parse(fs.readFileSync(path.join(EXAMPLE, 'expected/content_sim.2026-01-01.hashed.json'), 'utf8'));
    expect(items.map((i) => ({ item_id: i.itemId, tags: i.tags }))).toEqual(expected.items);
  });
});

describe('loadCatalog: CSV', () => {
  it('reads RFC 4180 quoting: commas, doubled quotes, CRLF, line breaks inside quotes', () => {
    const items = csv('item_id,tags\r\n' + '"a,1","x,Y;z"\r\n' + '"say ""hi""",q\r\n' + '"multi\r\nline","m1|\r\nm2"\r\n' + 'plain,"p"\r\n');
    expect(items).toEqual([
      { itemId: 'a,1', tags: ['x', 'y', 'z'] },
      { itemId: 'multi\nline', tags: ['m1', 'm2'] },
      { itemId: 'plain', tags: ['p'] },
      { itemId: 'say "hi"', tags: ['q'] },
    ]);
  });

  it('accepts header aliases, case-insensitive and trimmed, in any column order', () => {
    expect(csv(' Tag_List , ItemID \nA|B,i1\n')).toEqual([{ itemId: 'i1', tags: ['a', 'b'] }]);
    expect(csv('ID,TAGS\ni2,c\n')).toEqual([{ itemId: 'i2', tags: ['c'] }]);
    expect(csv('item_id,tags,SURFACE\ni3,d,home\ni4,e,search\n')).toEqual([{ itemId: 'i3', tags: ['d'] }]);
    // the primary name wins over an alias
    expect(csv('id,item_id,tags\n7,real,t\n')).toEqual([{ itemId: 'real', tags: ['t'] }]);
  });

  it('filters rows by namespace: empty or equal to the surface is kept', () => {
    const content = 'item_id,tags,namespace\na,t1,home\nb,t2,\nc,t3,search\nd,t4, home \n';
    expect(csv(content, 'home').map((i) => i.itemId)).toEqual(['a', 'b', 'd']);
    expect(csv(content, 'search').map((i) => i.itemId)).toEqual(['b', 'c']);
  });

  it('trims, lower-cases and de-duplicates tags; drops items without tags', () => {
    expect(csv('item_id,tags\n  x  ," B | a ;b,, A |"\nnotags,\nblank," | ; "\n')).toEqual([{ itemId: 'x', tags: ['b', 'a'] }]);
  });

  it('merges tags of a repeated item_id in first-seen order', () => {
    expect(csv('item_id,tags\nx,b|a\ny,q\nx,a|c\n x ,D\n')).toEqual([
      { itemId: 'x', tags: ['b', 'a', 'c', 'd'] },
      { itemId: 'y', tags: ['q'] },
    ]);
  });

  it('sorts by UTF-8 byte order', () => {
    const items = csv('item_id,tags\n𝄞clef,t\nｚ,t\ncafé,t\ncafe,t\nZ,t\n');
    expect(items.map((i) => i.itemId)).toEqual(['Z', 'cafe', 'café', 'ｚ', '𝄞clef']);
  });

  it('skips blank lines, strips a BOM, accepts a missing final newline', () => {
    expect(csv('\ufeffitem_id,tags\n\na,t\n   \nb,u')).toEqual([
      { itemId: 'a', tags: ['t'] },
      { itemId: 'b', tags: ['u'] },
    ]);
  });

  it('fails on an empty item_id naming file and line', () => {
    const p = file('item_id,tags\na,t\n"multi\nline",t\n  ,t\n');
    const err = thrown(() => loadCatalog(p, 'csv', 'home'));
    expect(isPipelineError(err)).toBe(true);
    expect(err.code).toBe('E_BAD_INPUT');
    expect(err.message).toBe(`bad input: ${p}:5: item_id: empty`);
  });

  it('fails when the header has no item_id or tags column, naming the file', () => {
    const p = file('sku,tags\na,t\n');
    const err = thrown(() => loadCatalog(p, 'csv', 'home'));
    expect(err.code).toBe('E_BAD_INPUT');
    expect(err.message).toContain(p);
    expect(err.message).toContain('item_id');
    expect(thrown(() => csv('item_id,labels\na,t\n')).message).toContain('tags');
    expect(thrown(() => csv('')).code).toBe('E_BAD_INPUT');
  });

  it('fails on malformed CSV with the line', () => {
    const p = file('item_id,tags\na,t\nb,"open\n');
    expect(thrown(() => loadCatalog(p, 'csv', 'home')).message).toBe(`bad input: ${p}:3: CSV: unterminated quoted field`);
    expect(thrown(() => csv('item_id,tags\na,"x"y\n')).message).toMatch(/:2: CSV: unexpected text after closing quote$/);
    expect(thrown(() => csv('item_id,tags\na,12" screen\n')).message).toMatch(/:2: CSV: bare " in unquoted field$/);
    expect(thrown(() => csv('item_id,tags\na,t,extra\n')).message).toMatch(/:2: CSV: expected 2 fields, got 3$/);
    expect(thrown(() => csv('item_id,tags\na\n')).message).toMatch(/:2: CSV: expected 2 fields, got 1$/);
  });

  it('fails on invalid UTF-8 with the line, and on a missing file with E_IO', () => {
    const p = file(Buffer.concat([Buffer.from('item_id,tags\na,t\nb,'), Buffer.from([0xff]), Buffer.from('\n')]));
    expect(thrown(() => loadCatalog(p, 'csv', 'home')).message).toBe(`bad input: ${p}:3: invalid UTF-8`);
    const missing = path.join(dir, 'missing.csv');
    const err = thrown(() => loadCatalog(missing, 'csv', 'home'));
    expect(err.code).toBe('E_IO');
    expect(err.message).toContain(missing);
  });
});

describe('parseCsv', () => {
  it('returns records with their starting physical line', () => {
    const recs = [...parseCsv('x.csv', 'a,b\r\n"c\nd",e\n\nf,"",\n')];
    expect(recs).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['c\nd', 'e'] },
      { line: 4, fields: [''] },
      { line: 5, fields: ['f', '', ''] },
    ]);
    expect([...parseCsv('x.csv', 'a,')]).toEqual([{ line: 1, fields: ['a', ''] }]);
    expect([...parseCsv('x.csv', '"a"\r')]).toEqual([{ line: 1, fields: ['a'] }]);
  });
});

describe('loadCatalog: JSONL', () => {
  it('reads objects with tags arrays and namespace', () => {
    const items = jsonl(
      [
        '{"item_id":" b ","tags":[" Sale ","sale","NEW",""]}',
        '',
        '{"item_id":"a","tags":["x"],"namespace":"home","extra":1}\r',
        '{"item_id":"c","tags":["y"],"namespace":"search"}',
        '{"item_id":"d","tags":[]}',
        '{"item_id":"e"}',
        '{"item_id":"a","tags":["z","x"],"namespace":null}',
      ].join('\n'),
    );
    expect(items).toEqual([
      { itemId: 'a', tags: ['x', 'z'] },
      { itemId: 'b', tags: ['sale', 'new'] },
    ]);
  });

  it('fails on bad rows naming file and line', () => {
    const p = file('{"item_id":"a","tags":["x"]}\n{"item_id":"  ","tags":["x"]}\n', 'jsonl');
    expect(thrown(() => loadCatalog(p, 'jsonl', 'home')).message).toBe(`bad input: ${p}:2: item_id: empty`);
    expect(thrown(() => jsonl('{"item_id":"a",\n')).message).toMatch(/:1: invalid JSON$/);
    expect(thrown(() => jsonl('\n["a"]\n')).message).toMatch(/:2: not a JSON object$/);
    expect(thrown(() => jsonl('{"tags":["x"]}')).message).toMatch(/:1: item_id: required$/);
    expect(thrown(() => jsonl('{"item_id":5,"tags":["x"]}')).message).toMatch(/:1: item_id: must be a string$/);
    expect(thrown(() => jsonl('{"item_id":"a","tags":"x|y"}')).message).toMatch(/:1: tags: must be an array of strings$/);
    expect(thrown(() => jsonl('{"item_id":"a","tags":["x",1]}')).message).toMatch(/:1: tags: must be an array of strings$/);
    expect(thrown(() => jsonl('{"item_id":"a","tags":["x"],"namespace":3}')).message).toMatch(/:1: namespace: must be a string$/);
  });
});

describe('lowerSimple', () => {
  it('maps code point by code point, like Go strings.ToLower', () => {
    expect(lowerSimple('SALE')).toBe('sale');
    expect(lowerSimple('ÉTÉ')).toBe('été');
    expect(lowerSimple('İstanbul')).toBe('istanbul'); // not "i̇stanbul"
    expect(lowerSimple('ΟΔΟΣ')).toBe('οδοσ'); // no final-sigma rule
    expect(lowerSimple('𝄞X')).toBe('𝄞x');
  });
});

describe('white space', () => {
  it('trims ids and tags with the same set as event ids (Go TrimSpace: U+0085 yes, U+FEFF no)', () => {
    const items = csv('item_id,tags\n"\u0085a\u00a0","\u3000x\u0085|\ufeffy"\n');
    expect(items).toEqual([{ itemId: 'a', tags: ['x', '\ufeffy'] }]);
  });
});

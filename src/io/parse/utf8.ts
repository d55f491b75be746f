/**
 * The one id comparator of the project: "asc" on ids means byte order of their UTF-8
 * encoding (docs/contract.md §5).
 *
 * JS `<` / default sort compare UTF-16 code units, which differ from UTF-8 byte order
 * when a surrogate pair (U+10000..) meets a BMP char in U+E000..U+FFFF: '𝄞' (D834 DD1E)
 * sorts before 'ｚ' (FF5A) by code units but after it by bytes. UTF-8 byte order equals
 * code point order, so we compare code points without encoding anything.
 *
 * Fast path: skip the common code-unit prefix; if the first differing units are both
 * non-surrogates, their order is the answer. Only when a surrogate is involved do we
 * decode code points from the start of the differing character.
 *
 * Lone surrogates: `Buffer.from(s)` encodes them as U+FFFD (EF BF BD), and this function
 * does the same, so it agrees with `Buffer.compare(Buffer.from(a), Buffer.from(b))` on
 * every input (including returning 0 for distinct strings that encode to the same bytes).
 * Returns -1, 0 or 1.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  const n = la < lb ? la : lb;
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // A high surrogate just before the divergence may pair differently in a and b.
  if (i > 0) {
    const prev = a.charCodeAt(i - 1);
    if (prev >= 0xd800 && prev <= 0xdbff) return compareCodePoints(a, b, i - 1);
  }
  if (i === n) return la < lb ? -1 : la > lb ? 1 : 0;
  const ca = a.charCodeAt(i);
  const cb = b.charCodeAt(i);
  if ((ca < 0xd800 || ca > 0xdfff) && (cb < 0xd800 || cb > 0xdfff)) return ca < cb ? -1 : 1;
  return compareCodePoints(a, b, i);
}

/** Code point at s[i] (lone surrogate → U+FFFD, as UTF-8 encoding does); width in `width`. */
let width = 1;
function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  width = 1;
  if (c < 0xd800 || c > 0xdfff) return c;
  if (c <= 0xdbff && i + 1 < s.length) {
    const lo = s.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo <= 0xdfff) {
      width = 2;
      return ((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
    }
  }
  return 0xfffd;
}

function compareCodePoints(a: string, b: string, start: number): number {
  let ia = start;
  let ib = start;
  const la = a.length;
  const lb = b.length;
  for (;;) {
    if (ia >= la) return ib >= lb ? 0 : -1;
    if (ib >= lb) return 1;
    const ca = codePointAt(a, ia);
    ia += width;
    const cb = codePointAt(b, ib);
    ib += width;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
}

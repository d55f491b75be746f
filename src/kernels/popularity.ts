/** Exposures per item code. Allocates one Int32Array(nItems); reads itemCodes once. */
export function itemCounts(itemCodes: Int32Array, nItems: number): Int32Array {
  const counts = new Int32Array(nItems);
  for (let i = 0; i < itemCodes.length; i++) counts[itemCodes[i]]++;
  return counts;
}

import { heapInt32, type Int32Alloc } from './group';

/** Exposures per item code. Allocates one Int32Array(nItems) through `alloc`; reads itemCodes once. */
export function itemCounts(itemCodes: Int32Array, nItems: number, alloc: Int32Alloc = heapInt32): Int32Array {
  const counts = alloc(nItems);
  for (let i = 0; i < itemCodes.length; i++) counts[itemCodes[i]]++;
  return counts;
}

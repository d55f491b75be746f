/**
 * The S3 raw source (`raw_source.type: "s3"`, docs/storage-contract.md §2): the file layout of fs.ts in a
 * bucket, `<prefix>/<tenant>/<surface>/exposure.YYYY-MM-DD.jsonl`, else its `.jsonl.gz`
 * twin, one object per UTC day, streamed (never held whole as text). A missing day object
 * means the day has no events.
 */
import type { S3Config } from '../../config/types';
import { ioError } from '../../errors';
import { S3Bucket } from '../store/s3/bucket';
import { rawDayName } from './fs';
import { lineBlocks } from './lines';
import type { RawDay } from './raw-day';

/** The day's object as a RawDay (one HEAD or two); null when there is none. */
export async function s3Day(cfg: S3Config, tenant: string, surface: string, day: string): Promise<RawDay | null> {
  const bucket = new S3Bucket(cfg, { configKey: 'raw_source.s3' });
  const plain = bucket.key(rawDayName(tenant, surface, day));
  let key: string | null = null;
  if (await bucket.exists(plain)) key = plain;
  else if (await bucket.exists(`${plain}.gz`)) key = `${plain}.gz`;
  if (key === null) return null;
  const uri = bucket.uri(key);
  const objectKey = key;
  return {
    name: uri,
    flat: false,
    where: (_block, lineBase, line) => `${uri}:${lineBase + line}`,
    async *blocks(blockBytes) {
      const body = await bucket.stream(objectKey);
      if (body === null) throw ioError('read', uri, 'the object disappeared after it was found');
      for await (const bytes of lineBlocks(body, uri, blockBytes)) yield { bytes };
    },
  };
}

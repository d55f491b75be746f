/**
 * The object store and registry a config selects (`object_store.type`):
 *   fs  FsObjectStore under `object_store.dir` + FsRegistry under `registry_dir`
 *   s3  S3ObjectStore + S3Registry, both in `object_store.s3.bucket` (one client)
 * Nothing is contacted until the first read or write.
 */
import type { Config } from '../../config/types';
import { configError } from '../../errors';
import { FsObjectStore } from './fs/object-store';
import { FsRegistry } from './fs/registry';
import type { ObjectStore } from './object-store';
import type { Registry } from './registry';
import { S3Bucket } from './s3/bucket';
import { S3ObjectStore } from './s3/object-store';
import { S3Registry } from './s3/registry';

export interface Storage {
  store: ObjectStore;
  registry: Registry;
}

/** One S3 client per config object, so the days of a run share its connections. */
const s3Buckets = new WeakMap<Config, S3Bucket>();

export function openStorage(config: Config): Storage {
  const { object_store } = config;
  if (object_store.type === 's3') {
    if (object_store.s3 === undefined) throw configError('object_store.s3 is required when object_store.type is "s3"');
    let bucket = s3Buckets.get(config);
    if (bucket === undefined) {
      bucket = new S3Bucket(object_store.s3, { configKey: 'object_store.s3' });
      s3Buckets.set(config, bucket);
    }
    return { store: new S3ObjectStore(bucket), registry: new S3Registry(bucket) };
  }
  return { store: new FsObjectStore(object_store.dir), registry: new FsRegistry(config.registry_dir) };
}

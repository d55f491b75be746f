import { CanonicalDayBuilder } from '../../src/io/canonical/builder';
import type { CanonicalDay } from '../../src/io/canonical/day';
import { type RefEvent, tsMicros } from './reference';

/** A canonical day built straight from reference events, in their order (kernel, worker and artifact-type tests). */
export function canonicalDayOf(events: readonly RefEvent[]): CanonicalDay {
  const b = new CanonicalDayBuilder();
  for (const e of events) {
    b.add({
      tsMicros: tsMicros(e.ts),
      tenant: e.tenant,
      surface: e.surface,
      sessionId: e.session_id,
      itemId: e.item_id,
      userId: e.user_id ?? '',
      requestId: e.request_id ?? '',
      rank: e.rank ?? -1,
    });
  }
  return b.finish();
}

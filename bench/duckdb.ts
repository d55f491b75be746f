/**
 * The DuckDB side of the end-to-end benchmark (never a runtime dependency):
 *   node dist/bench/duckdb.js <events.jsonl> <out-dir> <threads>
 * Loads the JSONL into a table once, then computes popularity, cooc, implicit and
 * session_seq with the semantics of docs/contract.md §5 and default caps (min_cooc_support 2,
 * max_neighbors_per_item 50, max_items_per_artifact 1000, max_items_per_user 500), writing
 * each as JSON. Prints {load_ms, queries_ms, per_query_ms} as JSON on stdout.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';

const QUERIES: Record<string, string> = {
  popularity: `SELECT item_id, count(*) AS count FROM ev GROUP BY item_id ORDER BY count DESC, item_id LIMIT 1000`,
  cooc: `WITH s AS (SELECT DISTINCT session_id, item_id FROM ev),
    p AS (SELECT a.item_id AS a, b.item_id AS b, count(*) AS c FROM s a JOIN s b USING (session_id)
          WHERE a.item_id <> b.item_id GROUP BY 1, 2 HAVING count(*) >= 2),
    r AS (SELECT a, b, c FROM p QUALIFY row_number() OVER (PARTITION BY a ORDER BY c DESC, b) <= 50),
    pop AS (SELECT item_id, count(*) AS n FROM ev GROUP BY item_id),
    keep AS (SELECT DISTINCT a FROM r JOIN pop ON pop.item_id = r.a ORDER BY max(pop.n) OVER (PARTITION BY a) DESC, a LIMIT 1000)
    SELECT r.a AS item_id, list({'item_id': r.b, 'count': r.c} ORDER BY r.c DESC, r.b) AS items
    FROM r JOIN keep USING (a) GROUP BY r.a ORDER BY r.a`,
  implicit: `WITH c AS (SELECT user_id, item_id, count(*) AS score FROM ev WHERE user_id IS NOT NULL GROUP BY 1, 2
      QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY score DESC, item_id) <= 500)
    SELECT user_id, list({'item_id': item_id, 'score': score} ORDER BY score DESC, item_id) AS items FROM c GROUP BY user_id ORDER BY user_id`,
  session_seq: `WITH o AS (SELECT user_id, lead(item_id) OVER (PARTITION BY user_id ORDER BY ts, rn) AS nxt FROM ev WHERE user_id IS NOT NULL),
    c AS (SELECT user_id, nxt AS item_id, count(*) AS score FROM o WHERE nxt IS NOT NULL GROUP BY 1, 2
      QUALIFY row_number() OVER (PARTITION BY user_id ORDER BY score DESC, item_id) <= 500),
    u AS (SELECT DISTINCT user_id FROM ev WHERE user_id IS NOT NULL)
    SELECT u.user_id, coalesce(list({'item_id': c.item_id, 'score': c.score} ORDER BY c.score DESC, c.item_id) FILTER (WHERE c.item_id IS NOT NULL), []) AS items
    FROM u LEFT JOIN c USING (user_id) GROUP BY u.user_id ORDER BY u.user_id`,
};

async function main(): Promise<void> {
  const [file, outDir, threads] = process.argv.slice(2);
  const db = await DuckDBInstance.create(':memory:', { threads: threads ?? '2' });
  const con = await db.connect();
  const t0 = performance.now();
  await con.run(`CREATE TABLE ev AS SELECT *, row_number() OVER () AS rn FROM read_json('${file}', format = 'newline_delimited',
    columns = {ts: 'TIMESTAMPTZ', tenant: 'VARCHAR', surface: 'VARCHAR', session_id: 'VARCHAR', item_id: 'VARCHAR', user_id: 'VARCHAR', request_id: 'VARCHAR', rank: 'INTEGER', v: 'INTEGER'})`);
  const loadMs = performance.now() - t0;
  const perQuery: Record<string, number> = {};
  for (const [name, sql] of Object.entries(QUERIES)) {
    const t = performance.now();
    await con.run(`COPY (${sql}) TO '${join(outDir, name + '.json')}' (FORMAT json, ARRAY true)`);
    perQuery[name] = performance.now() - t;
  }
  const queriesMs = Object.values(perQuery).reduce((a, b) => a + b, 0);
  process.stdout.write(JSON.stringify({ load_ms: loadMs, queries_ms: queriesMs, per_query_ms: perQuery }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`duckdb bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

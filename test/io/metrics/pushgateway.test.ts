/** The Pushgateway target against a loopback HTTP server that records what it receives. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupingKey, groupUrl, pushMetrics, PUSH_JOB } from '../../../src/io/metrics/pushgateway';

interface Received {
  method: string;
  url: string;
  body: string;
}

let server: Server;
let base: string;
const received: Received[] = [];
/** Paths answered with 400, and paths never answered. */
const rejectPath = '/bad';
const hangPath = '/hang';

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', body });
      if (req.url?.startsWith(hangPath)) return; // never answers
      if (req.url?.startsWith(rejectPath)) {
        res.writeHead(400).end('pushed metrics are invalid or inconsistent');
        return;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function registry(): Registry {
  const r = new Registry();
  new Gauge({ name: 'recsys_pipelines_last_run_success', help: 'h', registers: [r] }).set(1);
  return r;
}

describe('groupingKey', () => {
  it('job, command, tenant, surface; the segment and the Kubernetes Job index when set', () => {
    const scope = { command: 'run', tenant: 'demo', surface: 'home' };
    expect(groupingKey(scope, {})).toEqual({ command: 'run', tenant: 'demo', surface: 'home' });
    expect(groupingKey({ ...scope, segment: 'eu' }, { JOB_COMPLETION_INDEX: '3' })).toEqual({
      command: 'run',
      tenant: 'demo',
      surface: 'home',
      segment: 'eu',
      job_completion_index: '3',
    });
    expect(groupingKey(scope, { JOB_COMPLETION_INDEX: '' })).not.toHaveProperty('job_completion_index');
  });

  it('refuses an index that is not a non-negative integer (pods would overwrite each other)', () => {
    expect(() => groupingKey({ command: 'run', tenant: 'a', surface: 'b' }, { JOB_COMPLETION_INDEX: 'x1' })).toThrow(/JOB_COMPLETION_INDEX="x1"/);
  });
});

describe('pushMetrics', () => {
  const groupingKeyOf = { command: 'run', tenant: 'demo', surface: 'home', job_completion_index: '2' };

  it('POSTs the exposition text to the group (only the families sent are replaced)', async () => {
    await pushMetrics(registry(), { url: base, timeoutMs: 30_000, groupingKey: groupingKeyOf });
    const got = received.at(-1)!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe(`/metrics/job/${PUSH_JOB}/command/run/tenant/demo/surface/home/job_completion_index/2`);
    expect(got.body).toContain('recsys_pipelines_last_run_success 1');
  });

  it('replace: PUT, and a path prefix of the URL is kept', async () => {
    await pushMetrics(registry(), { url: `${base}/gw`, timeoutMs: 30_000, groupingKey: groupingKeyOf, replace: true });
    expect(received.at(-1)).toMatchObject({ method: 'PUT', url: expect.stringMatching(/^\/gw\/metrics\/job\//) });
  });

  it('an error answer rejects naming the group URL and the answer', async () => {
    const target = { url: `${base}${rejectPath}`, timeoutMs: 30_000, groupingKey: groupingKeyOf };
    await expect(pushMetrics(registry(), target)).rejects.toThrow(`push to ${groupUrl(target)} failed: push failed with status 400`);
  });

  it('a gateway that does not answer: rejects after timeout_s, naming it', async () => {
    const target = { url: `${base}${hangPath}`, timeoutMs: 300, groupingKey: groupingKeyOf };
    await expect(pushMetrics(registry(), target)).rejects.toThrow(/failed: no answer within 0\.3s/);
  });

  it('nothing listening: rejects with the connection error', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await expect(pushMetrics(registry(), { url: `http://127.0.0.1:${port}`, timeoutMs: 30_000, groupingKey: groupingKeyOf })).rejects.toThrow(/ECONNREFUSED/);
  });
});

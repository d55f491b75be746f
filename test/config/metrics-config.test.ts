/** `metrics` in the config and the flags that override it: defaults, checks, error text naming the key or flag. */
import { describe, expect, it } from 'vitest';
import { configWithOverrides, metricsTextfileFlag, parseConfig } from '../../src/config/load';

const base = { raw_source: { type: 'fs', dir: 'raw' } };
const parse = (metrics: unknown) => parseConfig({ ...base, metrics }, '/srv/recsys', 'prod.json');

describe('metrics config', () => {
  it('off by default', () => {
    expect(parseConfig(base, '/srv/recsys').metrics).toEqual({ textfile: null, pushgateway: null });
  });

  it('textfile resolved against the working directory; pushgateway timeout_s defaults to 10', () => {
    expect(parse({ textfile: 'collector/recsys.prom', pushgateway: { url: 'http://pgw:9091/' } }).metrics).toEqual({
      textfile: '/srv/recsys/collector/recsys.prom',
      pushgateway: { url: 'http://pgw:9091', timeout_s: 10 },
    });
    expect(parse({ pushgateway: { url: 'https://pgw.example/prefix', timeout_s: 2.5 } }).metrics.pushgateway).toEqual({
      url: 'https://pgw.example/prefix',
      timeout_s: 2.5,
    });
  });

  it.each([
    [{ textfile: 'recsys.txt' }, "metrics.textfile: node_exporter's textfile collector reads only files ending in .prom"],
    [{ pushgateway: {} }, 'metrics.pushgateway.url: required when metrics.pushgateway is given'],
    [{ pushgateway: { url: 'pgw:9091' } }, 'metrics.pushgateway.url: expected an http:// or https:// URL'],
    [{ pushgateway: { url: 'http://pgw:9091/?x=1' } }, 'metrics.pushgateway.url: expected an http:// or https:// URL without ?query'],
    [{ pushgateway: { url: 'http://pgw', timeout_s: 0 } }, 'metrics.pushgateway.timeout_s: expected a number of seconds > 0, got 0'],
    [{ push_gateway: { url: 'http://pgw' } }, 'unknown key "metrics.push_gateway" (did you mean "pushgateway"?)'],
  ])('%j is a config error naming the key', (metrics, text) => {
    expect(() => parse(metrics)).toThrow(expect.objectContaining({ code: 'E_CONFIG', message: expect.stringContaining(text) }));
  });
});

describe('--metrics-textfile and --pushgateway', () => {
  const config = parse({ textfile: '/var/lib/node/recsys.prom', pushgateway: { url: 'http://pgw:9091', timeout_s: 3 } });

  it('override the config; the push keeps the configured timeout', () => {
    const c = configWithOverrides(config, { metricsTextfile: 'here.prom', pushgateway: 'http://other:9091' }, '/work');
    expect(c.metrics).toEqual({ textfile: '/work/here.prom', pushgateway: { url: 'http://other:9091', timeout_s: 3 } });
    expect(configWithOverrides(config, {}).metrics).toBe(config.metrics);
  });

  it('bad values are usage errors naming the flag', () => {
    expect(() => configWithOverrides(config, { pushgateway: 'localhost:9091' })).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('--pushgateway: expected an http:// or https:// URL') }),
    );
    expect(() => metricsTextfileFlag('m.txt', '/w')).toThrow(
      expect.objectContaining({ code: 'E_USAGE', message: expect.stringContaining('--metrics-textfile:') }),
    );
  });
});

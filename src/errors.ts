/**
 * Errors a user or a scheduler acts on. Each carries a stable `code` (tests assert it)
 * and the process exit code a scheduler acts on (docs/cli.md "Exit codes"): 1 a failure a retry may fix
 * (I/O, store unreachable, lock held, worker crash, a day not ingested yet), 2 usage or config error,
 * 3 a failure a retry cannot fix (bad input, hard limit, gate, a URI outside the object store).
 * Messages name the thing: file and line, config key path, limit with observed and allowed values.
 * Factories create fresh errors so stack traces point at the caller.
 */
export type ErrorCode =
  | 'E_USAGE' // bad CLI flags or arguments (exit 2)
  | 'E_CONFIG' // config file missing, unreadable, unknown or ill-typed key (exit 2)
  | 'E_BAD_INPUT' // malformed raw line or catalog row (exit 3)
  | 'E_LIMIT' // a hard limit was crossed (exit 3)
  | 'E_GATE' // a validation gate failed (exit 3)
  | 'E_UNSAFE_URI' // a record or manifest points outside the configured object store (exit 3)
  | 'E_IO' // a read or write failed (exit 1)
  | 'E_LOCKED' // another publisher holds the (tenant, surface) lock (exit 1)
  | 'E_WORKER' // a worker thread failed (exit 1)
  | 'E_NOT_FOUND' // a requested version, manifest or checkpoint does not exist (exit 1)
  | 'E_NOT_INGESTED' // job-mode validate/compute of a day never ingested (exit 1: ingest it, then retry)
  | 'E_UNSUPPORTED' // a backend or feature this build does not provide (exit 2)
  | 'E_INTERRUPTED'; // SIGINT or SIGTERM stopped the command between two stages (exit 130 / 143)

/** 1 retry may help, 2 usage or config, 3 retrying cannot help (the input, limit or gate must change); 128 + signal number when a signal stopped the command. */
export type ExitCode = 1 | 2 | 3 | 130 | 143;

export class PipelineError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

export const usageError = (message: string) => new PipelineError('E_USAGE', 2, message);
export const configError = (message: string) => new PipelineError('E_CONFIG', 2, message);
export const unsupported = (message: string) => new PipelineError('E_UNSUPPORTED', 2, message);
export const badInput = (where: string, rule: string) => new PipelineError('E_BAD_INPUT', 3, `bad input: ${where}: ${rule}`);
/**
 * `limit exceeded: <limit> (<observed> > <allowed>)`. With `stopped` (why counting could not
 * finish) the observed value is a lower bound: `(at least <observed> > <allowed>; <stopped>)`.
 */
export const limitExceeded = (limit: string, observed: number, allowed: number, stopped?: string | null) =>
  new PipelineError(
    'E_LIMIT',
    3,
    stopped ? `limit exceeded: ${limit} (at least ${observed} > ${allowed}; ${stopped})` : `limit exceeded: ${limit} (${observed} > ${allowed})`,
  );
export const gateFailed = (gate: string, detail: string) => new PipelineError('E_GATE', 3, `validation failed: ${gate}: ${detail}`);
/**
 * `<action> <path>: <system error>` (E_IO, exit 1: a retry may help once the cause is fixed):
 * `write /data/out/canonical/…/2026-01-01.arrow: EROFS: read-only file system (mkdir /data/out/canonical)`.
 */
export const ioError = (action: string, path: string, cause: unknown) => new PipelineError('E_IO', 1, `${action} ${path}: ${describeCause(cause, path)}`);
/**
 * Appended to an error about a configured path that does not exist: relative paths (`--config`,
 * the paths inside the config, `--catalog`) are resolved against the working directory, as the
 * Go tool does, not against the config file's folder.
 */
export const relativePathHint = (cwd = process.cwd()) =>
  `(relative paths are resolved against the working directory, ${cwd}, as the Go tool does, not against the config file's folder)`;
/** Whether `err` says a path does not exist (ENOENT, or a file where a folder was expected). */
export const isMissingPath = (err: unknown) => ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException | null)?.code ?? '');
export const lockedError = (message: string) => new PipelineError('E_LOCKED', 1, message);
export const workerError = (message: string) => new PipelineError('E_WORKER', 1, message);
export const notFound = (message: string) => new PipelineError('E_NOT_FOUND', 1, message);
export const unsafeUri = (message: string) => new PipelineError('E_UNSAFE_URI', 3, message);
/** The exit code of the shells' convention: 128 + the signal's number (SIGINT 2, SIGTERM 15). */
export type StopSignal = 'SIGINT' | 'SIGTERM';
export const interrupted = (signal: StopSignal, where: string) =>
  new PipelineError('E_INTERRUPTED', signal === 'SIGINT' ? 130 : 143, `interrupted by ${signal} ${where}; a rerun carries on (days published stay published)`);
/** A day validate or compute needs was never ingested: retryable, once `ingest` has run for it. */
export const notIngested = (message: string) => new PipelineError('E_NOT_INGESTED', 1, message);

/**
 * The exit code of a command whose days failed for these reasons: 3 when every failure is one a
 * retry cannot fix, 2 when all are usage or config errors, else 1 (a retry may fix some of them).
 */
export function combinedExitCode(codes: readonly ExitCode[]): ExitCode {
  if (codes.length > 0 && codes.every((c) => c === 3)) return 3;
  if (codes.length > 0 && codes.every((c) => c === 2)) return 2;
  return 1;
}

export function isPipelineError(err: unknown): err is PipelineError {
  return err instanceof PipelineError;
}

/**
 * What a system error means, for the errors a write meets on a healthy machine whose storage
 * is misconfigured or full: the operator acts on these, so each says it in words (and, for
 * permissions, as which user: a container often runs as another uid than the folder's owner).
 */
function osErrorMeaning(code: string): string | null {
  const uid = process.getuid?.();
  const asUid = uid === undefined ? '' : ` for uid ${uid}`;
  switch (code) {
    case 'EROFS':
      return 'read-only file system';
    case 'EACCES':
      return `permission denied${asUid}`;
    case 'EPERM':
      return `operation not permitted${asUid}`;
    case 'ENOSPC':
      return 'no space left on device';
    case 'EDQUOT':
      return `disk quota exceeded${asUid}`;
    case 'ENOTDIR':
      return 'not a directory (a file is in the way of a folder)';
    default:
      return null;
  }
}

/**
 * The text of a Node system error: `ENOENT: no such file or directory`; for the errors of
 * osErrorMeaning, that meaning (`EACCES: permission denied for uid 65534`); and when the
 * error concerns another path than the one the caller names (a parent folder that could not
 * be made: makeDirs in src/io/atomic.ts), that path: `EROFS: read-only file system (mkdir
 * /data/out/canonical)`. Anything else: its message.
 */
export function describeCause(cause: unknown, about?: string): string {
  if (cause && typeof cause === 'object') {
    const e = cause as { code?: string; message?: string; syscall?: string; path?: string };
    if (e.code && e.message) {
      const meaning = osErrorMeaning(e.code);
      const text = meaning ? `${e.code}: ${meaning}` : e.message.startsWith(e.code) ? e.message.split(',')[0] : `${e.code}: ${e.message}`;
      const other = e.syscall === 'mkdir' && e.path !== undefined && e.path !== about;
      return other ? `${text} (${e.syscall} ${e.path})` : text;
    }
    if (e.message) return e.message;
  }
  return String(cause);
}

/** JSON.parse of a state file's text; bad JSON is E_IO `parse <what>` naming `file` and the position (describeJsonError), never the text. */
export function parseStateJson(file: string, text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw ioError(`parse ${what}`, file, describeJsonError(text));
  }
}

/**
 * `invalid JSON at line L, column C` for a JSON.parse failure of `text`: the position only,
 * never the text. V8's own messages quote the input (`Unexpected token 's', "{"key": "s3cr…" is
 * not valid JSON`), and the files we parse may hold credentials, so they are never passed on.
 */
export function describeJsonError(text: string): string {
  const body = text.replace(/^\uFEFF/, '');
  const offset = jsonErrorOffset(body);
  if (offset >= body.length) return 'invalid JSON: unexpected end of the file';
  const before = body.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `invalid JSON at line ${line}, column ${column}`;
}

/**
 * The offset of the first character at which `text` stops being JSON (RFC 8259), or its
 * length when it ends too early. A small recursive-descent check, used only to place an
 * error: JSON.parse has already said the text is bad.
 */
export function jsonErrorOffset(text: string): number {
  let at = 0;
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const ws = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at])) at++;
  };
  const literal = (word: string) => {
    for (const ch of word) if (text[at++] !== ch) return void (at--, fail());
  };
  const digits = () => {
    const from = at;
    while (at < text.length && text[at] >= '0' && text[at] <= '9') at++;
    if (at === from) fail();
  };
  const number = () => {
    if (text[at] === '-') at++;
    if (text[at] === '0') at++;
    else digits();
    if (text[at] === '.') {
      at++;
      digits();
    }
    if (text[at] === 'e' || text[at] === 'E') {
      at++;
      if (text[at] === '+' || text[at] === '-') at++;
      digits();
    }
  };
  const string = () => {
    at++; // the opening quote
    for (;;) {
      if (at >= text.length) fail();
      const c = text.charCodeAt(at);
      if (c === 0x22) return void at++;
      if (c < 0x20) fail();
      if (c === 0x5c) {
        at++;
        const e = text[at];
        if (e === 'u') {
          for (let i = 1; i <= 4; i++) if (!/[0-9a-fA-F]/.test(text[at + i] ?? '')) return void ((at += i), fail());
          at += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) at++;
        else fail();
      } else at++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[at];
    if (c === '{') {
      at++;
      ws();
      if (text[at] === '}') return void at++;
      for (;;) {
        ws();
        if (text[at] !== '"') fail();
        string();
        ws();
        if (text[at] !== ':') fail();
        at++;
        value();
        ws();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return void at++;
        else fail();
      }
    }
    if (c === '[') {
      at++;
      ws();
      if (text[at] === ']') return void at++;
      for (;;) {
        value();
        ws();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return void at++;
        else fail();
      }
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fail();
  };
  try {
    value();
    ws();
    return at < text.length ? at : text.length; // trailing text, or (valid JSON) the end
  } catch (err) {
    if (err instanceof Stop) return Math.min(at, text.length);
    throw err;
  }
}

/**
 * Who a writer is, in one place (docs/storage-contract.md §1.6): the host name, the boot id
 * (/proc/sys/kernel/random/boot_id), the pid namespace (/proc/self/ns/pid) and the pid, and,
 * in a Kubernetes Job, the Job's uid (env `RECSYS_JOB_UID`, set by the chart from the pod
 * label `batch.kubernetes.io/controller-uid` through the downward API), completion index
 * (env `JOB_COMPLETION_INDEX`) and pod name (env `RECSYS_POD_NAME`, the chart's downward API
 * `metadata.name`).
 *
 * A pid means something only where it was taken: on the same host name, the same boot and
 * the same pid namespace. Two pods on one node share the boot id but not the pid namespace
 * (and, with host networking, not even a distinct host name), so "is that writer alive" is
 * answered only when all three match; otherwise the writer must be assumed alive.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import { isPidAlive } from './atomic';

export interface WriterIdentity {
  host: string;
  /** '' when the platform has none (not Linux): then no other writer is ever judged gone. */
  boot_id: string;
  /** e.g. `pid:[4026531836]`; '' when unknown. */
  pid_ns: string;
  pid: number;
}

/** The Kubernetes Job this process runs for; all absent outside a Job. */
export interface JobIdentity {
  job_uid?: string;
  job_index?: string;
  /** The pod's name: each retry of a Job index is a new pod with a new name. */
  pod?: string;
}

let machine: { boot_id: string; pid_ns: string } | null = null;

function readOr(read: () => string): string {
  try {
    return read().trim();
  } catch {
    return '';
  }
}

/** This process's identity (the host name is read each time: tests and containers may change it). */
export function writerIdentity(): WriterIdentity {
  machine ??= {
    boot_id: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pid_ns: readOr(() => readlinkSync('/proc/self/ns/pid')),
  };
  return { host: os.hostname(), boot_id: machine.boot_id, pid_ns: machine.pid_ns, pid: process.pid };
}

/** The Job identity from the environment; empty values count as absent. */
export function jobIdentity(env: NodeJS.ProcessEnv = process.env): JobIdentity {
  const uid = env.RECSYS_JOB_UID?.trim();
  const index = env.JOB_COMPLETION_INDEX?.trim();
  const pod = env.RECSYS_POD_NAME?.trim();
  return { ...(uid ? { job_uid: uid } : {}), ...(index ? { job_index: index } : {}), ...(pod ? { pod } : {}) };
}

/**
 * True when `other`'s pid can be looked up from here: same host name, boot id and pid
 * namespace, all known. A writer identified by host and pid only (the Go tool's lock, a lock
 * written before this rule) is judged by host name, as before.
 */
export function samePidView(other: Partial<WriterIdentity> & { host: string }, me: WriterIdentity = writerIdentity()): boolean {
  if (other.host !== me.host) return false;
  if (other.boot_id === undefined && other.pid_ns === undefined) return true;
  return other.boot_id !== '' && other.boot_id === me.boot_id && other.pid_ns !== '' && other.pid_ns === me.pid_ns;
}

/** True only when `other` is known to be gone: its pid is visible from here and no longer runs. */
export function isWriterGone(other: Partial<WriterIdentity> & { host: string; pid: number }, me: WriterIdentity = writerIdentity()): boolean {
  return samePidView(other, me) && other.pid !== me.pid && !isPidAlive(other.pid);
}

/**
 * `w` and 8 hex digits naming this process's host, boot and pid namespace, for temp file
 * names (atomic.ts): a temp file's writer is judged by its pid only when the tag is ours.
 */
export function writerTag(id: WriterIdentity = writerIdentity()): string {
  return `w${createHash('sha256').update(`${id.host}\0${id.boot_id}\0${id.pid_ns}`).digest('hex').slice(0, 8)}`;
}

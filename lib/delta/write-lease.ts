import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isLakehouseError, LakehouseError } from '../errors.js';
import type { ObjectMeta, ObjectStore } from '../storage/object-store.js';

/**
 * Write leases: what keeps a VACUUM with a short retention (down to 0 hours with `--force`) from
 * deleting the files of a lakehouse-kit write that has not committed yet.
 *
 * A data file is invisible to the log until the commit that adds it lands; until then VACUUM can
 * tell it from debris only by its age, which is why Delta asks for a retention longer than the
 * longest write. A writer holding a lease publishes `_lakehouse/leases/<id>.json` (when it
 * started, when the lease expires) before it writes its first file, renews it while it writes,
 * and deletes it once its commit has landed or failed. VACUUM lists the table's files first, then
 * the leases, then reads the log, and keeps every unreferenced file modified at or after the start
 * of a live lease (less CLOCK_SKEW_MS). That order closes the race: a file in VACUUM's listing
 * was written after its writer's lease was put, so when VACUUM lists the leases the lease is
 * either still there (the file is kept), or was deleted after the commit (the log VACUUM reads
 * next adds the file), or has expired, which the writer itself detects before committing
 * (`assertHeld`) and turns into an error instead of a commit that would point at a deleted file.
 *
 * Leases are hidden (`_lakehouse/` is ignored by Spark, delta-rs and VACUUM's own deletes).
 * Spark and delta-rs writers take none: for their writes the retention rule alone applies.
 */
export const LEASE_DIR = '_lakehouse/leases';
/** A lease not renewed for this long is expired: VACUUM ignores it (a killed writer's). */
export const LEASE_TTL_MS = 10 * 60_000;
/** Renewal period while a writer holds the lease. */
export const LEASE_RENEW_MS = 60_000;
/** A writer refuses to commit unless its lease was renewed within TTL minus this margin. */
export const LEASE_COMMIT_MARGIN_MS = 2 * 60_000;
/** Allowance between the writer's clock and the store's modification times. */
export const CLOCK_SKEW_MS = 60_000;
/** VACUUM deletes lease files this long past their expiry (those of killed writers). */
export const EXPIRED_LEASE_GRACE_MS = 60 * 60_000;

export interface LeaseRecord {
  id: string;
  /** Writer's clock (ms since the epoch) when the lease was first put: files it writes are newer. */
  startedAt: number;
  /** Writer's clock when the lease stops protecting anything unless renewed. */
  expiresAt: number;
  operation: string;
  host: string;
  pid: number;
}

/**
 * One operation's lease. Created lazily: `ensure()` puts it before the first file is written and
 * starts renewing it; `release()` stops and deletes it. Not shared between operations, so a failed
 * write's leftovers become collectable as soon as that write ends.
 */
export class WriteLease {
  readonly id = randomBytes(8).toString('hex');
  private record: LeaseRecord | undefined;
  private putting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> | undefined;
  /** Writer's clock at the last renewal that reached the store. */
  private renewedAt = 0;
  private renewalError: unknown;
  private released = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly operation: string,
    private readonly clock: () => number = Date.now,
  ) {}

  get path(): string {
    return `${LEASE_DIR}/${this.id}.json`;
  }

  /** Put the lease (once) and keep it renewed; call before writing any file the commit will add. */
  ensure(): Promise<void> {
    if (this.released)
      throw new LakehouseError('INTERNAL', `write lease ${this.id} used after release (this is a bug)`);
    this.putting ??= this.put().then(() => {
      this.timer = setInterval(() => {
        this.renewing ??= this.renew().finally(() => (this.renewing = undefined));
      }, LEASE_RENEW_MS);
      this.timer.unref();
    });
    return this.putting;
  }

  /**
   * Throw instead of committing when the lease may have lapsed: a VACUUM could then have deleted
   * files this writer wrote. Nothing to check when no file was written under the lease.
   */
  assertHeld(): void {
    if (!this.record) return;
    const age = this.clock() - this.renewedAt;
    if (age > LEASE_TTL_MS - LEASE_COMMIT_MARGIN_MS) {
      const why = this.renewalError ? ` (last renewal error: ${String(this.renewalError)})` : '';
      throw new LakehouseError(
        'STORAGE_TRANSIENT',
        `${this.operation}: the write lease ${this.path} was last renewed ${Math.round(age / 1000)} s ago${why}; ` +
          `a VACUUM may have deleted the files written so far, so nothing was committed. Retry the operation.`,
      );
    }
  }

  /** Stop renewing and delete the lease (after the commit, or after a failure). */
  async release(): Promise<void> {
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (!this.putting) return;
    await this.putting.catch(() => undefined);
    await this.renewing; // a renewal landing after the delete would resurrect the lease
    // Best effort: an undeleted lease only delays collecting debris until it expires.
    await this.store.deleteMany([this.path]).catch(() => undefined);
  }

  private async put(): Promise<void> {
    const now = this.clock();
    this.record ??= {
      id: this.id,
      startedAt: now,
      expiresAt: 0,
      operation: this.operation,
      host: hostname(),
      pid: process.pid,
    };
    const record = { ...this.record, expiresAt: now + LEASE_TTL_MS };
    await this.store.put(this.path, new TextEncoder().encode(JSON.stringify(record)), {
      contentType: 'application/json',
    });
    this.record = record;
    this.renewedAt = now;
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    try {
      await this.put();
      this.renewalError = undefined;
    } catch (err) {
      this.renewalError = err; // the next renewal retries; assertHeld reports a lapse
    }
  }
}

export interface LiveLeases {
  /** Files modified at or after this (store time) may belong to a write in flight: keep them. */
  protectFrom: number;
  live: LeaseRecord[];
  /** Lease files long expired (killed writers): safe to delete. */
  expired: string[];
}

/**
 * The leases in force at `now`. Call AFTER listing the files to delete and BEFORE reading the
 * log that decides which are referenced (see the module comment for why the order matters).
 */
export async function readLiveLeases(store: ObjectStore, now: number): Promise<LiveLeases> {
  const result: LiveLeases = { protectFrom: Infinity, live: [], expired: [] };
  const metas: ObjectMeta[] = [];
  for await (const meta of store.list(`${LEASE_DIR}/`)) if (meta.path.endsWith('.json')) metas.push(meta);
  for (const meta of metas) {
    // Not rewritten for longer than the TTL (and both clocks' allowance): expired whatever it
    // says, so no need to read it. Writers that may not delete leave one lease per operation.
    if (meta.lastModified + LEASE_TTL_MS + 2 * CLOCK_SKEW_MS < now) {
      if (meta.lastModified + LEASE_TTL_MS + EXPIRED_LEASE_GRACE_MS < now) result.expired.push(meta.path);
      continue;
    }
    let record: LeaseRecord | undefined;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(await store.get(meta.path))) as Partial<LeaseRecord>;
      if (typeof parsed.startedAt === 'number' && typeof parsed.expiresAt === 'number')
        record = parsed as LeaseRecord;
    } catch (err) {
      if (isLakehouseError(err, 'NOT_FOUND')) continue; // released meanwhile: its commit is in the log
      if (!(err instanceof SyntaxError)) throw err;
    }
    // An unreadable lease protects what its own age could cover.
    record ??= {
      id: meta.path,
      startedAt: meta.lastModified - LEASE_TTL_MS,
      expiresAt: meta.lastModified + LEASE_TTL_MS,
      operation: 'unknown',
      host: 'unknown',
      pid: 0,
    };
    if (record.expiresAt + CLOCK_SKEW_MS > now) {
      result.live.push(record);
      result.protectFrom = Math.min(result.protectFrom, record.startedAt - CLOCK_SKEW_MS);
    } else if (record.expiresAt + EXPIRED_LEASE_GRACE_MS < now) {
      result.expired.push(meta.path);
    }
  }
  return result;
}

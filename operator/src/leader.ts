/**
 * Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * a candidate takes the Lease when it is free or its holder has not renewed it for
 * `leaseDurationMs`; the leader renews it every `retryPeriodMs` and steps down when it could not
 * renew for `renewDeadlineMs` (shorter than the lease duration, so the old leader has stopped
 * before anyone else may take over). Writes carry the resourceVersion read, so two candidates
 * never both win: the second gets 409 Conflict.
 */
import { ApiException, CoordinationV1Api, KubeConfig, type V1Lease } from './kube.js';
import type { Logger } from 'pino';

export interface LeaderElectionOptions {
  readonly namespace: string;
  readonly name: string;
  /** Unique per process: the pod name, or host and pid. */
  readonly identity: string;
  /** Default 15 s. */
  readonly leaseDurationMs?: number;
  /** Default 10 s. */
  readonly renewDeadlineMs?: number;
  /** Default 2 s. */
  readonly retryPeriodMs?: number;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  /** Called once when leadership is lost (or given up on stop). */
  readonly onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private observedRecord = '';
  private observedAt = 0;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Stop campaigning; a leader releases the Lease so a follower takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      try {
        const lease = await this.read();
        if (lease?.spec?.holderIdentity === this.options.identity) {
          lease.spec.holderIdentity = undefined;
          lease.spec.renewTime = undefined;
          lease.spec.acquireTime = undefined;
          lease.spec.leaseDurationSeconds = 1;
          await this.api.replaceNamespacedLease({
            namespace: this.options.namespace,
            name: this.options.name,
            body: lease,
          });
        }
      } catch (err) {
        this.options.log.warn({ err: (err as Error).message }, 'releasing the leader Lease failed');
      }
      this.options.onStoppedLeading();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await this.api.readNamespacedLease({
        namespace: this.options.namespace,
        name: this.options.name,
      });
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return null;
      throw err;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message }, 'leader election: Lease update failed');
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.options.log.info(
          { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity },
          'became leader',
        );
        this.options.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew >= this.renewDeadlineMs) {
      this.leading = false;
      this.options.log.warn({ identity: this.options.identity }, 'lost the leader Lease; stopping work');
      this.options.onStoppedLeading();
    }
    this.schedule();
  }

  /** True when this process holds the Lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = microTime(new Date());
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    const lease = await this.read();
    if (!lease) {
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: identity,
              leaseDurationSeconds: durationSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (err) {
        if (err instanceof ApiException && err.code === 409) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    // Expiry is judged by when this process saw the record change, not by the holder's clock.
    const record = `${holder ?? ''}|${spec.renewTime ? new Date(spec.renewTime).toISOString() : ''}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = Date.now();
    }
    if (holder && holder !== identity) {
      const expires = this.observedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (Date.now() < expires) return false;
    }
    const taking = holder !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: now,
      ...(taking
        ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + (holder ? 1 : 0) }
        : {}),
    };
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: lease });
      return true;
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) return false;
      throw err;
    }
  }
}

/** A metav1.MicroTime (`2006-01-02T15:04:05.000000Z`): the API server refuses milliseconds-only times. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

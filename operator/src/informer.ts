/**
 * A list+watch cache of LakeTables: list once, then watch from the list's resourceVersion; a
 * watch that ends is resumed from the last resourceVersion seen (bookmarks keep it fresh), and
 * when the server answers 410 Gone (the version was compacted away) the informer lists again and
 * reports what changed meanwhile, deletions included. Every `resyncMs` every cached object is
 * handed to the handler again, so nothing is forgotten if an event was lost.
 *
 * The cache keeps what a reconcile reads (metadata, spec, status) and drops `metadata.managedFields`
 * (the server-side-apply bookkeeping of every writer, often larger than the spec): writes re-read
 * the object from the API server, so nothing is lost.
 */
import type { Logger } from 'pino';
import { CustomObjectsApi, KubeConfig, Watch } from './kube.js';
import { GROUP, PLURAL, VERSION, tableKey } from './names.js';
import type { KubeLakeTable } from './types.js';

export type InformerEvent = 'added' | 'modified' | 'deleted' | 'resync';

export interface InformerOptions {
  /** Watch one namespace; undefined: all namespaces. */
  readonly namespace?: string;
  /** Hand every cached object to the handler again this often. Default 10 min. */
  readonly resyncMs?: number;
  /** Longest pause between attempts when the API server cannot be reached. Default 30 s. */
  readonly maxRetryMs?: number;
  /** Seconds a single watch request lasts before the server ends it (then it is resumed). Default 300. */
  readonly watchTimeoutSeconds?: number;
  readonly onEvent: (
    event: InformerEvent,
    key: string,
    table: KubeLakeTable,
    previous?: KubeLakeTable,
  ) => void;
  readonly log: Logger;
}

export class LakeTableInformer {
  private readonly cache = new Map<string, KubeLakeTable>();
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  private resourceVersion = '';
  private stopped = false;
  private watchAbort: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private synced = false;
  private failures = 0;
  /** Times the informer listed (the first list and each re-list). */
  lists = 0;

  constructor(
    kc: KubeConfig,
    private readonly options: InformerOptions,
  ) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(kc);
  }

  /** The cached object of `namespace/name`, if any. */
  get(key: string): KubeLakeTable | undefined {
    return this.cache.get(key);
  }

  keys(): string[] {
    return [...this.cache.keys()];
  }

  /** True once the first list has filled the cache. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Start listing and watching; resolves after the first successful list. */
  async start(): Promise<void> {
    await new Promise<void>((resolve) => {
      void this.relist(resolve);
    });
    const resync = this.options.resyncMs ?? 600_000;
    this.resyncTimer = setInterval(() => {
      for (const [key, table] of this.cache) this.options.onEvent('resync', key, table);
    }, resync);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.retryTimer);
    this.watchAbort?.abort();
  }

  private path(): string {
    const ns = this.options.namespace;
    return ns
      ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
  }

  private retryLater(what: () => void): void {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(this.options.maxRetryMs ?? 30_000, 250 * 2 ** Math.min(this.failures, 10));
    this.retryTimer = setTimeout(what, delay);
  }

  private async relist(onSynced?: () => void): Promise<void> {
    if (this.stopped) return;
    try {
      const ns = this.options.namespace;
      const list = (
        ns
          ? await this.api.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace: ns,
              plural: PLURAL,
            })
          : await this.api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
      ) as { items: KubeLakeTable[]; metadata: { resourceVersion: string } };
      this.lists++;
      this.failures = 0;
      const seen = new Set<string>();
      for (const item of list.items) {
        const key = tableKey(item.metadata.namespace, item.metadata.name);
        seen.add(key);
        const previous = this.cache.get(key);
        slim(item);
        this.cache.set(key, item);
        if (!previous) this.options.onEvent('added', key, item);
        else if (previous.metadata.resourceVersion !== item.metadata.resourceVersion)
          this.options.onEvent('modified', key, item, previous);
      }
      for (const [key, table] of this.cache) {
        if (!seen.has(key)) {
          this.cache.delete(key);
          this.options.onEvent('deleted', key, table);
        }
      }
      this.resourceVersion = list.metadata.resourceVersion;
      this.synced = true;
      onSynced?.();
      this.options.log.debug(
        { tables: list.items.length, resourceVersion: this.resourceVersion },
        'listed LakeTables',
      );
      void this.watch();
    } catch (err) {
      this.options.log.warn({ err: errorText(err) }, 'listing LakeTables failed; retrying');
      this.retryLater(() => void this.relist(onSynced));
    }
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    let gone = false;
    let ended = false;
    const finish = (err: unknown): void => {
      if (ended || this.stopped) return;
      ended = true;
      if (gone) {
        this.options.log.info('watch expired (410 Gone); listing again');
        void this.relist();
      } else if (err) {
        this.options.log.warn({ err: errorText(err) }, 'watch failed; resuming');
        this.retryLater(() => void this.watch());
      } else {
        // The server ended the watch (timeout): resume from the last version at once.
        void this.watch();
      }
    };
    try {
      this.watchAbort = await this.watcher.watch(
        this.path(),
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
        },
        (phase: string, obj: KubeLakeTable & { code?: number }) => {
          if (phase === 'ERROR') {
            if (obj.code === 410) gone = true;
            else this.options.log.warn({ status: obj }, 'watch error event');
            this.watchAbort?.abort();
            return;
          }
          const rv = obj.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (phase === 'BOOKMARK') return;
          this.failures = 0;
          const key = tableKey(obj.metadata.namespace, obj.metadata.name);
          const previous = this.cache.get(key);
          if (phase === 'DELETED') {
            this.cache.delete(key);
            this.options.onEvent('deleted', key, obj, previous);
          } else {
            slim(obj);
            this.cache.set(key, obj);
            this.options.onEvent(previous ? 'modified' : 'added', key, obj, previous);
          }
        },
        (err: unknown) => {
          // 410 as the answer itself (not as an ERROR event in the stream): list again too.
          if ((err as { statusCode?: number } | null)?.statusCode === 410) gone = true;
          finish(gone ? null : err);
        },
      );
    } catch (err) {
      if ((err as { statusCode?: number; code?: number }).statusCode === 410) gone = true;
      finish(err);
    }
  }
}

/** Drop what no reconcile reads from a cached object (see the module comment). */
function slim(table: KubeLakeTable): void {
  delete (table.metadata as { managedFields?: unknown }).managedFields;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

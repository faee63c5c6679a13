/**
 * Kubernetes Events on LakeTables (core/v1, what `kubectl describe` shows): one per action and
 * per failure. Recording an Event never fails a reconcile: a refused Event is logged and dropped.
 */
import { CoreV1Api } from './kube.js';
import type { Logger } from 'pino';
import { LAKETABLE_API_VERSION, LAKETABLE_KIND } from '../../lib/spec/index.js';
import { COMPONENT } from './names.js';
import type { KubeLakeTable } from './types.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  constructor(
    private readonly core: CoreV1Api,
    private readonly log: Logger,
    private readonly host: string,
  ) {}

  async record(table: KubeLakeTable, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = table.metadata.namespace ?? 'default';
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${table.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: LAKETABLE_API_VERSION,
            kind: LAKETABLE_KIND,
            name: table.metadata.name,
            namespace,
            uid: table.metadata.uid,
            resourceVersion: table.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.length > 1000 ? `${message.slice(0, 999)}…` : message,
          source: { component: COMPONENT, host: this.host },
          reportingComponent: COMPONENT,
          reportingInstance: this.host,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log.warn(
        { table: `${namespace}/${table.metadata.name}`, reason, err: (err as Error).message },
        'recording an Event failed',
      );
    }
  }
}

/**
 * Every Kubernetes permission the operator's code uses, next to the code: base/rbac.yaml must
 * grant exactly these (test/operator/deploy.test.ts compares them), and the leader-election test
 * runs two operators as the ServiceAccount with only that RBAC.
 */
export interface Permission {
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  /** cluster: ClusterRole bound cluster-wide; operator-namespace: Role in the operator's namespace;
   * tenant-namespace: ClusterRole bound by a RoleBinding in each namespace that opts in. */
  readonly scope: 'cluster' | 'operator-namespace' | 'tenant-namespace';
  readonly usedBy: string;
}

export const OPERATOR_PERMISSIONS: readonly Permission[] = [
  {
    group: 'lakehouse.dev',
    resource: 'laketables',
    verbs: ['get', 'list', 'watch', 'update'],
    scope: 'cluster',
    usedBy: 'informer.ts, status.ts, controller.ts (finalizers)',
  },
  {
    group: 'lakehouse.dev',
    resource: 'laketables/status',
    verbs: ['update'],
    scope: 'cluster',
    usedBy: 'status.ts patchStatus',
  },
  {
    group: 'lakehouse.dev',
    resource: 'laketables/finalizers',
    verbs: ['update'],
    scope: 'cluster',
    usedBy: 'controller.ts (OwnerReferencesPermissionEnforcement)',
  },
  { group: '', resource: 'events', verbs: ['create'], scope: 'cluster', usedBy: 'events.ts' },
  {
    group: 'batch',
    resource: 'jobs',
    verbs: ['list', 'watch'],
    scope: 'cluster',
    usedBy: 'jobs.ts (the cache of compaction Jobs, by label, in every LakeTable namespace)',
  },
  { group: '', resource: 'secrets', verbs: ['get'], scope: 'tenant-namespace', usedBy: 'credentials.ts' },
  {
    group: 'batch',
    resource: 'jobs',
    verbs: ['create'],
    scope: 'tenant-namespace',
    usedBy: 'jobs.ts (compaction Jobs, only in namespaces that opt in)',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'create', 'update'],
    scope: 'operator-namespace',
    usedBy: 'leader.ts',
  },
];

import type { LakeTable } from '../../lib/spec/index.js';

/** A LakeTable as the API server returns it: the user's document plus server-set metadata. */
export type KubeLakeTable = LakeTable & {
  metadata: LakeTable['metadata'] & {
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    finalizers?: string[];
    creationTimestamp?: string;
  };
};

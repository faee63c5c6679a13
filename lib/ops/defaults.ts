/**
 * Defaults of the maintenance operations, in one place: the code reads them with `??` and the
 * README quotes them. `lib/spec` (LakeTable defaults) must agree; a test checks it.
 */
export const OPS_DEFAULTS = {
  /** OPTIMIZE bin-packs toward files of this size. */
  targetFileSize: 128 * 1024 * 1024,
  /** Files at or above this share of the target are left alone (and are not "small"). */
  minFileSizeRatio: 0.75,
} as const;

/** The size below which a file counts as small, for a target file size. */
export function minFileSize(targetFileSize: number = OPS_DEFAULTS.targetFileSize): number {
  return Math.floor(targetFileSize * OPS_DEFAULTS.minFileSizeRatio);
}

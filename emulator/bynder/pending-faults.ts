/**
 * Faults that must hit one kind of call whichever path reading the client uses (both chunk
 * paths, both finalise paths, all four save paths), and, for the legacy finalise, only after
 * the body showed it is a finalise and not a part registration on the same path; a lost save
 * response only once the save succeeded (a refused save answers as usual). The generic
 * fault controller matches one route template per fault, so these are counted here and taken
 * by the handlers themselves.
 */

export type PendingFaultKind = 'chunk500' | 'finalise500' | 'lostSaveResponse';

export class PendingFaults {
  private readonly pending: Record<PendingFaultKind, number> = { chunk500: 0, finalise500: 0, lostSaveResponse: 0 };
  private readonly applied: Record<PendingFaultKind, number> = { chunk500: 0, finalise500: 0, lostSaveResponse: 0 };

  add(kind: PendingFaultKind, times = 1): void {
    if (!(times > 0)) throw new RangeError(`Fault times must be positive, got ${times}`);
    this.pending[kind] += times;
  }

  /** True (and one application used up) when a fault of this kind is pending. */
  take(kind: PendingFaultKind): boolean {
    if (this.pending[kind] <= 0) return false;
    this.pending[kind]--;
    this.applied[kind]++;
    return true;
  }

  clear(): void {
    for (const kind of Object.keys(this.pending) as PendingFaultKind[]) this.pending[kind] = 0;
  }

  describe(): { pending: Record<PendingFaultKind, number>; applied: Record<PendingFaultKind, number> } {
    return { pending: { ...this.pending }, applied: { ...this.applied } };
  }
}

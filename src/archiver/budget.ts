/**
 * One memory budget for everything the archiver buffers, whatever the number of partitions:
 * the bytes held by every open batch and every closed batch not yet durable, across all
 * partition writers (`Batch.heldBytes`: compressed output, staging chunk, deflate state).
 *
 * When the total exceeds the budget, the largest open batch is closed early (it becomes an
 * object sooner and smaller than the flush policy would make it); when closing cannot bring the
 * total under the budget (everything held is already closed and waiting for S3), the budget is
 * `blocked`: writers answer `full` to new records, so the consumer pauses fetching until
 * uploads drain.
 *
 * Why an early cut keeps exactly-once: a cut is only an in-memory decision until its boundary is
 * written to the ledger (created only if absent) before the object is uploaded, exactly like a
 * cut by age. After a crash the recorded boundary is re-read and the same range is rewritten;
 * an unrecorded cut simply never existed (no object can exist without its ledger entry). So the
 * objects still tile the offsets: where a cut falls never matters, only that it is recorded
 * before data exists and never re-decided afterwards.
 *
 * @module
 */

/** What the budget needs from a partition writer. */
export interface BudgetMember {
  /** Bytes held by the open batch (0 without one). */
  readonly openBytes: number;
  /** Bytes held by closed batches not yet durable. */
  readonly queuedBytes: number;
  /** True when the open batch may be closed now (not a recorded re-upload, queue not full). */
  readonly canCutEarly: boolean;
  /** Closes the open batch now. */
  cutEarly(): void;
}

/** Default budget (`NEXUS_ARCHIVE_MAX_BUFFER_BYTES`): 64 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 64 * 1024 * 1024;

/** The archiver-wide buffer budget. */
export class BufferBudget {
  readonly limit: number;
  readonly #members = new Set<BudgetMember>();
  #blocked = false;
  /** Batches closed early for memory (status and tests). */
  earlyCuts = 0;
  /** Largest total seen by `enforce` (status and tests). */
  peakBytes = 0;

  constructor(limit: number) {
    if (!(limit > 0)) throw new RangeError(`buffer budget must be positive, got ${limit}`);
    this.limit = limit;
  }

  add(m: BudgetMember): void {
    this.#members.add(m);
  }

  remove(m: BudgetMember): void {
    this.#members.delete(m);
    this.#blocked = false; // re-evaluated at the next enforce
  }

  /** Bytes held now by all members. */
  total(): number {
    let n = 0;
    for (const m of this.#members) n += m.openBytes + m.queuedBytes;
    return n;
  }

  /** True when new records must wait (fetching paused) until uploads bring the total down. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /**
   * Brings the total under the limit by closing the largest open batches; sets `blocked` when
   * that is not enough. Returns the number of batches closed.
   */
  enforce(): number {
    let total = 0;
    const open: { m: BudgetMember; bytes: number }[] = [];
    for (const m of this.#members) {
      const o = m.openBytes;
      total += o + m.queuedBytes;
      if (o > 0) open.push({ m, bytes: o });
    }
    if (total > this.peakBytes) this.peakBytes = total;
    let cuts = 0;
    if (total > this.limit) {
      open.sort((a, b) => b.bytes - a.bytes);
      // Cut largest first until what is left open fits: a cut batch stops growing, compresses
      // to its body and leaves memory once uploaded, so it counts as relieved for the decision.
      let relieved = total;
      for (const { m, bytes } of open) {
        if (relieved <= this.limit) break;
        if (!m.canCutEarly) continue;
        m.cutEarly();
        cuts++;
        relieved -= bytes;
      }
      total = 0;
      for (const m of this.#members) total += m.openBytes + m.queuedBytes;
    }
    this.earlyCuts += cuts;
    // Over budget even after the cuts (closed batches wait for S3): new records must wait.
    this.#blocked = total > this.limit;
    return cuts;
  }
}

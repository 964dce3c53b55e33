/**
 * Fair turns for tenants on the gateway's one event loop. In production every tenant has its own
 * API Gateway capacity; here one process serves them all, so a tenant flooding it with requests
 * (each answered, or refused with 429) would make every other tenant's request wait behind the
 * whole burst. Work is queued per tenant and run round-robin: one task of each waiting tenant per
 * round, rounds run until a time slice is used up, then the loop takes in I/O again. A tenant with
 * one request waiting is served after at most one task of each other tenant, however long their
 * queues.
 */

/** How long one drain may run before the event loop takes in I/O again (ms). */
export const FAIR_SLICE_MS = 2;

export class FairQueue {
  /** Tenant → its waiting tasks; the Map's order is the round-robin order. */
  private readonly queues = new Map<string, Array<() => void>>();
  private scheduled = false;

  constructor(private readonly sliceMs = FAIR_SLICE_MS, private readonly now: () => number = () => performance.now()) {}

  /** Tasks waiting, all tenants together. */
  get waiting(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  /** Runs `task` on a later turn of the event loop, fairly among tenants. A task that throws is dropped. */
  run(tenant: string, task: () => void): void {
    const queue = this.queues.get(tenant);
    if (queue === undefined) this.queues.set(tenant, [task]);
    else queue.push(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const deadline = this.now() + this.sliceMs;
    while (this.queues.size > 0) {
      for (const [tenant, queue] of this.queues) {
        const task = queue.shift()!;
        if (queue.length === 0) this.queues.delete(tenant);
        try {
          task();
        } catch {
          // the task's own error handling answers its request
        }
      }
      if (this.now() >= deadline) break;
    }
    if (this.queues.size > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  };
}

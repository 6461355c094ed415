// Bounds how many async operations run at once; the rest wait in arrival order, those run with
// `priority` ahead of the others. With maxWaiting, the wait is bounded too (all waiters counted):
// past it, run() refuses at once (SemaphoreFullError) instead of queueing without end, so a
// flood costs a quick refusal rather than memory and latency for all.
export class SemaphoreFullError extends Error {
  override name = 'SemaphoreFullError'
  readonly running: number
  readonly waiting: number
  constructor(running: number, waiting: number) {
    super(`${running} running and ${waiting} waiting, the most allowed`)
    this.running = running
    this.waiting = waiting
  }
}

export class Semaphore {
  #free: number
  readonly #size: number
  readonly #maxWaiting: number
  readonly #waiters: (() => void)[] = []
  readonly #priorityWaiters: (() => void)[] = []
  constructor(size: number, o: { readonly maxWaiting?: number } = {}) {
    if (!(size >= 1)) throw new RangeError('Semaphore size must be at least 1')
    const maxWaiting = o.maxWaiting ?? Infinity
    if (!(maxWaiting >= 0)) throw new RangeError('Semaphore maxWaiting must be at least 0')
    this.#free = size
    this.#size = size
    this.#maxWaiting = maxWaiting
  }

  /** Operations waiting for a slot. */
  get waiting(): number {
    return this.#waiters.length + this.#priorityWaiters.length
  }

  async run<T>(fn: () => Promise<T>, o: { readonly priority?: boolean } = {}): Promise<T> {
    if (this.#free > 0) this.#free--
    else if (this.waiting >= this.#maxWaiting)
      throw new SemaphoreFullError(this.#size, this.waiting)
    else {
      const queue = o.priority ? this.#priorityWaiters : this.#waiters
      await new Promise<void>((resolve) => queue.push(resolve))
    }
    try {
      return await fn()
    } finally {
      const next = this.#priorityWaiters.shift() ?? this.#waiters.shift()
      if (next) next()
      else this.#free++
    }
  }
}

// Bounds how many async operations run at once; the rest wait in arrival order.
export class Semaphore {
  #free: number
  readonly #waiters: (() => void)[] = []
  constructor(size: number) {
    if (!(size >= 1)) throw new RangeError('Semaphore size must be at least 1')
    this.#free = size
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--
    else await new Promise<void>((resolve) => this.#waiters.push(resolve))
    try {
      return await fn()
    } finally {
      const next = this.#waiters.shift()
      if (next) next()
      else this.#free++
    }
  }
}

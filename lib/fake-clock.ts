// Fake Clock for unit tests: time moves only when the test calls advance().
import type { Clock } from './clock.ts'

export class FakeClock implements Clock {
  #now: number
  #timers: { at: number; fn: () => void; id: number }[] = []
  #nextId = 0
  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start
  }
  now(): number {
    return this.#now
  }
  setTimer(fn: () => void, ms: number): () => void {
    const id = this.#nextId++
    this.#timers.push({ at: this.#now + Math.max(0, ms), fn, id })
    return () => {
      this.#timers = this.#timers.filter((t) => t.id !== id)
    }
  }
  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#timers.length
  }
  /** Moves time forward, firing due timers in order (and letting promises settle between). */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      // Let pending promise chains register their timers before looking for due ones.
      await settle()
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id)
      const next = this.#timers[0]
      if (!next || next.at > end) break
      this.#timers.shift()
      this.#now = next.at
      next.fn()
      await settle()
    }
    this.#now = end
    await settle()
  }
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r))
}

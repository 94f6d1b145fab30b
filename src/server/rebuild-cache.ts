// Answers kept for a moment and rebuilt behind the clients that read them (stale-while-rebuild), for torrent-get.
//
// Sonarr, Radarr and dashboards poll the same torrent-get many times a second; with a thousand torrents one answer
// is tens of milliseconds of work. So an answer younger than `freshMs` is reused as it is; up to `staleMs` it is
// still sent while one rebuild runs behind it; older, or after clear() (anything changed), the next request waits
// for a new build — and every request arriving meanwhile waits for that same build instead of starting its own.
// A build that a clear() overtook still answers the requests that asked before the change, but is not kept.

export interface RebuildCacheOptions<V> {
  freshMs: number
  staleMs: number
  /** Most keys kept (distinct field lists); past it the cache starts over. */
  maxKeys?: number
  /** Work that must be done before a rebuilt value replaces the one being served (e.g. its gzip). */
  prepare?: (value: V) => Promise<unknown>
  now?: () => number
}

interface Slot<V> {
  /** When the build of `value` started: its age counts from what it could have seen. */
  at: number
  value?: V
  building?: Promise<V>
  refreshing?: boolean
}

export class RebuildCache<V> {
  private slots = new Map<string, Slot<V>>()
  private readonly now: () => number
  private readonly maxKeys: number

  constructor(private readonly opts: RebuildCacheOptions<V>) {
    this.now = opts.now ?? Date.now
    this.maxKeys = opts.maxKeys ?? 32
  }

  /** Forget every answer: the next request for any key waits for a build that starts after this call. */
  clear(): void {
    this.slots.clear()
  }

  get size(): number {
    return this.slots.size
  }

  /** The value for `key`: kept, stale with a rebuild started behind it, or built (once for all who ask meanwhile). */
  get(key: string, build: () => Promise<V>): V | Promise<V> {
    const slot = this.slots.get(key)
    if (slot?.value !== undefined) {
      const age = this.now() - slot.at
      if (age < this.opts.freshMs) return slot.value
      if (age < this.opts.staleMs) {
        if (!slot.refreshing) this.refresh(key, slot, build)
        return slot.value
      }
    }
    if (slot?.building) return slot.building
    if (!slot && this.slots.size >= this.maxKeys) this.slots.clear()
    const fresh: Slot<V> = { at: this.now() }
    this.slots.set(key, fresh)
    fresh.building = build().then(
      (value) => {
        if (this.slots.get(key) === fresh) {
          fresh.value = value
          fresh.building = undefined
        }
        return value
      },
      (err: unknown) => {
        if (this.slots.get(key) === fresh) this.slots.delete(key) // the next request tries again
        throw err
      },
    )
    return fresh.building
  }

  private refresh(key: string, slot: Slot<V>, build: () => Promise<V>): void {
    slot.refreshing = true
    const at = this.now()
    const done = async () => {
      const value = await build()
      if (this.opts.prepare) await this.opts.prepare(value)
      if (this.slots.get(key) === slot) this.slots.set(key, { at, value })
    }
    done().catch(() => {
      // The stale answer stops being served; the next request builds and reports what went wrong.
      if (this.slots.get(key) === slot) this.slots.delete(key)
    })
  }
}

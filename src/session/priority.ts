// Piece priority classes, low to high. The picker downloads higher classes first; `none` is never fetched.
// Within `now` and `readahead` pieces go in position order; within the others, rarest first.

export const Priority = {
  none: 0,
  normal: 1,
  high: 2,
  readahead: 3,
  now: 4,
} as const
export type Priority = (typeof Priority)[keyof typeof Priority]

/** A set of piece-priority wishes from one source (a Reader, a file selection); sources combine, highest wins. */
export interface PriorityHandle {
  /** Replace this handle's wishes: pieces first..last (inclusive) at `priority`. */
  set(ranges: ReadonlyArray<{ first: number; last: number; priority: Priority }>): void
  /** Drop all of this handle's wishes. */
  release(): void
}

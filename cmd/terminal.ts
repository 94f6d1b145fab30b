// Live lines at the bottom of a terminal (progress of one or more torrents, hashing): redrawn in place, always fitted
// to the current width (so autowrap never breaks them), redrawn when the terminal is resized, with log lines printed
// above them. Written here rather than with cli-progress, whose fixed-width bars overflow narrow terminals.

import { truncate, textWidth } from '../src/format.js'

const ESC = '\x1b['

export class LiveArea {
  /** Lengths of the lines on screen now, to know how many rows to erase after a resize rewrapped them. */
  private shown: number[] = []
  private stopped = false
  private readonly onResize = () => this.draw()
  private readonly onExit = () => this.stream.write(`${ESC}?25h`)

  /** `render(width)` returns the lines to show, each at most `width` columns. */
  constructor(private readonly render: (width: number) => string[], private readonly stream: NodeJS.WriteStream = process.stderr) {
    stream.write(`${ESC}?25l`) // hide the cursor while drawing
    stream.on('resize', this.onResize)
    process.on('exit', this.onExit)
  }

  /** Usable columns: one less than the terminal's, as writing the last column makes some terminals wrap. */
  width(): number {
    return Math.max(10, (this.stream.columns || 80) - 1)
  }

  /** Rows the lines on screen take at `columns` (a line longer than the terminal was wrapped by it). */
  private rowsShown(columns: number): number {
    return this.shown.reduce((rows, len) => rows + Math.max(1, Math.ceil(len / Math.max(1, columns))), 0)
  }

  private erase(): string {
    if (this.shown.length === 0) return ''
    const rows = this.rowsShown(this.stream.columns || 80)
    return `\r${rows > 1 ? `${ESC}${rows - 1}A` : ''}${ESC}J`
  }

  draw(): void {
    if (this.stopped) return
    const width = this.width()
    const lines = this.render(width).map((l) => truncate(l, width))
    this.stream.write(this.erase() + lines.join('\n'))
    this.shown = lines.map(textWidth)
  }

  /** A line above the live ones (a message that must not be drawn over). */
  log(line: string): void {
    if (this.stopped) {
      this.stream.write(line + '\n')
      return
    }
    this.stream.write(this.erase() + line + '\n')
    this.shown = []
    this.draw()
  }

  /** Draw a last time (or clear, with `clear`), leave the cursor below, and stop listening for resizes. */
  stop(opts: { clear?: boolean } = {}): void {
    if (this.stopped) return
    if (opts.clear) {
      this.stream.write(this.erase())
      this.shown = []
    } else {
      this.draw()
      if (this.shown.length) this.stream.write('\n')
    }
    this.stopped = true
    this.stream.write(`${ESC}?25h`)
    this.stream.off('resize', this.onResize)
    process.off('exit', this.onExit)
  }
}

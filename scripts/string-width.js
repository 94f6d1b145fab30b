// A small stand-in for the `string-width` package inside the yargs bundle (see bundle-yargs.js): columns of a
// string without ANSI escapes, wide East Asian characters counting two. The package's emoji handling (a very large
// regular expression, Intl.Segmenter) costs tens of milliseconds per `--help`, for text that is plain ASCII.
const ANSI = /[\u001b\u009b][[\]()#;?]*(?:(?:(?:[a-zA-Z\d]*(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g

function wide(cp) {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)
}

export default function stringWidth(s) {
  if (typeof s !== 'string' || s.length === 0) return 0
  let n = 0
  for (const ch of s.replace(ANSI, '')) {
    const cp = ch.codePointAt(0)
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (cp >= 0x300 && cp <= 0x36f) || cp === 0x200b || (cp >= 0xfe00 && cp <= 0xfe0f)) continue
    n += wide(cp) ? 2 : 1
  }
  return n
}

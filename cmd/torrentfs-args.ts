// torrentfs' command line as anacrolix's users type it: every long flag with one dash.

/**
 * anacrolix's torrentfs users type every flag with one dash (`-mountDir`, `-readahead 16M`, `-no-dht`): a single-dash
 * word of two or more letters is read as the long option. One-letter flags (-t, -v, -h) keep their meaning.
 */
export function longFlags(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--') return [...out, ...argv.slice(i)]
    out.push(/^-[A-Za-z][A-Za-z0-9-]+(=.*)?$/s.test(a) ? `-${a}` : a)
  }
  return out
}

// Bounded polling for tests.

export const delay = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Poll until fn() is truthy; throws after timeoutMs. `what` may be a function, so the message describes the state at
 * the time of the timeout rather than before the wait.
 */
export async function waitFor<T>(what: string | (() => string), fn: () => T | Promise<T>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)
    await delay(25)
  }
}

/** p, or an error after ms; `what` may be a function, to describe the state at the time of the timeout. */
export async function within<T>(p: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const t = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${typeof what === 'function' ? what() : what}`)), ms)
  })
  try {
    return await Promise.race([p, t])
  } finally {
    clearTimeout(timer)
  }
}

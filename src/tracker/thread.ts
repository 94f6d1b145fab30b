// Starts one of the tracker's worker threads (the state writer, the UDP front ends) from a module beside this one.
// Under tsx (tests) the worker is TypeScript too and needs the loader registered first; built code runs the .js file.

import { Worker } from 'node:worker_threads'

export function startThread(name: string, workerData: unknown): Worker {
  const ts = import.meta.url.endsWith('.ts')
  const url = new URL(`./${name}${ts ? '.ts' : '.js'}`, import.meta.url)
  return ts
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => m.register()).then(() => import(${JSON.stringify(url.href)}))`, { eval: true, workerData })
    : new Worker(url, { workerData })
}

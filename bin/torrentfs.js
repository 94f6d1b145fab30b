#!/usr/bin/env -S node --openssl-legacy-provider
import { ensureRc4 } from './rc4.js'

if (await ensureRc4()) await import('../dist/cmd/torrentfs.js')

#!/usr/bin/env node
import '../dist/cmd/torrentfs.js'

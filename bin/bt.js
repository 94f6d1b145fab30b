#!/usr/bin/env node
import '../dist/cmd/bt.js'

#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled by `npm run build` (run by `npm ci` via `prepare`).
require('../dist/src/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });

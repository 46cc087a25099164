#!/usr/bin/env node
// The `lonas` command: runs the compiled CLI, built into dist/ when the project is installed.
const path = require('path');
const fs = require('fs');

const entry = path.join(__dirname, '..', 'dist', 'tools', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(`lonas: ${entry} is missing; run 'npm run build' (npm ci does it) first\n`);
  process.exit(1);
}
require(entry)
  .main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error) => {
      process.stderr.write(`lonas: ${error && error.stack ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );

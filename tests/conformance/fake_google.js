// Starts the fake-google binary named by FAKE_GOOGLE_BIN on a free port for a Node test file.
//
//   const google = await startFakeGoogle(['--client', 'id:secret:uri', '--account', 'a@b.c']);
//   ... google.base ...          // "http://127.0.0.1:PORT"
//   google.stop();
'use strict';

const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const readline = require('node:readline');

async function startFakeGoogle(args) {
  const bin = process.env.FAKE_GOOGLE_BIN;
  assert.ok(bin, 'FAKE_GOOGLE_BIN must name the fake-google binary');
  const proc = spawn(bin, ['--port', '0', ...args], {stdio: ['ignore', 'pipe', 'inherit']});
  const lines = readline.createInterface({input: proc.stdout});
  const base = await new Promise((resolve, reject) => {
    proc.once('exit', code => reject(new Error(`fake-google exited with ${code}`)));
    lines.once('line', line => {
      const m = /^fake-google listening on (http:\/\/\S+)$/.exec(line);
      if (m) resolve(m[1]); else reject(new Error(`unexpected first line: ${line}`));
    });
  });
  return {base, stop: () => proc.kill('SIGTERM')};
}

module.exports = {startFakeGoogle};

/**
 * Real speech for the voice tests: Debian's recording of a person saying "go forward ten meters"
 * (pocketsphinx-testdata), encoded here to an OGG/Opus voice note with opusenc, and the pocketsphinx
 * command line that prints only what it heard. `npm test` installs both (test/system/tools.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireTool } from '../system/host.js';
import { POCKETSPHINX_CLIP } from '../system/tools.js';

export const SAID = 'go forward ten meters';

let ogg: Buffer | undefined;

/** The recording as a voice note (OGG/Opus, 16 kHz mono source), encoded once per test file. */
export function voiceNote(): Buffer {
  if (ogg) return ogg;
  const opusenc = requireTool('opusenc');
  requireTool('pocketsphinx');
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-speech-')), 'goforward.ogg');
  execFileSync(opusenc, ['--quiet', '--raw', '--raw-rate', '16000', '--raw-chan', '1', POCKETSPHINX_CLIP, out]);
  ogg = fs.readFileSync(out);
  fs.rmSync(path.dirname(out), { recursive: true, force: true });
  return ogg;
}

/** voice.command for pocketsphinx: its log goes nowhere, so it prints only the hypothesis. */
export function pocketsphinxCommand(): string[] {
  return [requireTool('pocketsphinx'), '-logfn', '/dev/null', '-infile', '{wav}'];
}

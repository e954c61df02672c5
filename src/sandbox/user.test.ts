import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveUser } from './user.js';

describe('sandbox.run_as_user', () => {
  const passwd = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-user-')), 'passwd');
  fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\ncligate-cli:x:998:997::/home/cli:/usr/sbin/nologin\n');

  it.skipIf(process.getuid?.() !== 0)('finds the user by name or uid', () => {
    expect(resolveUser('cligate-cli', passwd)).toEqual({ name: 'cligate-cli', uid: 998, gid: 997 });
    expect(resolveUser('998', passwd)).toEqual({ name: 'cligate-cli', uid: 998, gid: 997 });
  });

  it.skipIf(process.getuid?.() !== 0)('names the fix when there is no such user', () => {
    expect(() => resolveUser('nobody-here', passwd)).toThrow(/no user "nobody-here" on this machine\. Create one \(`useradd/);
  });

  it.skipIf(process.getuid?.() === 0)('needs the gateway to run as root', () => {
    expect(() => resolveUser('cligate-cli', passwd)).toThrow(/needs cligate to run as root/);
  });
});

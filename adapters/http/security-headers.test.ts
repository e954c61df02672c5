import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { securityHeaders } from './security-headers.js';

describe('security headers', () => {
  it('allow no framing by default, in both the old header and the policy', () => {
    const headers = securityHeaders([]);
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['content-security-policy']).toMatch(/script-src 'self';.*object-src 'none'/);
    expect(headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
  });

  it('open framing to the configured origins only, dropping X-Frame-Options (it cannot name several)', () => {
    const headers = securityHeaders(['https://intranet.example.com', 'http://127.0.0.1:9000']);
    expect(headers['x-frame-options']).toBeUndefined();
    expect(headers['content-security-policy']).toContain('frame-ancestors https://intranet.example.com http://127.0.0.1:9000');
  });

  it('take origins only from the config: a path or a second directive is refused', () => {
    for (const bad of ['https://example.com/app', "https://a.example; script-src 'unsafe-inline'", '*']) {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-config-')), 'cligate.toml');
      fs.writeFileSync(file, stringify({ http: { frame_ancestors: [bad] } }));
      const result = loadConfig(file, {});
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/http\.frame_ancestors\[0\]: an origin such as/);
    }
  });
});

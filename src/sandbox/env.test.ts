import { describe, expect, it } from 'vitest';
import { allowedVariable, cleanEnv } from './env.js';

const gateway = {
  PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC', TERM: 'xterm', HTTPS_PROXY: 'http://proxy:3128',
  SLACK_SIGNING_SECRET: 's3cret', SLACK_BOT_TOKEN: 'xoxb-1', TELEGRAM_BOT_TOKEN: '1:abc', DISCORD_BOT_TOKEN: 'd',
  REDIS_URL: 'redis://:pw@redis:6379', CLIGATE_DATA_DIR: '/data', AWS_SECRET_ACCESS_KEY: 'aws', SOMETHING_UNKNOWN: 'x',
  ANTHROPIC_API_KEY: 'sk-ant', CLAUDE_CODE_MAX_RETRIES: '0', CLAUDE_CONFIG_DIR: '/login', DISABLE_TELEMETRY: '1',
  OPENAI_API_KEY: 'sk-openai', CODEX_HOME: '/codex', GEMINI_API_KEY: 'g', GOOGLE_CLOUD_PROJECT: 'p',
};

describe('the CLI environment allow-list', () => {
  it('passes what any program needs and nothing of the gateway', () => {
    for (const engine of ['claude', 'codex', 'gemini'] as const) {
      const env = cleanEnv(engine, gateway);
      expect(env).toMatchObject({ PATH: '/usr/bin', HOME: '/root', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', TZ: 'UTC', TERM: 'xterm', HTTPS_PROXY: 'http://proxy:3128' });
      for (const secret of ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'TELEGRAM_BOT_TOKEN', 'DISCORD_BOT_TOKEN', 'REDIS_URL', 'CLIGATE_DATA_DIR', 'AWS_SECRET_ACCESS_KEY', 'SOMETHING_UNKNOWN']) {
        expect(env, `${engine} must not get ${secret}`).not.toHaveProperty(secret);
      }
    }
  });

  it('gives each engine its own login variables only', () => {
    expect(Object.keys(cleanEnv('claude', gateway))).toEqual(expect.arrayContaining(['ANTHROPIC_API_KEY', 'CLAUDE_CODE_MAX_RETRIES', 'CLAUDE_CONFIG_DIR', 'DISABLE_TELEMETRY']));
    expect(cleanEnv('claude', gateway)).not.toHaveProperty('OPENAI_API_KEY');
    expect(cleanEnv('codex', gateway)).toMatchObject({ OPENAI_API_KEY: 'sk-openai', CODEX_HOME: '/codex' });
    expect(cleanEnv('codex', gateway)).not.toHaveProperty('ANTHROPIC_API_KEY');
    expect(cleanEnv('gemini', gateway)).toMatchObject({ GEMINI_API_KEY: 'g', GOOGLE_CLOUD_PROJECT: 'p' });
    expect(cleanEnv('gemini', gateway)).not.toHaveProperty('OPENAI_API_KEY');
  });

  it('engine.<name>.env is added and wins', () => {
    const env = cleanEnv('codex', gateway, { OPENAI_API_KEY: 'from-config', AZURE_OPENAI_API_KEY: 'azure' });
    expect(env).toMatchObject({ OPENAI_API_KEY: 'from-config', AZURE_OPENAI_API_KEY: 'azure' });
  });

  it('a whole name is not a prefix: IS_SANDBOX passes, IS_SANDBOXED does not', () => {
    expect(allowedVariable('claude', 'IS_SANDBOX')).toBe(true);
    expect(allowedVariable('claude', 'IS_SANDBOXED')).toBe(false);
    expect(allowedVariable('claude', 'CLAUDE_CONFIG_DIRECTORY')).toBe(false);
  });
});

/**
 * The environment a CLI starts with: an allow-list, never the gateway's whole environment. The
 * gateway holds platform tokens, REDIS_URL with its password and CLIGATE_* settings; a CLI that
 * runs `env` for a chat must see none of them. What passes: what any program needs to run (PATH,
 * locale, time zone, terminal, proxies), the engine's own login and behaviour variables, and the
 * operator's `engine.<name>.env`, which wins over everything.
 */
import type { EngineName } from '../config/schema.js';

/** Names every CLI gets, whatever the engine. */
const COMMON = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'COLORTERM', 'NO_COLOR', 'TMPDIR'];
const COMMON_PREFIXES = ['LC_'];

/** Proxies and their CA bundles, so a CLI behind a corporate proxy still reaches its API. */
const PROXY = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

/**
 * Each engine's own variables. Claude's DISABLE_* switches keep it from calling home (each lookup
 * of api.anthropic.com costs up to a second offline); IS_SANDBOX lets root bypass permissions.
 */
const ENGINE_PREFIXES: Record<EngineName, string[]> = {
  claude: ['ANTHROPIC_', 'CLAUDE_CODE_', 'CLAUDE_CONFIG_DIR', 'DISABLE_', 'IS_SANDBOX', 'MCP_TIMEOUT', 'MCP_TOOL_TIMEOUT'],
  codex: ['OPENAI_', 'CODEX_'],
  gemini: ['GEMINI_', 'GOOGLE_'],
};

/** Whether the gateway's variable `name` may reach the `engine`'s CLI. */
export function allowedVariable(engine: EngineName, name: string): boolean {
  if (COMMON.includes(name) || PROXY.includes(name)) return true;
  if (COMMON_PREFIXES.some((p) => name.startsWith(p))) return true;
  // A prefix ending in "_" covers a family; a whole name must match exactly.
  return ENGINE_PREFIXES[engine].some((p) => (p.endsWith('_') ? name.startsWith(p) : name === p));
}

/** The CLI's environment: the allowed part of `source`, then `configured` (engine.<name>.env) over it. */
export function cleanEnv(engine: EngineName, source: NodeJS.ProcessEnv, configured: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) {
    if (value !== undefined && allowedVariable(engine, name)) env[name] = value;
  }
  return { ...env, ...configured };
}

/**
 * matrix-js-sdk logs to the console at debug level, and logs endpoints a homeserver lacks (an
 * unstable RTC one, say) as errors. The client's own log goes to the gateway's logger at debug
 * level instead; the SDK's global logger, used by a few parts (calls, rooms), is silenced.
 */
import { logger as globalSdkLogger, type Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from '../../src/log.js';

type Sink = (...parts: unknown[]) => void;

export function clientLogger(log: () => Logger | undefined, prefix = 'matrix-sdk'): SdkLogger {
  const at: Sink = (...parts) => log()?.debug({ sdk: prefix }, parts.map(describe).join(' '));
  return { trace: at, debug: at, info: at, warn: at, error: at, getChild: (name: string) => clientLogger(log, `${prefix}:${name}`) };
}

/** Child loggers copy the root's method factory when made, so this covers those made later too. */
export function silenceGlobalSdkLogger(): void {
  const root = globalSdkLogger as unknown as { methodFactory: unknown; rebuild?: () => void };
  root.methodFactory = () => () => {};
  root.rebuild?.();
}

function describe(part: unknown): string {
  if (part instanceof Error) return part.message;
  return typeof part === 'string' ? part : JSON.stringify(part) ?? String(part);
}

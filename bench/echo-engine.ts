/**
 * The bench's in-process engine: answers every turn with an echo of its prompt and spawns nothing, so
 * that what a bench measures is the gateway (HTTP, queue, store, delivery), not a CLI. Used by
 * bench/echo-gateway.ts (the ceiling) and bench/host.ts (the hosts part). Bench only.
 */
import type { Engine, EngineEvent, TurnOutcome, TurnRequest } from '../src/engine/types.js';

const SESSION = '22222222-2222-4222-8222-222222222222';

export class EchoEngine implements Engine {
  readonly name = 'claude' as const;
  private held?: Promise<void>;
  private letGo = () => {};
  answered = 0;

  /** Turns wait before answering (messages pile up) until open(). */
  hold(): void {
    this.held ??= new Promise((resolve) => (this.letGo = resolve));
  }

  open(): void {
    this.letGo();
    this.held = undefined;
  }

  async run(turn: TurnRequest, onEvent: (event: EngineEvent) => void): Promise<TurnOutcome> {
    if (this.held) await this.held;
    const text = `echo: ${turn.prompt}`;
    onEvent({ type: 'text', text });
    this.answered++;
    return { ok: true, text, sessionId: SESSION, costUsd: 0, durationMs: 0 };
  }

  async release(): Promise<void> {}
  async check() {
    return { ok: true, message: 'echo' };
  }
  async close(): Promise<void> {}
}

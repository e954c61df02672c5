/**
 * The CLI's questions to its host (`--permission-prompt-tool stdio`): a `control_request` line on
 * stdout pauses the turn until one `control_response` line on stdin answers it. This turns the
 * request into a `PermissionAsk`, asks through the turn's `ask`, and writes the answer back. Nothing
 * here hangs: no `ask` (a doctor run) denies at once, and the job timeout is paused only while a
 * person is being asked.
 */
import { questionsOf, type Decision, type PermissionAsk } from '../../approvals/types.js';
import type { TurnRequest } from '../types.js';

export interface ControlRequest {
  requestId: string;
  subtype: string;
  body: any;
}

/** The control request carried by a stream-json line, if it is one. */
export function controlRequestOf(event: any): ControlRequest | undefined {
  if (event?.type !== 'control_request' || typeof event.request_id !== 'string' || typeof event.request?.subtype !== 'string') return undefined;
  return { requestId: event.request_id, subtype: event.request.subtype, body: event.request };
}

/** A `can_use_tool` request as cligate's typed ask. */
export function askOf(body: any): PermissionAsk {
  const tool = typeof body.tool_name === 'string' ? body.tool_name : 'a tool';
  const input = body.input && typeof body.input === 'object' ? (body.input as Record<string, unknown>) : {};
  const suggestions = Array.isArray(body.permission_suggestions) ? body.permission_suggestions : [];
  if (tool === 'AskUserQuestion') return { kind: 'question', tool, input, suggestions, questions: questionsOf(input) };
  if (tool === 'ExitPlanMode') return { kind: 'plan', tool, input, suggestions };
  return { kind: 'tool', tool, input, suggestions };
}

/** Pauses the turn's timeout while a person decides. */
export interface TurnClock {
  pause(): void;
  resume(): void;
}

/** Answers one control request; returns the line to write on the CLI's stdin. */
export async function answerControl(request: ControlRequest, turn: TurnRequest, clock: TurnClock, signal: AbortSignal): Promise<unknown> {
  if (request.subtype !== 'can_use_tool') {
    return { type: 'control_response', response: { subtype: 'error', request_id: request.requestId, error: `cligate does not handle ${request.subtype}` } };
  }
  const ask = askOf(request.body);
  let decision: Decision;
  if (!turn.ask) {
    decision = { behavior: 'deny', message: 'Nobody can approve tools in this run.' };
  } else {
    clock.pause();
    try {
      decision = await turn.ask(ask, signal);
    } catch (err) {
      decision = { behavior: 'deny', message: `The request could not be shown to the person (${(err as Error).message}).` };
    } finally {
      clock.resume();
    }
  }
  const response = decision.behavior === 'allow'
    ? {
        behavior: 'allow',
        updatedInput: decision.updatedInput ?? ask.input,
        ...(decision.updatedPermissions?.length ? { updatedPermissions: decision.updatedPermissions } : {}),
      }
    : { behavior: 'deny', message: decision.message };
  return { type: 'control_response', response: { subtype: 'success', request_id: request.requestId, response } };
}

/** A timer for the turn's timeout that stops counting while paused. */
export class PausableTimer implements TurnClock {
  private timer?: NodeJS.Timeout;
  private remaining: number;
  private startedAt = 0;
  private paused = 0;

  constructor(ms: number, private readonly onExpire: () => void) {
    this.remaining = ms;
    this.run();
  }

  pause(): void {
    if (this.paused++ > 0) return;
    clearTimeout(this.timer);
    this.remaining -= Date.now() - this.startedAt;
  }

  resume(): void {
    if (--this.paused > 0) return;
    this.run();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.paused = Infinity;
  }

  private run(): void {
    this.startedAt = Date.now();
    this.timer = setTimeout(this.onExpire, Math.max(0, this.remaining));
  }
}

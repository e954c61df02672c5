/**
 * Events between the workers that run turns and the gateway that talks to the platforms: the live
 * progress of each job (for streaming edits, SSE and the dashboard) and control signals (/stop).
 * In one process it is an EventEmitter; with the bullmq driver, Redis pub/sub (see queue/redis-bus.ts).
 * Nothing on the bus needs to survive a crash: what must, lives in the database.
 */
import { EventEmitter } from 'node:events';
import type { MessageErrorCode, Usage } from './engine/types.js';

interface JobRef {
  conversationId: string;
  messageId: number;
}

export type JobEvent =
  | (JobRef & { type: 'queued'; position: number })
  | (JobRef & { type: 'started'; attempt: number; engine: string })
  | (JobRef & { type: 'text'; text: string })
  /** A tool was used: the current text block ends, a status line shows what runs. */
  | (JobRef & { type: 'tool'; toolId: string; tool: string; summary: string })
  /** A tool call ended: how, after how long, and the first line of what it returned. */
  | (JobRef & { type: 'tool_done'; toolId: string; isError: boolean; durationMs?: number; result?: string })
  /** What was heard in the message's voice notes, before the turn (src/voice/hear.ts). */
  | (JobRef & { type: 'heard'; text: string })
  /** A status line that is not tool activity (retries, a fresh session). */
  | (JobRef & { type: 'status'; text: string })
  /** The turn waits for a person: show the request (approvals row `approvalId`). */
  | (JobRef & { type: 'approval'; approvalId: number })
  /** A request changed: an answer was recorded, or it was decided, expired or cancelled. */
  | (JobRef & { type: 'approval_update'; approvalId: number })
  | (JobRef & {
      type: 'finished';
      status: 'done' | 'failed' | 'cancelled';
      text: string;
      sessionId?: string;
      costUsd: number;
      durationMs: number;
      usage?: Usage;
      errorCode?: MessageErrorCode;
      /** Why it failed, for people; `text` is the reply as a chat shows it. */
      errorMessage?: string;
    });

export type ControlEvent =
  /** Cancel the running turn of a conversation (/stop). */
  | { type: 'stop'; conversationId: string }
  /** Stop the conversation's live CLI process (/new, /forget, /session use, /engine, /mode, rule changes). */
  | {
    type: 'release'; conversationId: string;
    /** The conversation left its session (/new, /session use, /engine, /forget): terminal tabs on it close too. */
    session?: true;
    /** /forget: then delete its CLI homes too. */
    forget?: true;
  };

export type BusEvent = JobEvent | ControlEvent | { type: 'outbox' };

export interface Bus {
  publish(event: BusEvent): void;
  subscribe(listener: (event: BusEvent) => void): () => void;
  close(): Promise<void>;
}

export class LocalBus implements Bus {
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  publish(event: BusEvent): void {
    this.emitter.emit('event', event);
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    const safe = (event: BusEvent) => {
      try {
        listener(event);
      } catch {
        /* a listener's bug must not break the publisher */
      }
    };
    this.emitter.on('event', safe);
    return () => this.emitter.off('event', safe);
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

/**
 * The web chat's activity timeline: each answer's tool calls (tool, what it was run on, the first
 * line of what it returned, how long it took), collapsed above the answer, and growing live under a
 * running one. Stored calls come from GET /v1/conversations/{id}/activity; live ones from the
 * `tool` and `tool_done` events.
 */

export interface ToolCall {
  toolId: string;
  tool: string;
  summary: string;
  result?: string | null;
  isError?: boolean;
  /** Undefined while it runs. */
  durationMs?: number | null;
}

interface StoredCall {
  message_id: number;
  tool_use_id: string;
  tool: string;
  summary: string;
  result: string | null;
  is_error: boolean;
  duration_ms: number | null;
}

/** Message ids whose timeline a person opened: a live redraw keeps it open. */
const opened = new Set<number>();

/** A collapsed timeline of tool calls. */
export function timeline(messageId: number, calls: ToolCall[]): HTMLDetailsElement {
  const details = document.createElement('details');
  details.className = 'activity';
  details.dataset.activity = String(messageId);
  details.open = opened.has(messageId);
  details.addEventListener('toggle', () => (details.open ? opened.add(messageId) : opened.delete(messageId)));
  const running = calls.filter((c) => c.durationMs === undefined).length;
  const total = calls.reduce((sum, c) => sum + (c.durationMs ?? 0), 0);
  const summary = document.createElement('summary');
  summary.textContent = `${calls.length} tool call${calls.length === 1 ? '' : 's'}${running ? ` · ${running} running` : total ? ` · ${seconds(total)}` : ''}`;
  const list = document.createElement('ol');
  for (const call of calls) {
    const li = document.createElement('li');
    li.className = call.isError ? 'error' : call.durationMs === undefined ? 'running' : '';
    const name = document.createElement('strong');
    name.textContent = call.tool;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = call.summary;
    const took = document.createElement('span');
    took.className = 'took';
    took.textContent = call.durationMs === undefined ? 'running…' : call.durationMs === null ? '' : seconds(call.durationMs);
    li.append(name, what, took);
    if (call.result) {
      const result = document.createElement('div');
      result.className = 'result';
      result.textContent = call.result;
      li.append(result);
    }
    list.append(li);
  }
  details.append(summary, list);
  return details;
}

/** Puts each answer's stored timeline above it in the transcript. */
export async function showActivity(conversationId: string, transcript: HTMLElement, key: string): Promise<void> {
  const res = await fetch(`/v1/conversations/${encodeURIComponent(conversationId)}/activity`, { headers: { authorization: `Bearer ${key}` } }).catch(() => undefined);
  if (!res?.ok) return;
  const { data } = (await res.json()) as { data: StoredCall[] };
  const byMessage = new Map<number, ToolCall[]>();
  for (const row of data) {
    const calls = byMessage.get(row.message_id) ?? [];
    calls.push({ toolId: row.tool_use_id, tool: row.tool, summary: row.summary, result: row.result, isError: row.is_error, durationMs: row.duration_ms });
    byMessage.set(row.message_id, calls);
  }
  for (const [messageId, calls] of byMessage) {
    const answer = transcript.querySelector(`.msg:not(.user):not(.live)[data-message="${messageId}"]`);
    if (!answer || transcript.querySelector(`[data-activity="${messageId}"]`)) continue;
    answer.before(timeline(messageId, calls));
  }
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

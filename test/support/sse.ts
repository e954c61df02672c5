/** Reads a Server-Sent Events response into {event, data} records. */
export interface SseEvent {
  event: string;
  data: any;
  id?: string;
}

export async function readSse(res: Response, onEvent?: (e: SseEvent) => void, until?: (e: SseEvent) => boolean): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: ?(.*)$/m.exec(block)?.[1] ?? 'message';
      const raw = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.replace(/^data: ?/, '')).join('\n');
      let data: unknown = raw;
      try {
        data = JSON.parse(raw);
      } catch {
        /* plain text data, e.g. [DONE] */
      }
      const id = /^id: ?(.*)$/m.exec(block)?.[1];
      const e: SseEvent = { event, data, ...(id ? { id } : {}) };
      events.push(e);
      onEvent?.(e);
      if (until?.(e)) {
        await reader.cancel();
        return events;
      }
    }
  }
  return events;
}

/**
 * Which conversations' CLI sessions an interactive tab holds. Two CLI processes writing one session at
 * once corrupt its history, so while a Claude or Codex tab is open on a conversation, its chat
 * messages wait in the queue (the worker asks here before each turn) and run when the tab closes.
 * In-process: engine tabs are offered only where the gateway runs its own workers (role "all").
 */
export class SessionHolds {
  private readonly held = new Map<string, { by: string; released: Promise<void>; release: () => void }>();

  /** What holds the conversation's session ("a Claude terminal tab"), or undefined. */
  holder(conversationId: string): string | undefined {
    return this.held.get(conversationId)?.by;
  }

  /** Takes the session; false when something holds it already. */
  take(conversationId: string, by: string): boolean {
    if (this.held.has(conversationId)) return false;
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.set(conversationId, { by, released, release });
    return true;
  }

  give(conversationId: string): void {
    const hold = this.held.get(conversationId);
    if (!hold) return;
    this.held.delete(conversationId);
    hold.release();
  }

  /** Resolves when the conversation's hold is given back (at once when none), or after `ms`. */
  async released(conversationId: string, ms: number): Promise<void> {
    const hold = this.held.get(conversationId);
    if (!hold) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([hold.released, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }
}

/** Talking to a bench child process over IPC: its next message of a given kind. */
import type { ChildProcess } from 'node:child_process';

/** Resolves with the child's next message whose `cmd` is `cmd`; rejects if the child exits first. */
export function replyFrom<T>(child: ChildProcess, cmd: string, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { cmd: string }) => {
      if (m.cmd !== cmd) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      child.off('message', onMessage);
      reject(new Error(`${what} exited (${code}) waiting for "${cmd}"`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

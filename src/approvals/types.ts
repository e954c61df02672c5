/**
 * The data of "Claude asks, the chat answers": what an engine asks while a turn is paused, what a
 * person decides, and the modes a conversation can be in. Engine-agnostic: the Claude engine turns
 * its CLI's `control_request` lines into a `PermissionAsk` and a `Decision` back into a response.
 */

/** What is asked: may a tool run, an answer to Claude's clarifying questions, or approval of a plan. */
export type ApprovalKind = 'tool' | 'question' | 'plan';

export interface QuestionOption {
  label: string;
  description?: string;
}

/** One of `AskUserQuestion`'s questions. */
export interface Question {
  question: string;
  header?: string;
  options: QuestionOption[];
  multiSelect: boolean;
}

/** `AskUserQuestion`'s questions from its input (as the CLI sent it, or as stored), malformed ones left out. */
export function questionsOf(input: Record<string, unknown>): Question[] {
  const raw: any[] = Array.isArray(input.questions) ? input.questions : [];
  return raw.filter((q) => q && typeof q.question === 'string').map((q) => ({
    question: q.question,
    header: typeof q.header === 'string' ? q.header : undefined,
    options: (Array.isArray(q.options) ? q.options : [])
      .filter((o: any) => o && typeof o.label === 'string')
      .map((o: any) => ({ label: o.label, description: typeof o.description === 'string' ? o.description : undefined })),
    multiSelect: q.multiSelect === true,
  }));
}

/** A paused turn's request, as the engine parsed it. */
export interface PermissionAsk {
  kind: ApprovalKind;
  tool: string;
  /** The tool's input, as the CLI sent it (answers go back as a changed copy of it). */
  input: Record<string, unknown>;
  /** What the CLI would add as rules for "always allow" (its `permission_suggestions`). */
  suggestions: unknown[];
  /** For `question`: the questions, in order. */
  questions?: Question[];
}

/** A person's answer, as the engine needs it. */
export type Decision =
  | {
      behavior: 'allow';
      /** The input to run with (for questions: the input with the answers added). */
      updatedInput?: Record<string, unknown>;
      /** Rules to keep for the rest of this process's life (Allow in this conversation). */
      updatedPermissions?: unknown[];
    }
  | { behavior: 'deny'; message: string };

/** The buttons' choices. `answer` is a question's completed answers. */
export type Choice = 'allow' | 'allow_always' | 'deny' | 'answer';

export type ApprovalStatus = 'pending' | 'allowed' | 'denied' | 'expired' | 'cancelled';

/** How much Claude may do unasked in a conversation. */
export type PermissionMode = 'ask' | 'edits' | 'plan' | 'auto';

export const PERMISSION_MODES: Record<PermissionMode, { cli: string; says: string }> = {
  ask: { cli: 'default', says: 'Claude asks in the chat before running commands or editing files.' },
  edits: { cli: 'acceptEdits', says: 'Claude edits files in the workspace without asking; anything else asks in the chat.' },
  plan: { cli: 'plan', says: 'Claude only plans: it reads and proposes, and asks before leaving plan mode.' },
  auto: { cli: 'bypassPermissions', says: 'Claude runs every tool without asking (only its questions and plans come to the chat).' },
};

/** The CLI's `--permission-mode` names, back to cligate's modes. */
export function modeOfCli(cliMode: string): PermissionMode {
  const found = (Object.entries(PERMISSION_MODES) as [PermissionMode, { cli: string }][]).find(([, m]) => m.cli === cliMode);
  return found?.[0] ?? 'ask';
}

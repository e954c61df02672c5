/**
 * The approval desk: where a paused turn's request waits for a person, whatever the platform.
 *
 * The worker's side (`ask`) records the request, announces it on the bus (delivery shows it as a
 * card) and waits for a decision, a timeout or a stop. The gateway's side (`act`, `answerByText`)
 * takes a click or a reply, checks that the clicker may answer, and decides the request once. The
 * store is the meeting point, so a worker in another process sees the decision even if the bus
 * message is lost (it also looks every second).
 */
import type { ActionResult, Card, CardAction, InboundAction } from '../adapter.js';
import type { Bus } from '../bus.js';
import { forPlatform, type Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { conversationIdOf, type Platform } from '../message.js';
import type { ApprovalRow, Conversation, Message } from '../store/db.js';
import type { Store } from '../store/index.js';
import { describe, isShortened, type Described } from './describe.js';
import { questionsOf, type Choice, type Decision, type PermissionAsk, type Question } from './types.js';

export interface ApprovalDeskDeps {
  store: Store;
  bus: Bus;
  config: Config;
  log: Logger;
}

/** Who is answering, as the platform verified it. */
export interface Answerer {
  platform: Platform;
  userId: string;
  name?: string;
}

const POLL_MS = 1000;

/** What Claude reads when the person's client cannot show a request (the OpenAI-compatible API). */
const CANNOT_ASK = 'The person is using a client that cannot show approval requests, so this was not run. Say in your answer exactly what you want to run or change, so they can allow it (with /mode, or from the web chat or a messenger), and answer as far as you can without it.';
export const ACTION_PREFIX = 'ap:';

export class ApprovalDesk {
  constructor(private readonly deps: ApprovalDeskDeps) {}

  /** Asks the person and waits for the decision. Never hangs: the timeout denies, a stop cancels. */
  ask(message: Message, conversation: Conversation, ask: PermissionAsk, signal: AbortSignal): Promise<Decision> {
    const { store, bus, config } = this.deps;
    const row = store.approvals.create({
      conversationId: conversation.id, messageId: message.id, ask, requestedBy: message.user_id,
      waiting: store.messages.counts(conversation.id).queued, expiresAt: Date.now() + config.approvals.timeout_s * 1000,
    });
    // A rule kept with "Allow in this conversation" answers for the person. The CLI gets the rules too
    // (--allowedTools), but its own matching still asks for a command that writes a file.
    const rule = ask.kind === 'tool' ? store.approvals.rules(conversation.id).find((r) => ruleMatches(r.rule, ask)) : undefined;
    if (rule) {
      store.approvals.resolve(row.id, 'allowed', { choice: 'allow', decidedBy: `rule ${rule.rule}` });
      return Promise.resolve({ behavior: 'allow', updatedInput: ask.input });
    }
    if (message.can_ask === 0) {
      store.approvals.resolve(row.id, 'denied', { choice: 'deny', decidedBy: 'nobody', reason: 'the client cannot show requests' });
      return Promise.resolve({ behavior: 'deny', message: CANNOT_ASK });
    }
    const ref = { conversationId: conversation.id, messageId: message.id, approvalId: row.id };
    bus.publish({ type: 'approval', ...ref });
    return new Promise<Decision>((resolve) => {
      const check = () => {
        const current = store.approvals.get(row.id);
        if (current && current.status !== 'pending') finish(current);
      };
      const close = (status: 'expired' | 'cancelled', reason: string) => {
        if (store.approvals.resolve(row.id, status, { reason })) bus.publish({ type: 'approval_update', ...ref });
        check();
      };
      const unsubscribe = bus.subscribe((event) => {
        if (event.type === 'approval_update' && event.approvalId === row.id) check();
      });
      const poll = setInterval(check, POLL_MS);
      const timer = setTimeout(() => close('expired', 'timeout'), Math.max(0, row.expires_at - Date.now()));
      // A shutdown re-runs the turn at the next start, which asks again: this request is then stale.
      const onAbort = () => close(signal.reason === 'shutdown' ? 'expired' : 'cancelled', signal.reason === 'shutdown' ? 'restarted' : 'stopped');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      let done = false;
      const finish = (decided: ApprovalRow) => {
        if (done) return;
        done = true;
        unsubscribe();
        clearInterval(poll);
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(this.decisionOf(decided));
      };
    });
  }

  /** Requests of an earlier attempt at this message can no longer be answered: say so on their cards. */
  expireEarlierAttempts(message: Message): void {
    for (const row of this.deps.store.approvals.expireForMessage(message.id)) {
      this.deps.bus.publish({ type: 'approval_update', conversationId: row.conversation_id, messageId: row.message_id, approvalId: row.id });
    }
  }

  /** A button click. */
  act(action: InboundAction): ActionResult {
    const parsed = parseActionId(action.actionId);
    if (!parsed) return { ok: false, text: 'This button is not for me.' };
    const row = this.deps.store.approvals.get(parsed.approvalId);
    if (!row) return { ok: false, text: 'This request is unknown here.' };
    if (!row.platform_ref && action.messageRef && row.status !== 'pending' && row.conversation_id === conversationIdOf(action.address)) {
      // Its card was posted, but the gateway stopped (kill -9) before noting where: now it knows, so
      // the redraw below can take the buttons off.
      this.deps.store.approvals.setRef(row.id, action.messageRef);
    }
    const by: Answerer = { platform: action.address.platform, userId: action.userId, name: action.userName };
    return this.apply(row, parsed.choice, by);
  }

  /**
   * A text message that answers a request: a reply to its card (a reason to deny, a free-text answer,
   * feedback on a plan) or, where cards are text, the number of a choice. Undefined: not an answer.
   */
  answerByText(conversation: Conversation, text: string, replyToRef: string | undefined, by: Answerer): ActionResult | undefined {
    const { store } = this.deps;
    const pending = store.approvals.pending(conversation.id);
    if (!pending.length) return undefined;
    const replied = replyToRef ? store.approvals.pendingByRef(conversation.id, replyToRef) : undefined;
    const number = /^\s*(\d{1,2})\s*$/.exec(text);
    if (number) {
      const row = replied ?? pending.at(-1)!;
      const action = this.card(row).actions.flat()[Number(number[1]) - 1];
      if (!action) return { ok: false, text: `Answer with a number from 1 to ${this.card(row).actions.flat().length}.` };
      return this.apply(row, parseActionId(action.id)!.choice, by);
    }
    if (!replied) return undefined;
    if (replied.kind === 'question') return this.apply(replied, { answerText: text }, by);
    return this.apply(replied, { choice: 'deny', reason: text }, by);
  }

  /** A request as the HTTP API shows it. */
  view(row: ApprovalRow): ApprovalView {
    const ask = askOf(row);
    const described = describe(ask.kind, ask.tool, ask.input, ask.questions);
    return {
      approval_id: row.id, conversation_id: row.conversation_id, message_id: row.message_id, kind: ask.kind, tool: ask.tool,
      summary: described.summary, markdown: described.markdown, input: ask.input, ...(ask.questions ? { questions: ask.questions } : {}),
      status: row.status, decided_by: row.decided_by, expires_at: new Date(row.expires_at).toISOString(),
      card: this.cardOf(row, ask, described),
    };
  }

  /** The pending requests this person may answer. */
  pendingFor(by: Answerer): ApprovalView[] {
    const { store, config } = this.deps;
    return store.approvals.pending()
      .filter((row) => {
        const conversation = store.conversations.get(row.conversation_id);
        return conversation && mayAnswer(config, row, conversation, by);
      })
      .map((row) => this.view(row));
  }

  /**
   * A decision sent through the API: `allow`, `allow_always` or `deny` (with an optional message),
   * or for a question its `answers` by question text ({"Which database?": "Postgres"}).
   */
  decide(approvalId: number, by: Answerer, decision: ApiDecision): { status: 200 | 403 | 404 | 409 | 422; text: string; approval?: ApprovalView } {
    const { store, config } = this.deps;
    const row = store.approvals.get(approvalId);
    const conversation = row && store.conversations.get(row.conversation_id);
    if (!row || !conversation) return { status: 404, text: `No approval request ${approvalId}.` };
    if (!mayAnswer(config, row, conversation, by)) return { status: 403, text: 'Only the person who asked (or an approver in approvals.approvers) can answer this request.' };
    if (row.status !== 'pending') return { status: 409, text: `This request is ${row.status === 'allowed' || row.status === 'denied' ? 'already decided' : 'expired'}.`, approval: this.view(row) };
    let what: ParsedChoice;
    const clicked = decision.action ? parseActionId(decision.action) : undefined;
    if (decision.action && clicked?.approvalId !== row.id) return { status: 422, text: `"${decision.action}" is not a button of request ${row.id}.` };
    if (clicked) {
      // A client drawing the card's buttons may send a reason with Deny / Keep planning.
      what = 'choice' in clicked.choice && clicked.choice.choice === 'deny' ? { choice: 'deny', reason: decision.message } : clicked.choice;
    } else if (decision.answers && row.kind === 'question') {
      const questions = askOf(row).questions ?? [];
      const answers: Record<string, string[]> = {};
      for (const [i, q] of questions.entries()) {
        const given = decision.answers[q.question] ?? decision.answers[String(i)];
        if (given === undefined) return { status: 422, text: `Missing an answer to "${q.question}": send answers as {"<question>": "<option label or your own words>"}.` };
        answers[i] = (Array.isArray(given) ? given : [given]).map(String);
      }
      store.approvals.setAnswers(row.id, answers);
      what = { submit: true };
    } else if (decision.decision === 'allow' || decision.decision === 'allow_always' || decision.decision === 'deny') {
      what = { choice: decision.decision, reason: decision.message };
    } else {
      return { status: 422, text: 'Send {"decision": "allow" | "allow_always" | "deny", "message"?: "..."}, or for a question {"answers": {"<question>": "<answer>"}}.' };
    }
    const result = this.apply(store.approvals.get(row.id)!, what, by);
    const latest = this.view(store.approvals.get(row.id)!);
    return result.ok ? { status: 200, text: result.text, approval: latest } : { status: 409, text: result.text, approval: latest };
  }

  /** The request as a card: its buttons while pending, who decided what once resolved. */
  card(row: ApprovalRow): Card {
    const ask = askOf(row);
    return this.cardOf(row, ask, describe(ask.kind, ask.tool, ask.input, ask.questions));
  }

  private cardOf(row: ApprovalRow, ask: PermissionAsk, described: Described): Card {
    const answers = answersOf(row);
    const parts = [described.markdown];
    if (row.status === 'pending') {
      const minutes = Math.max(1, Math.round((row.expires_at - row.created_at) / 60_000));
      const waiting = row.waiting ? `${row.waiting} message${row.waiting === 1 ? '' : 's'} waiting behind this · ` : '';
      const reply = ask.kind === 'question' ? 'Reply to this message to answer in your own words.' : ask.kind === 'plan' ? 'Reply to this message to say what to change.' : 'Reply to this message to deny with a reason.';
      parts.push(`_${waiting}No answer in ${minutes} min denies it. ${reply}_`);
      return { markdown: parts.join('\n\n'), actions: actionsOf(row, ask, answers), detail: described.full, shortened: isShortened(described) };
    }
    parts.push(outcomeLine(row, ask, answers, this.deps.config.approvals.timeout_s));
    return { markdown: parts.join('\n\n'), actions: [], detail: described.full, shortened: isShortened(described) };
  }

  private apply(row: ApprovalRow, what: ParsedChoice, by: Answerer): ActionResult {
    const { store, bus, config } = this.deps;
    const ref = { conversationId: row.conversation_id, messageId: row.message_id, approvalId: row.id };
    if (row.status !== 'pending') {
      // Redraw it without buttons (an old card after a restart still has them).
      bus.publish({ type: 'approval_update', ...ref });
      return { ok: false, text: row.status === 'expired' || row.status === 'cancelled' ? 'This request expired.' : 'This request was already answered.' };
    }
    const conversation = store.conversations.get(row.conversation_id);
    if (!conversation || !mayAnswer(config, row, conversation, by)) {
      return { ok: false, text: 'Only the person who asked (or an approver in approvals.approvers) can answer this request.' };
    }
    const who = by.name || by.userId;
    let decided: boolean;
    if ('answerText' in what || 'option' in what || 'submit' in what) {
      const result = this.recordAnswer(row, what, who);
      if (result !== 'submitted') {
        bus.publish({ type: 'approval_update', ...ref });
        return { ok: true, text: result };
      }
      decided = true;
    } else if (what.choice === 'allow_always') {
      const rules = rulesOf(askOf(row));
      decided = store.db.tx(() => {
        const won = store.approvals.resolve(row.id, 'allowed', { choice: 'allow_always', decidedBy: who, reason: JSON.stringify(rules) });
        if (won) store.approvals.addRules(row.conversation_id, rules, who);
        return won;
      });
    } else if (what.choice === 'deny') {
      decided = store.approvals.resolve(row.id, 'denied', { choice: 'deny', decidedBy: who, reason: what.reason });
    } else {
      decided = store.approvals.resolve(row.id, 'allowed', { choice: 'allow', decidedBy: who });
    }
    if (!decided) return { ok: false, text: 'This request was already answered.' };
    bus.publish({ type: 'approval_update', ...ref });
    const latest = store.approvals.get(row.id)!;
    return { ok: true, text: latest.status === 'allowed' ? 'Allowed.' : 'Denied.' };
  }

  /** A question's answer: one option, a toggle, free text, or "submit". Returns 'submitted' when the request is decided. */
  private recordAnswer(row: ApprovalRow, what: ParsedChoice, who: string): string {
    const { store } = this.deps;
    const questions = askOf(row).questions ?? [];
    const answers = answersOf(row);
    if ('answerText' in what) {
      const open = questions.findIndex((_, i) => !answers[i]?.length);
      answers[open >= 0 ? open : 0] = [what.answerText.trim()];
    } else if ('option' in what) {
      const question = questions[what.question];
      const option = question?.options[what.option];
      if (!question || !option) return 'That option is not part of the question.';
      const chosen = answers[what.question] ?? [];
      answers[what.question] = question.multiSelect
        ? (chosen.includes(option.label) ? chosen.filter((l) => l !== option.label) : [...chosen, option.label])
        : [option.label];
    }
    const complete = questions.every((_, i) => answers[i]?.length);
    const wantsSubmit = 'submit' in what || 'answerText' in what || questions.every((q) => !q.multiSelect);
    if (!complete || !wantsSubmit) {
      store.approvals.setAnswers(row.id, answers);
      return complete ? 'Noted. Press Submit when done.' : 'Noted.';
    }
    return store.db.tx(() => {
      store.approvals.setAnswers(row.id, answers);
      return store.approvals.resolve(row.id, 'allowed', { choice: 'answer', decidedBy: who });
    }) ? 'submitted' : 'This request was already answered.';
  }

  /** The decision the engine hands back to the CLI. */
  decisionOf(row: ApprovalRow): Decision {
    const ask = askOf(row);
    const timeout = this.deps.config.approvals.timeout_s;
    switch (row.status) {
      case 'allowed':
        if (row.choice === 'answer') {
          const answers = answersOf(row);
          const byQuestion = Object.fromEntries((ask.questions ?? []).map((q, i) => [q.question, (answers[i] ?? []).join(', ')]));
          return { behavior: 'allow', updatedInput: { ...ask.input, answers: byQuestion } };
        }
        if (row.choice === 'allow_always') {
          const rules = JSON.parse(row.reason ?? '[]') as string[];
          return { behavior: 'allow', updatedInput: ask.input, updatedPermissions: [{ type: 'addRules', rules: rules.map(ruleValue), behavior: 'allow', destination: 'session' }] };
        }
        return { behavior: 'allow', updatedInput: ask.input };
      case 'denied': {
        const because = row.reason?.trim();
        if (ask.kind === 'plan') return { behavior: 'deny', message: `The person wants to keep planning: do not start the work yet.${because ? ` Their feedback: ${because}` : ''}` };
        if (ask.kind === 'question') return { behavior: 'deny', message: 'The person chose not to answer; go on with your best judgement or ask in your reply.' };
        return { behavior: 'deny', message: because ? `The person denied this in the chat, saying: ${because}` : 'The person denied this in the chat.' };
      }
      case 'expired':
        return { behavior: 'deny', message: `Nobody answered within ${minutesText(timeout)}, so this was denied. Say in your answer what you wanted to do, so the person can allow it next time.` };
      default:
        return { behavior: 'deny', message: 'The person stopped this turn.' };
    }
  }
}

/** A request as the HTTP API and the web chat show it. */
export interface ApprovalView {
  approval_id: number;
  conversation_id: string;
  message_id: number;
  kind: string;
  tool: string;
  summary: string;
  /** The request as Markdown (the command, a short diff, the questions, the plan). */
  markdown: string;
  input: Record<string, unknown>;
  questions?: Question[];
  status: string;
  decided_by: string | null;
  expires_at: string;
  /** The request as every platform shows it: its text (with the outcome once decided) and its buttons. */
  card: Card;
}

export interface ApiDecision {
  /** A card button's id, for clients that draw the card's own buttons (the web chat). */
  action?: string;
  decision?: string;
  message?: string;
  answers?: Record<string, string | string[]>;
}

type ParsedChoice =
  | { choice: Exclude<Choice, 'answer'>; reason?: string }
  | { question: number; option: number }
  | { submit: true }
  | { answerText: string };

/** `ap:<id>:allow|always|deny|submit|q<question>.<option>`: what a card's button carries. */
export function parseActionId(id: string): { approvalId: number; choice: ParsedChoice } | undefined {
  const m = /^ap:(\d+):(allow|always|deny|submit|q(\d+)\.(\d+))$/.exec(id);
  if (!m) return undefined;
  const approvalId = Number(m[1]);
  const word = m[2]!;
  if (word === 'always') return { approvalId, choice: { choice: 'allow_always' } };
  if (word === 'allow' || word === 'deny') return { approvalId, choice: { choice: word } };
  if (word === 'submit') return { approvalId, choice: { submit: true } };
  return { approvalId, choice: { question: Number(m[3]), option: Number(m[4]) } };
}

function actionsOf(row: ApprovalRow, ask: PermissionAsk, answers: Record<string, string[]>): CardAction[][] {
  const id = (what: string) => `${ACTION_PREFIX}${row.id}:${what}`;
  if (ask.kind === 'plan') {
    return [[{ id: id('allow'), label: 'Approve plan', style: 'primary' }, { id: id('deny'), label: 'Keep planning' }]];
  }
  if (ask.kind === 'question') {
    const questions = ask.questions ?? [];
    const rows = questions.map((q, qi) => q.options.map((o, oi) => ({
      id: id(`q${qi}.${oi}`),
      label: `${answers[qi]?.includes(o.label) ? '✓ ' : ''}${questions.length > 1 ? `${qi + 1}: ` : ''}${o.label}`.slice(0, 64),
    })));
    const needsSubmit = questions.some((q) => q.multiSelect);
    return [...rows, [...(needsSubmit ? [{ id: id('submit'), label: 'Submit', style: 'primary' as const }] : []), { id: id('deny'), label: 'Skip' }]];
  }
  return [[
    { id: id('allow'), label: 'Allow once', style: 'primary' },
    { id: id('always'), label: 'Allow in this conversation' },
    { id: id('deny'), label: 'Deny', style: 'danger' },
  ]];
}

function outcomeLine(row: ApprovalRow, ask: PermissionAsk, answers: Record<string, string[]>, timeoutS: number): string {
  const who = row.decided_by ?? 'someone';
  if (row.status === 'expired') {
    return row.reason === 'timeout' ? `⏱ **Nobody answered within ${minutesText(timeoutS)}: denied.**` : '⌛ **Expired** (the turn was interrupted; Claude asks again when it runs again).';
  }
  if (row.status === 'cancelled') return '⏹ **Stopped** before anyone answered.';
  if (ask.kind === 'question') {
    if (row.status === 'denied') return `⏭ **Skipped** by ${who}.`;
    const lines = (ask.questions ?? []).map((q, i) => `${q.question} → **${(answers[i] ?? []).join(', ')}**`);
    return `✅ **Answered** by ${who}:\n${lines.join('\n')}`;
  }
  if (ask.kind === 'plan') {
    return row.status === 'allowed' ? `✅ **Plan approved** by ${who}.` : `✍️ **Keep planning** (${who})${row.reason ? `: ${row.reason}` : '.'}`;
  }
  if (row.status === 'allowed') {
    return row.choice === 'allow_always' ? `✅ **Allowed in this conversation** by ${who} (see /permissions).` : `✅ **Allowed once** by ${who}.`;
  }
  return `❌ **Denied** by ${who}${row.reason ? `: ${row.reason}` : '.'}`;
}

function mayAnswer(config: Config, row: ApprovalRow, conversation: Conversation, by: Answerer): boolean {
  if (by.platform !== conversation.platform) return false;
  if (by.userId === row.requested_by) return true;
  return (forPlatform(config.approvals.approvers, by.platform) ?? []).includes(by.userId);
}

function askOf(row: ApprovalRow): PermissionAsk {
  const input = JSON.parse(row.input) as Record<string, unknown>;
  const suggestions = JSON.parse(row.suggestions) as unknown[];
  return { kind: row.kind, tool: row.tool, input, suggestions, questions: row.kind === 'question' ? questionsOf(input) : undefined };
}

function answersOf(row: ApprovalRow): Record<string, string[]> {
  try {
    return JSON.parse(row.answers) as Record<string, string[]>;
  } catch {
    return {};
  }
}

/**
 * The rules "Allow in this conversation" keeps, as `--allowedTools` takes them. For Bash, the exact
 * command first: the CLI's own prefix suggestion ("echo hi *") did not match the very command it was
 * made for once a redirection was involved (CLI 2.1.330), so it is kept only as an extra.
 */
export function rulesOf(ask: PermissionAsk): string[] {
  const suggested = ask.suggestions
    .filter((s: any) => s?.type === 'addRules' && s.behavior === 'allow' && Array.isArray(s.rules))
    .flatMap((s: any) => s.rules as { toolName?: string; ruleContent?: string }[])
    .filter((r) => typeof r.toolName === 'string')
    .map((r) => (r.ruleContent ? `${r.toolName}(${r.ruleContent})` : r.toolName!));
  const exact = ask.tool === 'Bash' && typeof ask.input.command === 'string' ? [`Bash(${ask.input.command})`] : [];
  const rules = [...new Set([...exact, ...suggested])];
  return rules.length ? rules : [ask.tool];
}

/** Whether a kept rule covers this request: the tool alone, an exact Bash command, or a prefix ("npm test *", "git:*"). */
export function ruleMatches(rule: string, ask: PermissionAsk): boolean {
  const { toolName, ruleContent } = ruleValue(rule);
  if (toolName !== ask.tool) return false;
  if (ruleContent === undefined) return true;
  const subject = ask.tool === 'Bash' ? ask.input.command : ask.input.file_path ?? ask.input.url ?? ask.input.notebook_path;
  if (typeof subject !== 'string') return false;
  const prefix = /^(.*?)(?::\*| \*)$/.exec(ruleContent);
  return prefix ? subject === prefix[1] || subject.startsWith(`${prefix[1]} `) : subject === ruleContent;
}

function ruleValue(rule: string): { toolName: string; ruleContent?: string } {
  const m = /^([^(]+)\((.*)\)$/.exec(rule);
  return m ? { toolName: m[1]!, ruleContent: m[2]! } : { toolName: rule };
}

function minutesText(seconds: number): string {
  return seconds >= 120 ? `${Math.round(seconds / 60)} minutes` : `${seconds} second${seconds === 1 ? '' : 's'}`;
}

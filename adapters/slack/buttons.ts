/**
 * Buttons on Slack, in Block Kit: a card (an approval request, Claude's question, a plan) or a
 * draft's Stop, drawn as `actions` blocks under the text; and where a click (a `block_actions`
 * payload) happened, mapped to the same address the adapter gives that conversation's messages.
 *
 * A button's `action_id` is `cg_<n>`, its position in the message (Slack wants them unique there);
 * its `value` is the CardAction id, which the click hands back to the core unchanged.
 */
import type { types } from '@slack/bolt';
import type { Card, CardAction } from '../../src/adapter.js';
import { cardAsText } from '../../src/reply/card.js';
import type { ChatAddress } from '../../src/message.js';
import { chunkMarkdown } from '../../src/reply/chunk.js';
import { toPlainText } from '../../src/reply/markdown.js';
import { SECTION_LIMIT, toMrkdwn, type SlackMessage } from './markdown.js';

/** Every button of ours: the one listener for clicks matches this. */
export const OUR_ACTION_ID = /^cg_/;
/** The button that opens the full input of a shortened card. */
export const SHOW_ALL_ACTION_ID = 'cg_all';

// Slack's limits: button text 75 characters, 25 elements per actions block, 50 blocks per message.
const BUTTON_TEXT_LIMIT = 75;
const BUTTONS_PER_BLOCK = 25;
const MAX_ACTION_BLOCKS = 45;
// A modal holds 100 blocks; the full input goes in code sections of at most 3,000 characters.
const MODAL_SECTIONS = 40;

export type SlackBlock = SlackMessage['blocks'][number] | types.ActionsBlock;

export interface SlackButtonMessage {
  /** The notification and fallback text. */
  text: string;
  blocks: SlackBlock[];
}

/** A message with buttons under its sections; no actions block when there are none. */
export function withActions(message: SlackMessage, actions: CardAction[][] = []): SlackButtonMessage {
  return { text: message.text, blocks: [...message.blocks, ...actionBlocks(actions)] };
}

/**
 * A card: its Markdown in one section (cut with "…" past Slack's 3,000 characters, code blocks
 * closed), then a row of buttons per row of actions, and "Show all" where the text was shortened.
 */
export function cardMessage(card: Card): SlackButtonMessage {
  const full = toMrkdwn(card.markdown) || '…';
  const [first = '…', ...rest] = full.length <= SECTION_LIMIT ? [full] : chunkMarkdown(full, SECTION_LIMIT - 2);
  const text = rest.length ? `${first}\n…` : first;
  const plain = toPlainText(card.markdown);
  const rows = offersShowAll(card) ? [...card.actions, [{ id: SHOW_ALL_ACTION_ID, label: 'Show all' }]] : card.actions;
  return {
    text: plain.length > SECTION_LIMIT ? plain.slice(0, SECTION_LIMIT - 1) + '…' : plain,
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }, ...actionBlocks(rows)],
  };
}

/** A card as plain text with numbered choices, for when Slack refuses its blocks (a reply with the number still answers it). */
export function cardAsPlainText(card: Card): string {
  return toPlainText(cardAsText(card));
}

/** The modal that shows a card's whole input. */
export function detailView(detail: string): types.View {
  const escaped = detail.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = chunkMarkdown('```\n' + escaped + '\n```', SECTION_LIMIT - 10);
  const shown = parts.slice(0, MODAL_SECTIONS);
  if (parts.length > shown.length) shown.push(`… (${parts.length - shown.length} more parts not shown)`);
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Full input' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: shown.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
  };
}

/** Where a click happened: the conversation's address and the clicked message's ts. */
export function clickPlace(body: { channel?: { id: string }; container?: Record<string, any>; message?: { ts: string; thread_ts?: string } }): { address: ChatAddress; messageTs: string } | undefined {
  const channel = body.channel?.id ?? body.container?.channel_id;
  const messageTs = body.message?.ts ?? body.container?.message_ts;
  if (typeof channel !== 'string' || typeof messageTs !== 'string') return undefined;
  const thread = body.message?.thread_ts ?? body.container?.thread_ts;
  // A top-level message that got replies carries its own ts as thread_ts: it is not inside a thread.
  const threadId = typeof thread === 'string' && thread !== messageTs ? thread : undefined;
  return { address: { platform: 'slack', chatId: channel, threadId }, messageTs };
}

function actionBlocks(rows: CardAction[][]): types.ActionsBlock[] {
  let n = 0;
  const blocks: types.ActionsBlock[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i += BUTTONS_PER_BLOCK) {
      blocks.push({ type: 'actions', elements: row.slice(i, i + BUTTONS_PER_BLOCK).map((action) => button(action, action.id === SHOW_ALL_ACTION_ID ? SHOW_ALL_ACTION_ID : `cg_${n++}`)) });
    }
  }
  return blocks.slice(0, MAX_ACTION_BLOCKS);
}

function button(action: CardAction, actionId: string): types.Button {
  const label = action.label.length > BUTTON_TEXT_LIMIT ? action.label.slice(0, BUTTON_TEXT_LIMIT - 1) + '…' : action.label;
  return {
    type: 'button', action_id: actionId, value: action.id,
    text: { type: 'plain_text', text: label, emoji: true },
    ...(action.style ? { style: action.style } : {}),
  };
}

/**
 * Whether a card gets "Show all": while it waits for an answer, when its text was shortened (the
 * core's describer marks what it cut) or is too long for one section.
 */
export function offersShowAll(card: Card): boolean {
  if (!card.actions.length || !card.detail) return false;
  return !!card.shortened || toMrkdwn(card.markdown).length > SECTION_LIMIT;
}

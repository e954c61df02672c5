/**
 * Buttons on Discord: a card (an approval request, Claude's question, a plan) or a draft's Stop as
 * message components. A button's custom_id is the CardAction id itself, handed back to the core
 * unchanged by the click (clicks.ts).
 */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import type { Card, CardAction } from '../../src/adapter.js';
import { chunkMarkdown } from '../../src/reply/chunk.js';
import { toDiscord } from './markdown.js';

// Discord's limits: 5 buttons in a row, 5 rows in a message, 80 characters of label, 100 of custom_id,
// 2,000 characters of content.
const BUTTONS_PER_ROW = 5;
const MAX_ROWS = 5;
const LABEL_LIMIT = 80;
const CUSTOM_ID_LIMIT = 100;
const CONTENT_LIMIT = 2000;

export type ButtonRow = ReturnType<ActionRowBuilder<ButtonBuilder>['toJSON']>;

/** The rows of buttons for a message: [] removes any it had. */
export function componentsOf(rows: CardAction[][] = []): ButtonRow[] {
  // A longer id would not come back intact in the click: such a button is left out.
  const fitting = rows.map((row) => row.filter((action) => action.id.length <= CUSTOM_ID_LIMIT));
  const split = fitting.flatMap((row) => Array.from({ length: Math.ceil(row.length / BUTTONS_PER_ROW) }, (_, i) => row.slice(i * BUTTONS_PER_ROW, (i + 1) * BUTTONS_PER_ROW)));
  return split.slice(0, MAX_ROWS).map((row) => new ActionRowBuilder<ButtonBuilder>().addComponents(row.map(button)).toJSON());
}

/** The button that sends the clicker a shortened card's whole input. */
export const SHOW_ALL_ID = 'cg:all';

/** The rows of buttons for a card, with "Show all" under them where its text was shortened. */
export function cardComponents(card: Card): ButtonRow[] {
  return componentsOf(offersShowAll(card) ? [...card.actions, [{ id: SHOW_ALL_ID, label: 'Show all' }]] : card.actions);
}

/**
 * Whether a card gets "Show all": while it waits for an answer, when its text was shortened (the
 * core's describer marks what it cut) or is too long for one message.
 */
export function offersShowAll(card: Card): boolean {
  if (!card.actions.length || !card.detail) return false;
  return !!card.shortened || toDiscord(card.markdown).length > CONTENT_LIMIT;
}

/** A card's text for Discord: its Markdown converted, cut with "…" past 2,000 characters (code blocks closed). */
export function cardContent(card: Card): string {
  const content = toDiscord(card.markdown) || '…';
  if (content.length <= CONTENT_LIMIT) return content;
  return `${chunkMarkdown(content, CONTENT_LIMIT - 2)[0]}\n…`;
}

function button(action: CardAction): ButtonBuilder {
  const label = action.label.length > LABEL_LIMIT ? action.label.slice(0, LABEL_LIMIT - 1) + '…' : action.label;
  return new ButtonBuilder().setCustomId(action.id).setLabel(label).setStyle(styleOf(action));
}

function styleOf(action: CardAction): ButtonStyle {
  if (action.style === 'primary') return ButtonStyle.Primary;
  if (action.style === 'danger') return ButtonStyle.Danger;
  return ButtonStyle.Secondary;
}

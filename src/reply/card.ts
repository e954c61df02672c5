/** Cards for platforms without buttons. */
import type { Card } from '../adapter.js';

/** A card as Markdown with numbered choices: a reply with the number is the click (see ApprovalDesk.answerByText). */
export function cardAsText(card: Card): string {
  const actions = card.actions.flat();
  if (!actions.length) return card.markdown;
  const choices = actions.map((a, i) => `**${i + 1}** ${a.label}`).join(' · ');
  return `${card.markdown}\n\n${choices} — reply with the number.`;
}

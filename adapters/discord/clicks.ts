/**
 * Clicks on our Discord buttons (button interactions). The clicker is the interaction's user, as
 * Discord reports it; the button's custom_id only says which choice was clicked, never who clicked.
 */
import { MessageFlags, type ButtonInteraction, type Interaction } from 'discord.js';
import type { AdapterHost, Card } from '../../src/adapter.js';
import { offersShowAll, SHOW_ALL_ID } from './buttons.js';

// Full inputs kept for "Show all", newest last; a card forgotten here (restart, many cards) says so.
const MAX_DETAILS = 500;

export class DiscordClicks {
  /** Full inputs of the cards that offer "Show all", by message id. */
  private readonly details = new Map<string, string>();

  /** Keeps a card's full input while it shows "Show all"; a resolved card needs it no more. */
  remember(messageId: string, card: Card): void {
    this.details.delete(messageId);
    if (!offersShowAll(card)) return;
    this.details.set(messageId, card.detail!);
    if (this.details.size > MAX_DETAILS) this.details.delete(this.details.keys().next().value!);
  }

  /**
   * Discord wants an answer within 3 s: the click is applied at once (one store transaction), then
   * acknowledged without a visible reply when it counted (the core redraws the card through
   * editCard), or answered only to the clicker when it was refused.
   */
  async onInteraction(host: AdapterHost, interaction: Interaction): Promise<void> {
    if (!interaction.isButton()) return;
    if (interaction.customId === SHOW_ALL_ID) return this.showAll(interaction);
    const result = await host.act({
      address: { platform: 'discord', chatId: interaction.channelId },
      userId: interaction.user.id,
      userName: interaction.user.username,
      actionId: interaction.customId,
      messageRef: interaction.message.id,
    });
    if (result.ok) await interaction.deferUpdate();
    else await interaction.reply({ content: result.text, flags: MessageFlags.Ephemeral });
  }

  /** Sends the clicker alone the card's whole input, as a file (it is long, or it would be on the card). */
  private async showAll(interaction: ButtonInteraction): Promise<void> {
    const detail = this.details.get(interaction.message.id);
    if (!detail) {
      await interaction.reply({ content: 'The full input of this request is no longer at hand (answered, or the gateway restarted since).', flags: MessageFlags.Ephemeral });
      return;
    }
    await interaction.reply({ content: 'The full input:', files: [{ attachment: Buffer.from(detail), name: 'input.json' }], flags: MessageFlags.Ephemeral });
  }
}

/**
 * Answers to slash commands. A command is stored first and deferred the moment it is stored (the
 * "thinking…" reply Discord wants within 3 s); its answer replaces that reply, and further chunks are
 * ephemeral follow-ups. An answer never overtakes its deferral.
 *
 * When Discord no longer knows the interaction (the gateway stopped between storing the command and
 * deferring it, so Discord invalidated the token), the answer goes to the person's DMs instead, where
 * only they see it, as they would have seen the ephemeral reply.
 */
import { DiscordAPIError, MessageFlags, Routes, type ChatInputCommandInteraction, type Client } from 'discord.js';
import { DeliveryError } from '../../src/adapter.js';
import type { Logger } from '../../src/log.js';

/** Nothing in a message of ours may ping anyone. */
export const NO_PINGS = { parse: [] as never[] };

/** A reply that went to the DMs: `dm:<channel id>:<message id>`. */
const DM_REF = /^dm:([^:]+):(.+)$/;

export class InteractionReplies {
  /** Deferrals in flight or done, per interaction token: its answers wait for it. */
  private readonly deferrals = new Map<string, Promise<unknown>>();
  /** Interactions whose deferred reply was already replaced by an answer: further chunks are follow-ups. */
  private readonly answered = new Set<string>();
  /** Interactions Discord no longer accepts: their answers go to DMs. */
  private readonly gone = new Set<string>();

  constructor(private readonly client: Client, private readonly applicationId: () => string, private readonly log: () => Logger | undefined) {}

  /** Sends the deferred, ephemeral "thinking…" reply; answers to this interaction wait for it. */
  defer(interaction: ChatInputCommandInteraction): void {
    const deferral = interaction.deferReply({ flags: MessageFlags.Ephemeral }).catch((err: Error) => {
      this.log()?.warn({ err: err.message }, 'discord: deferring a slash command failed; its answer will go to DMs');
    });
    this.deferrals.set(interaction.token, deferral);
  }

  /** Posts a chunk of an answer; returns its ref for `edit`. */
  async post(token: string, userId: string | undefined, content: string): Promise<string> {
    await this.deferralOf(token);
    if (!this.gone.has(token)) {
      try {
        if (!this.answered.has(token)) {
          await this.webhook('patch', Routes.webhookMessage(this.applicationId(), token, '@original'), { content, allowed_mentions: NO_PINGS });
          this.answered.add(token);
          return `interaction:${token}`;
        }
        const followUp = await this.webhook('post', Routes.webhook(this.applicationId(), token), { content, allowed_mentions: NO_PINGS, flags: MessageFlags.Ephemeral }) as { id: string };
        return followUp.id;
      } catch (err) {
        if (!this.isGone(token, err)) throw err;
      }
    }
    const channelId = await this.dmChannel(userId);
    const sent = await this.client.rest.post(Routes.channelMessages(channelId), { body: { content, allowed_mentions: NO_PINGS } }) as { id: string };
    return `dm:${channelId}:${sent.id}`;
  }

  /** Edits what `post` returned; false if `ref` is not an interaction's reply. */
  async edit(token: string | undefined, ref: string, content: string): Promise<boolean> {
    const dm = DM_REF.exec(ref);
    if (dm) {
      await this.client.rest.patch(Routes.channelMessage(dm[1]!, dm[2]!), { body: { content, allowed_mentions: NO_PINGS } });
      return true;
    }
    if (!token || ref !== `interaction:${token}`) return false;
    await this.webhook('patch', Routes.webhookMessage(this.applicationId(), token, '@original'), { content, allowed_mentions: NO_PINGS });
    return true;
  }

  /** Removes what `post` returned; false if `ref` is not an interaction's reply. */
  async remove(ref: string): Promise<boolean> {
    const dm = DM_REF.exec(ref);
    if (dm) await this.client.rest.delete(Routes.channelMessage(dm[1]!, dm[2]!));
    // The deferred reply itself stays: it holds the answer.
    return !!dm || ref.startsWith('interaction:');
  }

  /** Sends a file as a follow-up, or to the DMs once the interaction is gone. */
  async sendFile(token: string, userId: string | undefined, file: { name: string; data: Buffer }): Promise<void> {
    await this.deferralOf(token);
    const body = { content: '', allowed_mentions: NO_PINGS, attachments: [{ id: 0, filename: file.name }] };
    const files = [{ name: file.name, data: file.data }];
    if (!this.gone.has(token)) {
      try {
        await this.client.rest.post(Routes.webhook(this.applicationId(), token), { body, files, auth: false });
        return;
      } catch (err) {
        if (!this.isGone(token, err)) throw err;
      }
    }
    await this.client.rest.post(Routes.channelMessages(await this.dmChannel(userId)), { body, files });
  }

  private async deferralOf(token: string): Promise<void> {
    const deferral = this.deferrals.get(token);
    if (!deferral) return;
    await deferral;
    this.deferrals.delete(token);
  }

  /**
   * Interaction webhooks need no bot token, and must not carry it: discord.js drops its token on any
   * 401 to an authenticated request, and Discord answers 401 for an interaction token past 15 minutes.
   */
  private webhook(method: 'patch' | 'post', route: `/${string}`, body: unknown): Promise<unknown> {
    return this.client.rest[method](route, { body, auth: false });
  }

  /** Discord answers 404 Unknown Webhook for an interaction never acknowledged, 401 once its token expired. */
  private isGone(token: string, err: unknown): boolean {
    if (!(err instanceof DiscordAPIError) || !((err.status === 404 && err.code === 10015) || (err.status === 401 && err.code === 50027))) return false;
    this.gone.add(token);
    this.log()?.warn({ code: err.code }, 'discord: the slash command\'s interaction is gone; answering in DMs');
    return true;
  }

  private async dmChannel(userId: string | undefined): Promise<string> {
    if (!userId) throw new DeliveryError('Discord no longer knows this slash command, and its user is unknown: the answer cannot be delivered', false);
    const channel = await this.client.rest.post(Routes.userChannels(), { body: { recipient_id: userId } }) as { id: string };
    return channel.id;
  }
}

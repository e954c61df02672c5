/**
 * Clicks on our Slack buttons (`block_actions`). The clicker is `body.user.id`, which Bolt verified
 * (the request's signature in HTTP mode, the authenticated socket in Socket Mode); a button's value
 * only says which choice was clicked, never who clicked it.
 *
 * The Slack app needs Interactivity switched on; in HTTP mode its Request URL is the events URL
 * (slack.events_path), where Bolt tells clicks from events.
 */
import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { AdapterHost, Card } from '../../src/adapter.js';
import { clickPlace, detailView, offersShowAll, OUR_ACTION_ID, SHOW_ALL_ACTION_ID } from './buttons.js';

// Full inputs kept for "Show all", newest last; a card forgotten here (restart, many cards) says so.
const MAX_DETAILS = 500;

type Click = SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

export class SlackClicks {
  /** Pending cards' full inputs, by `channel:ts`. */
  private readonly details = new Map<string, string>();

  constructor(private readonly app: App, private readonly teamId: string | undefined) {}

  listen(host: AdapterHost): void {
    this.app.action<BlockAction<ButtonAction>>({ type: 'block_actions', action_id: OUR_ACTION_ID }, (click) => this.onClick(host, click));
  }

  /** Keeps a card's full input while it shows "Show all"; a resolved card needs it no more. */
  remember(channel: string, ts: string, card: Card): void {
    const key = `${channel}:${ts}`;
    this.details.delete(key);
    if (!offersShowAll(card)) return;
    this.details.set(key, card.detail!);
    if (this.details.size > MAX_DETAILS) this.details.delete(this.details.keys().next().value!);
  }

  /**
   * Acknowledged first, unlike messages: the click is applied right after, in one store
   * transaction, and what a crash in between loses is a click the person sees had no effect.
   */
  private async onClick(host: AdapterHost, { ack, body, action }: Click): Promise<void> {
    await ack();
    if (this.teamId && body.team?.id !== this.teamId) return;
    const place = clickPlace(body);
    if (!place) return;
    // Notices and the modal are not awaited: in HTTP mode Slack's 200 waits for this listener.
    if (action.action_id === SHOW_ALL_ACTION_ID) {
      void this.showAll(body, place.address.chatId, place.messageTs, place.address.threadId);
      return;
    }
    const result = await host.act({
      address: place.address,
      userId: body.user.id,
      userName: body.user.username || body.user.name,
      actionId: action.value ?? '',
      messageRef: place.messageTs,
    });
    if (!result.ok) void this.tell(body.user.id, place.address.chatId, place.address.threadId, result.text);
  }

  /** Opens a modal with the card's whole input, for the clicker only. */
  private async showAll(body: BlockAction<ButtonAction>, channel: string, ts: string, threadTs: string | undefined): Promise<void> {
    const detail = this.details.get(`${channel}:${ts}`);
    if (!detail) {
      await this.tell(body.user.id, channel, threadTs, 'The full input of this request is no longer at hand (answered, or the gateway restarted since).');
      return;
    }
    await this.app.client.views.open({ trigger_id: body.trigger_id, view: detailView(detail) }).catch(() => {});
  }

  /** A notice only the clicker sees, under the message they clicked. */
  private async tell(user: string, channel: string, threadTs: string | undefined, text: string): Promise<void> {
    await this.app.client.chat.postEphemeral({ channel, user, text, thread_ts: threadTs }).catch(() => {});
  }
}

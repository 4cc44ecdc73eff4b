import type { CallbackDelivery } from './callbacks.js';
import { ID_CHARS, Rng } from './random.js';
import type {
  ContactWay, CorpTag, Department, EndedFollow, ExternalContact, FollowRelation, GroupChat, KfAccount, KfCode, KfMessage,
  KfSession, MassSend, Member, Received, TagGroup, Transfer, WelcomeCode, WorldSettings,
} from './types.js';

const followKey = (userid: string, externalUserid: string) => `${userid}\u0000${externalUserid}`;

type SeqKind = 'follow' | 'received' | 'mass' | 'group' | 'transfer' | 'kf';

/**
 * The simulated corp: everything WeCom would know about it, in memory. API handlers and the
 * simulations both change it through these helpers, so the two never disagree about what a follow
 * relation or a deleted tag looks like. Tests read it directly (`sandbox.world`).
 */
export class World {
  readonly departments: Department[] = [];
  readonly members = new Map<string, Member>();
  readonly contacts = new Map<string, ExternalContact>();
  readonly follows = new Map<string, FollowRelation>();
  /** Relations that ended (deleted by either side, transferred away or drifted), newest last. */
  readonly endedFollows: EndedFollow[] = [];
  readonly tagGroups: TagGroup[] = [];
  readonly contactWays = new Map<string, ContactWay>();
  readonly welcomeCodes = new Map<string, WelcomeCode>();
  readonly received: Received[] = [];
  private readonly receivedByRecipient = new Map<string, Received[]>();
  /** App messages over the per-member rate, which WeCom drops without an error (SHAPES §11). */
  readonly droppedAppMessages: Received[] = [];
  readonly massSends = new Map<string, MassSend>();
  readonly groupChats = new Map<string, GroupChat>();
  readonly transfers: Transfer[] = [];
  readonly kfAccounts: KfAccount[] = [];
  readonly kfSessions = new Map<string, KfSession>();
  readonly kfMessages: KfMessage[] = [];
  readonly kfCodes = new Map<string, KfCode>();
  /** kf_msg_or_event tokens → expiry (ms). */
  readonly kfTokens = new Map<string, number>();
  /** Member app messages already delivered, for enable_duplicate_check: key → time (ms). */
  readonly appDuplicates = new Map<string, number>();
  /** Every callback WeCom pushed (or would have, with no URL set) and each delivery attempt. */
  readonly callbacks: CallbackDelivery[] = [];
  /** Ids drawn at run time (new contacts, tags, ways, msgids) come from their own stream. */
  readonly ids: Rng;
  private seqs: Record<SeqKind, number> = { follow: 0, received: 0, mass: 0, group: 0, transfer: 0, kf: 0 };

  constructor(
    readonly corpId: string,
    readonly agentId: number,
    readonly seed: number,
    readonly settings: WorldSettings,
  ) {
    this.ids = new Rng(seed, 'runtime');
  }

  nextSeq(kind: SeqKind): number {
    return ++this.seqs[kind];
  }

  // ---- members and contacts

  member(userid: string): Member | undefined {
    return this.members.get(userid);
  }

  follow(userid: string, externalUserid: string): FollowRelation | undefined {
    return this.follows.get(followKey(userid, externalUserid));
  }

  followsOf(externalUserid: string): FollowRelation[] {
    return [...this.follows.values()].filter((f) => f.external_userid === externalUserid).sort((a, b) => a.seq - b.seq);
  }

  followsOfUser(userid: string): FollowRelation[] {
    return [...this.follows.values()].filter((f) => f.userid === userid).sort((a, b) => a.seq - b.seq);
  }

  addFollow(relation: Omit<FollowRelation, 'seq'>): FollowRelation {
    const existing = this.follow(relation.userid, relation.external_userid);
    if (existing) return existing;
    const follow = { ...relation, seq: this.nextSeq('follow') };
    this.follows.set(followKey(follow.userid, follow.external_userid), follow);
    return follow;
  }

  endFollow(userid: string, externalUserid: string, by: EndedFollow['endedBy'], at: number): EndedFollow | undefined {
    const key = followKey(userid, externalUserid);
    const follow = this.follows.get(key);
    if (!follow) return undefined;
    this.follows.delete(key);
    const ended = { ...follow, endedAt: at, endedBy: by };
    this.endedFollows.push(ended);
    return ended;
  }

  // ---- tags

  /** A tag and its group; deleted ones only when asked, as get_corp_tag_list does for ids. */
  findTag(id: string, includeDeleted = false): { tag: CorpTag; group: TagGroup } | undefined {
    for (const group of this.tagGroups) {
      for (const tag of group.tag) {
        if (tag.id === id && (includeDeleted || (!tag.deleted && !group.deleted))) return { tag, group };
      }
    }
    return undefined;
  }

  findGroup(id: string, includeDeleted = false): TagGroup | undefined {
    return this.tagGroups.find((g) => g.group_id === id && (includeDeleted || !g.deleted));
  }

  liveTagCount(): number {
    return this.tagGroups.filter((g) => !g.deleted).reduce((n, g) => n + g.tag.filter((t) => !t.deleted).length, 0);
  }

  /** Deleted tags disappear from every customer at once, as in WeCom. */
  dropTagsFromFollows(ids: Set<string>): void {
    for (const follow of this.follows.values()) follow.tagIds = follow.tagIds.filter((id) => !ids.has(id));
  }

  deleteTag(tag: CorpTag, group: TagGroup): void {
    tag.deleted = true;
    this.dropTagsFromFollows(new Set([tag.id]));
    // A group cannot be empty: deleting its last tag deletes the group (SHAPES §4.4).
    if (group.tag.every((t) => t.deleted)) group.deleted = true;
  }

  deleteGroup(group: TagGroup): void {
    group.deleted = true;
    for (const tag of group.tag) tag.deleted = true;
    this.dropTagsFromFollows(new Set(group.tag.map((t) => t.id)));
  }

  // ---- messages

  record(message: Omit<Received, 'seq'>, dropped = false): Received {
    const entry = { ...message, seq: this.nextSeq('received') };
    (dropped ? this.droppedAppMessages : this.received).push(entry);
    if (!dropped) {
      const mine = this.receivedByRecipient.get(entry.to);
      if (mine) mine.push(entry);
      else this.receivedByRecipient.set(entry.to, [entry]);
    }
    return entry;
  }

  /** What one recipient received, oldest first (indexed: a mass send's confirmation asks per target). */
  receivedBy(to: string, kind?: Received['kind']): Received[] {
    const mine = this.receivedByRecipient.get(to) ?? [];
    return kind ? mine.filter((r) => r.kind === kind) : [...mine];
  }

  // ---- ids (deterministic per seed and operation order)

  newExternalUserid(): string {
    return 'wm' + this.ids.chars(30, ID_CHARS); // 32 characters, like the seeded ids
  }

  newTagId(): string {
    return 'et' + this.ids.chars(30);
  }

  newConfigId(): string {
    return this.ids.hex(32);
  }

  newMsgid(): string {
    return 'msg' + this.ids.chars(27);
  }

  newChatId(): string {
    return 'wr' + this.ids.chars(28);
  }

  newUnionid(): string {
    return 'o' + this.ids.chars(27);
  }

  kfSessionKey(openKfid: string, externalUserid: string): string {
    return `${openKfid}\u0000${externalUserid}`;
  }
}

export type { ContactWay, GroupChat, MassSend, Transfer };

import type { ApiCall, ApiRoute } from '../core.js';
import { WeComError } from '../errors.js';
import { optionalInt, page, requireString, stringList } from './params.js';

/** Customer group chats (SHAPES §9). */

function groupchatList({ world, body }: ApiCall) {
  const limit = optionalInt(body.limit, 'limit');
  if (limit === undefined || limit < 1 || limit > 1000) throw new WeComError(40058, 'limit is required, 1-1000');
  const status = optionalInt(body.status_filter, 'status_filter') ?? 0;
  if (status < 0 || status > 3) throw new WeComError(40058, 'invalid status_filter');
  const owners = stringList((body.owner_filter as { userid_list?: unknown } | undefined)?.userid_list, 'owner_filter.userid_list', 100);
  const rows = [...world.groupChats.values()]
    .filter((g) => !g.dismissed && (status === 0 || g.status === status) && (!owners.length || owners.includes(g.owner)))
    .sort((a, b) => a.seq - b.seq);
  const { items, next } = page(rows, (g) => g.seq, body.cursor, limit, 'groupchat');
  return { group_chat_list: items.map((g) => ({ chat_id: g.chat_id, status: g.status })), next_cursor: next };
}

function groupchatGet({ world, body }: ApiCall) {
  const chatId = requireString(body.chat_id, 40058, 'chat_id');
  const chat = world.groupChats.get(chatId);
  // 40050 for an unknown chat is unconfirmed for this API (SHAPES §9.2).
  if (!chat || chat.dismissed) throw new WeComError(40050);
  const needName = optionalInt(body.need_name, 'need_name') === 1;
  return {
    group_chat: {
      chat_id: chat.chat_id,
      name: chat.name,
      owner: chat.owner,
      create_time: chat.create_time,
      notice: chat.notice,
      member_list: chat.member_list.map(({ name, ...m }) => ({ ...m, ...(needName ? { name } : {}) })),
      admin_list: chat.admin_list.map((a) => ({ ...a })),
      member_version: chat.member_version,
    },
  };
}

export const groupRoutes: ApiRoute[] = [
  { path: 'externalcontact/groupchat/list', method: 'POST', handler: groupchatList, keepOnError: { group_chat_list: [] } },
  { path: 'externalcontact/groupchat/get', method: 'POST', handler: groupchatGet },
];

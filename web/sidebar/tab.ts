import type { Component } from 'vue';

/**
 * A sidebar tab: a folder under tabs/ whose index.ts default-exports one of these. The sidebar
 * renders every tab found, in order, and gives each the current context as props
 * (`SidebarContext`), so adding a tab means adding a folder.
 */
export interface SidebarTab {
  /** Sort key (lower first). */
  order: number;
  /** Chinese title shown on the tab. */
  title: string;
  /** Shown only when a customer (external contact) is in context; false for member-only tabs such as the card editor. */
  needsContact: boolean;
  component: Component;
}

/** What every tab receives as props. */
export interface SidebarContext {
  /** The logged-in member (staff) id and WeCom userid. */
  staffId: string;
  userid: string | null;
  /** The current chat's external contact, when the sidebar was opened from a chat. */
  externalUserid: string | null;
  /** The bank customer linked to that contact, if any. */
  customerId: string | null;
}

export function defineTab(tab: SidebarTab): SidebarTab {
  return tab;
}

import { defineTab } from '../../tab';
import CardTab from './CardTab.vue';

/** 名片: the member's own digital business card — edit it, share it (to the customer in the chat when there is one), see who looked. */
export default defineTab({ order: 50, title: '名片', needsContact: false, component: CardTab });

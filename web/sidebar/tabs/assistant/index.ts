import { defineTab } from '../../tab';
import AssistantTab from './AssistantTab.vue';

/** 助手: suggested replies, the material library, product recommendations with suitability, and the gate's findings on a draft. */
export default defineTab({ order: 40, title: '助手', needsContact: true, component: AssistantTab });

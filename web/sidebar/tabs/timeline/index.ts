import { defineTab } from '../../tab';
import TimelineTab from './TimelineTab.vue';

/** 动态: the customer's timeline, newest first, each entry with what caused it. */
export default defineTab({ order: 20, title: '动态', needsContact: true, component: TimelineTab });

import { defineTab } from '../../tab';
import TasksTab from './TasksTab.vue';

/** 任务: the member's SOP tasks (for this customer, or all), done and snooze; send tasks go into the chat. */
export default defineTab({ order: 30, title: '任务', needsContact: false, component: TasksTab });

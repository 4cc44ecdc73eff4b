import { defineTab } from '../../tab';
import CustomerTab from './CustomerTab.vue';

/** 客户: the profile (masked per role), AUM tier, risk level, products, tags, scores and the binding. */
export default defineTab({ order: 10, title: '客户', needsContact: true, component: CustomerTab });

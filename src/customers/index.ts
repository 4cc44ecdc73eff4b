export { registerCustomerRoutes } from './routes.js';
export { upsertCustomers, customerRow, listCustomers, getCustomer, exportCustomers, type CustomerInput } from './records.js';
export { addTimeline, listTimeline, subscribeTimeline, summarise } from './timeline.js';
export { autoLinkContact, autoLinkAll, bindContact, unlinkContact, subscribeLinking } from './links.js';

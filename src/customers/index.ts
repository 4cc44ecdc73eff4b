export { registerCustomerRoutes } from './routes.js';
export { upsertCustomers, customerRow, listCustomers, getCustomer, exportCustomers, type CustomerInput } from './records.js';

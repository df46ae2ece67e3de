export { leadWorkflow } from './lead.js';

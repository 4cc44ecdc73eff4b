/**
 * The material library: texts, images, links, mini-programs, files and product cards that
 * operations staff write and compliance approves. SOP steps, mass sends and the sidebar send only
 * approved materials: `getApprovedMaterial` then `materialContent`. See README.md.
 */
export {
  getApprovedMaterial, getMaterial, materialContent, searchMaterials, STATUS_LABELS, MATERIAL_KINDS, MATERIAL_STATUSES,
  type Material, type MaterialContent, type MaterialSearch,
} from './store.js';
export {
  checkMaterial, createMaterial, updateMaterial, submitMaterial, approveMaterial, rejectMaterial, retireMaterial, reviseMaterial, TEXT_MAX_BYTES,
  type ChangedBy, type MaterialChanges, type MaterialDeps, type NewMaterial,
} from './lifecycle.js';
export { judgeMaterial, type MaterialFinding, type MaterialJudgement } from './judge.js';
export { productCardAttachment, wecomAttachmentSchema, type WecomAttachment } from './attachments.js';
export { registerMaterialRoutes } from './routes.js';
export { seedDemoMaterials } from './seed.js';

/**
 * One filter grammar for segments, rule tags and SOP conditions: validate a JSON tree, compile it to a
 * parameterised SQL condition on `customers as c`, and describe it in Chinese. Field semantics (NULLs,
 * calendar days, tags, follow relations, maturities) are documented in sources.ts and compile.ts.
 */
export type { FilterNode, FilterLeaf } from './types.js';
export { LIMITS } from './types.js';
export { FIELDS, listFields, OPERATORS, type FieldInfo, type FieldSpec, type FieldType, type Operator, type EnumValue } from './fields.js';
export { filterNodeSchema, validateFilter } from './validate.js';
export { compileFilter, type CompileOptions } from './compile.js';
export { describeFilter, formatMoney } from './describe.js';
export { resolveTagNumbers, tagReferences, type TagNumbers } from './tags.js';

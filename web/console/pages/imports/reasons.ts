/**
 * The import's reasons in Chinese. The server names each problem by field with an English message
 * (src/customers/import/validate.ts, source.ts, csv.ts); the page shows them as the bank's staff
 * read them. A message this table does not know is shown as it came.
 */
export const FIELD_NAMES: Record<string, string> = {
  cif_no: '客户号',
  name: '姓名',
  mobile: '手机号',
  id_number: '身份证号',
  birth_date: '出生日期',
  gender: '性别',
  branch_id: '所属网点',
  aum: '资产（AUM）',
  risk_level: '风险等级',
  risk_assessed_at: '风险测评日期',
  products: '持有产品',
  segments: '客群',
  last_txn_at: '最近交易时间',
  marketing_consent: '营销同意',
  csv: 'CSV 格式',
  json: 'JSON 格式',
};

const GENDER: Record<string, string> = { M: '男', F: '女' };

const MESSAGES: [RegExp, (...groups: string[]) => string][] = [
  [/^is required$/, () => '必填'],
  [/^is required \(0 for none\)$/, () => '必填（没有资产请填 0）'],
  [/^must be a single value, not a list or an object$/, () => '只能是单个值，不能是列表或对象'],
  [/^must be 1–32 letters, digits, - or _$/, () => '须为 1–32 位字母、数字、- 或 _'],
  [/^is not valid UTF-8/, () => '不是有效的 UTF-8 文字（文件可能是 GBK 编码，请另存为 UTF-8 后重新导入）'],
  [/^contains control characters$/, () => '含有控制字符'],
  [/^is longer than (\d+) characters$/, (n) => `超过 ${n} 个字`],
  [/^must be a mainland mobile number/, () => '须为大陆手机号：以 13–19 开头的 11 位数字'],
  [/^must be 18 characters: 17 digits, then a digit or X$/, () => '须为 18 位：17 位数字加 1 位数字或 X'],
  [/^the birth date inside it is not a real date$/, () => '其中的出生日期不是真实日期'],
  [/^the check character \(18th\) is wrong$/, () => '校验位（第 18 位）不正确'],
  [/^must be a real date YYYY-MM-DD \(from 1900\)$/, () => '须为真实日期，格式 YYYY-MM-DD（1900 年起）'],
  [/^is in the future$/, () => '晚于今天'],
  [/^does not match the birth date in id_number$/, () => '与身份证号中的出生日期不一致'],
  [/^([MF]) contradicts id_number \(its 17th digit says ([MF])\)$/, (g, id) => `填写为“${GENDER[g!]}”，与身份证号（第 17 位表示“${GENDER[id!]}”）矛盾`],
  [/^must be M or F/, () => '须为 M 或 F（留空则按身份证号判断）'],
  [/^unknown branch (.+)$/, (b) => `未知网点 ${b}`],
  [/^must not be negative$/, () => '不能为负数'],
  [/^must be an amount in CNY/, () => '须为人民币金额，最多两位小数'],
  [/^must be R1–R5 or empty$/, () => '须为 R1–R5 或留空'],
  [/^must be a real date YYYY-MM-DD or empty$/, () => '须为真实日期 YYYY-MM-DD 或留空'],
  [/^must be product ids separated by \|/, () => '须为以 | 分隔的产品编号（JSON Lines 中为数组）'],
  [/^unknown product id\(s\): (.+)$/, (ids) => `未知产品编号：${ids}`],
  [/^must be segment names separated by \|/, () => '须为以 | 分隔的客群名称（JSON Lines 中为数组）'],
  [/^unknown segment\(s\): (.+) \(allowed: (.+)\)$/, (s, allowed) => `未知客群：${s}（可选：${allowed}）`],
  [/^must be an ISO 8601 timestamp/, () => '须为 ISO 8601 时间（如 2026-11-23T09:30:00+08:00）或留空'],
  [/^must be true, false, 1, 0, 是 or 否/, () => '须为 true、false、1、0、是 或 否（留空视为否）'],
  [/^appears again: already imported from line (\d+) of this file$/, (n) => `客户号重复：本文件第 ${n} 行已有同一客户`],
  [/^expected (\d+) fields as in the header, found (\d+)$/, (want, got) => `应有 ${want} 个字段（与表头一致），实际 ${got} 个`],
  [/^field (\d+): quoted field is not closed before the end of the file$/, (n) => `第 ${n} 个字段的引号到文件末尾仍未闭合`],
  [/^field (\d+): characters after a closing quote$/, (n) => `第 ${n} 个字段的闭合引号后还有字符`],
  [/^the line is not a JSON object$/, () => '该行不是 JSON 对象'],
  [/^the line is not valid JSON(?: \(at character (\d+)\))?$/, (at) => `该行不是有效的 JSON${at ? `（第 ${at} 个字符处）` : ''}`],
  // Problems with the whole file (import.failed, the import's error).
  [/^the header row \(line (\d+)\) lacks column\(s\): (.+)$/, (line, cols) => `表头（第 ${line} 行）缺少列：${cols}`],
  [/^the header row names column\(s\) twice: (.+)$/, (cols) => `表头重复列出：${cols}`],
  [/^the file is empty: a CSV file needs a header row$/, () => '文件为空：CSV 文件需要表头行'],
  [/^line (\d+): a record longer than (\d+) bytes/, (line, max) => `第 ${line} 行：单条记录超过 ${max} 字节（可能引号不配对）`],
  [/^line (\d+): longer than 16 MiB$/, (line) => `第 ${line} 行超过 16 MiB`],
];

export function reasonText(message: string): string {
  for (const [pattern, render] of MESSAGES) {
    const m = pattern.exec(message);
    if (m) return render(...m.slice(1));
  }
  return message;
}

export const fieldName = (field: string) => FIELD_NAMES[field] ?? field;

import { ApiError, fieldOf, type FieldIssue } from '@shared/api';

/**
 * The server's validation messages (src/filters/validate.ts, src/segments/definition.ts, zod) in Chinese, saying
 * what to do. A message this table does not know is shown as the server wrote it, after 服务器提示.
 */
const RULES: [RegExp, string | ((m: RegExpExecArray) => string)][] = [
  [/^expected a number$/, '请填写数字'],
  [/^expected \[min, max\]/, '请填写最小值和最大值，且最小值不能大于最大值'],
  [/^value is required$/, '请选择一个值'],
  [/^expected one of (.+)$/, (m) => `请从可选值中选择（${m[1]}）`],
  [/^expected a non-empty list of at most (\d+)/, (m) => `请至少选择或填写一项，最多 ${m[1]} 项`],
  [/^expected a non-empty string of at most (\d+) characters/, (m) => `请填写内容，最多 ${m[1]} 个字`],
  [/^expected an ISO date/, '请选择日期'],
  [/^expected \[from, to\]/, '请选择开始和结束日期，且开始日期不能晚于结束日期'],
  [/^expected a whole number of days from 1 to (\d+)/, (m) => `天数须是 1 到 ${m[1]} 之间的整数`],
  [/^expected a whole number of days from 0 \(today\) to (\d+)/, (m) => `天数须是 0（今天）到 ${m[1]} 之间的整数`],
  [/^this operator takes no value$/, '此条件不需要填写值'],
  [/needs at least one condition$/, '条件组里至少要有一个条件，请添加条件或删除该组'],
  [/^unknown field/, '字段不存在，请重新选择'],
  [/^expected a field name$/, '请选择字段'],
  [/^expected an operator/, '请选择条件'],
  [/^unknown operator/, '条件不存在，请重新选择'],
  [/^operator '(\w+)' not allowed/, '该字段不支持此条件，请重新选择'],
  [/nests deeper than (\d+) levels/, (m) => `条件组最多嵌套 ${m[1]} 层，请合并部分条件组`],
  [/more than (\d+) conditions/, (m) => `条件最多 ${m[1]} 个，请精简`],
  [/more than (\d+) nodes/, (m) => `条件与条件组合计最多 ${m[1]} 个，请精简`],
  [/^a model score segment tests only score fields/, '模型分客群只能使用模型分字段（流失概率、流失风险、RFM分类、R/F/M值评分）'],
  [/^give a score filter, a propensity condition or both$/, '请设置模型分条件或产品倾向分条件（至少一项）'],
  [/does not exist or was deleted$/, '引用的客群不存在或已删除，请重新选择'],
  [/^segments would form a cycle: (.+)$/, (m) => `客群之间形成了循环引用（${m[1]}），请去掉其中一个`],
  [/^a segment is listed twice$/, '同一个客群选了两次，请去掉重复的'],
  [/has no hand-picked members$/, '这种圈选方式没有手工名单'],
  [/^only a custom segment excludes customers/, '只有自定义客群可以排除客户，固定名单请直接移除'],
  [/^only an imported segment takes a CIF list$/, '只有导入名单客群可以上传客户号'],
  [/^an imported segment needs the uploaded CIF numbers$/, '请上传客户号名单'],
  [/^not a cron expression: (.+)$/, (m) => `定时表达式不正确（${m[1]}），请按“分 时 日 月 周”填写`],
  [/^Too small: expected string to have >=1 characters?$/, '不能为空'],
  [/^Too big: expected string to have <=(\d+) characters?$/, (m) => `最多 ${m[1]} 个字`],
  [/^Too big: expected number to be <=(\S+)$/, (m) => `不能大于 ${m[1]}`],
  [/^Too small: expected number to be >=(\S+)$/, (m) => `不能小于 ${m[1]}`],
  [/^Too small: expected array to have >=(\d+) items?$/, (m) => `至少选择 ${m[1]} 项`],
  [/^Invalid input: expected string, received undefined$/, '必须填写'],
];

export function chineseMessage(message: string): string {
  for (const [re, out] of RULES) {
    const m = re.exec(message);
    if (m) return typeof out === 'string' ? out : out(m);
  }
  return `服务器提示：${message}`;
}

/** Where a body field is, as a person reads it. */
const PLACES: [RegExp, (m: RegExpExecArray) => string][] = [
  [/^name$/, () => '客群名称'],
  [/^description$/, () => '说明'],
  [/^refreshCron$/, () => '定时刷新'],
  [/^definition\.segments\.(\d+)$/, (m) => `第 ${Number(m[1]) + 1} 个客群`],
  [/^definition\.segments$/, () => '参与运算的客群'],
  [/^definition\.propensity\.minScore$/, () => '最低倾向分'],
  [/^definition\.propensity\.productId$/, () => '倾向产品'],
  [/^definition\.propensity$/, () => '产品倾向分'],
  [/^definition\.filter/, () => '筛选条件'],
  [/^filter/, () => '筛选条件'],
  [/^definition\.method$/, () => '圈选方式'],
  [/^cifs/, () => '导入的客户号'],
  [/^members\.add/, () => '添加的客户'],
  [/^members\.remove/, () => '移除的客户'],
  [/^members\.exclude/, () => '排除的客户'],
  [/^members/, () => '手工名单'],
];

export function placeOf(issue: FieldIssue): string {
  const field = fieldOf(issue);
  for (const [re, out] of PLACES) {
    const m = re.exec(field);
    if (m) return out(m);
  }
  return field;
}

/** A whole failed request in Chinese: each issue with where it is, or the request's own message. */
export function describeFailure(error: unknown, fallback = '操作失败，请重试。'): string {
  if (!(error instanceof ApiError)) return fallback;
  if (error.issues.length) {
    return `${error.issues.slice(0, 3).map((i) => `${placeOf(i)}：${chineseMessage(i.message)}`).join('；')}。请修改后重试。`;
  }
  if (error.kind === 'conflict' && /already exists/.test(error.detail)) return '已有同名客群，请换一个名称。';
  return error.message;
}

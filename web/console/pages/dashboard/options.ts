import type { ChartOption } from './echarts';
import type { ContactsReport, ConversationsReport, FunnelReport, SopReport } from './types';

/** Chart options for the dashboard's reports; every chart carries an aria description of its data. */
const aria = (description?: string) => ({
  enabled: true,
  ...(description ? { description } : {}),
  label: { data: { maxCount: 400 }, series: { maxCount: 20 } },
});

const COLORS = ['#2563eb', '#16a34a', '#f59e0b', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#64748b'];
const shortDay = (d: string) => d.slice(5);

function daily(days: string[], series: ChartOption['series'], extra: Partial<ChartOption> = {}): ChartOption {
  return {
    color: COLORS,
    aria: aria(),
    tooltip: { trigger: 'axis' },
    legend: { top: 0 },
    grid: { left: 40, right: 16, top: 36, bottom: 28, containLabel: true },
    xAxis: { type: 'category', data: days.map(shortDay) },
    yAxis: { type: 'value', minInterval: 1 },
    series,
    ...extra,
  } as ChartOption;
}

export const contactsChart = (r: ContactsReport): ChartOption => daily(r.days, [
  { name: '新增', type: 'bar', data: r.added },
  { name: '流失', type: 'bar', data: r.lost, itemStyle: { color: '#dc2626' } },
  { name: '净增', type: 'line', data: r.added.map((a, i) => a - r.lost[i]!), itemStyle: { color: '#f59e0b' } },
]);

/** Channels by adds, the first six by name and the rest together as 其他渠道. */
export function channelChart(r: ContactsReport): ChartOption {
  const top = r.channels.filter((c) => c.addedTotal > 0).slice(0, 6);
  const rest = r.channels.filter((c) => c.addedTotal > 0).slice(6);
  const series = top.map((c) => ({ name: c.name, type: 'bar' as const, stack: 'added', data: c.added }));
  if (rest.length) series.push({ name: '其他渠道', type: 'bar', stack: 'added', data: r.days.map((_, i) => rest.reduce((s, c) => s + c.added[i]!, 0)) });
  return daily(r.days, series);
}

export const sopChart = (r: SopReport): ChartOption => daily(r.days, [
  { name: '进入旅程', type: 'line', data: r.enrollments, smooth: true },
  { name: '旅程消息', type: 'bar', data: r.messages },
  { name: '已发出', type: 'bar', data: r.sent },
]);

export const conversationChart = (r: ConversationsReport): ChartOption => daily(r.days, [
  { name: '客户消息', type: 'bar', data: r.messages },
  { name: '自动回复', type: 'bar', data: r.autoReplied },
  { name: '转人工', type: 'line', data: r.handoffs, itemStyle: { color: '#dc2626' } },
]);

export function funnelChart(r: FunnelReport): ChartOption {
  const top = r.stages[0]?.count ?? 0;
  return {
    color: ['#2563eb', '#0891b2', '#16a34a', '#f59e0b'],
    aria: aria(),
    tooltip: { trigger: 'item', formatter: '{b}：{c} 人' },
    series: [{
      name: '转化漏斗', type: 'funnel', sort: 'none', left: '10%', width: '80%', top: 10, bottom: 10, minSize: '36%', gap: 2,
      label: { show: true, position: 'inside', formatter: (p: { name: string; value: unknown }) => `${p.name} ${p.value}人${top ? `（${Math.round((Number(p.value) / top) * 1000) / 10}%）` : ''}` },
      data: r.stages.map((s) => ({ name: s.label, value: s.count })),
    }],
  } as ChartOption;
}

/**
 * ECharts with only what the dashboard draws (lines, bars, a funnel; grid, tooltip, legend, aria; canvas), so
 * the console bundle carries a fraction of the library. The aria component writes each chart's data into the
 * container's aria-label, for screen readers (and the browser tests read the numbers there).
 */
import { init, use, type ComposeOption, type ECharts } from 'echarts/core';
import { BarChart, FunnelChart, LineChart, type BarSeriesOption, type FunnelSeriesOption, type LineSeriesOption } from 'echarts/charts';
import {
  AriaComponent, GridComponent, LegendComponent, TooltipComponent,
  type AriaComponentOption, type GridComponentOption, type LegendComponentOption, type TooltipComponentOption,
} from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

use([BarChart, LineChart, FunnelChart, AriaComponent, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

export type ChartOption = ComposeOption<
  BarSeriesOption | LineSeriesOption | FunnelSeriesOption | AriaComponentOption | GridComponentOption | LegendComponentOption | TooltipComponentOption
>;

export function createChart(dom: HTMLElement): ECharts {
  return init(dom, undefined, { renderer: 'canvas', locale: 'ZH' });
}

export type { ECharts };

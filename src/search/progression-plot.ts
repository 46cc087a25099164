import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';

export interface ProgressionPoint {
  macs: number;
  accuracy: number;
  generation: number;
}

/**
 * NNCF's search_progression plot: x MACs, y top1_acc, one diamond per evaluated subnet coloured
 * by generation (viridis), the input model as a blue square at (max MACs, ref_acc) and the best
 * subnet as a yellow circle. Rendered with Vega-Lite to SVG, then to PNG by resvg, with a font
 * shipped as a package (no browser, no system fonts).
 */
export async function renderProgression(
  points: ProgressionPoint[],
  inputModel: { macs: number; accuracy: number },
  best: { macs: number; accuracy: number },
  algorithm: string,
): Promise<{ svg: string; png: Buffer }> {
  const spec: vegaLite.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Search Progression (${algorithm})`,
    width: 560,
    height: 400,
    background: 'white',
    config: { font: 'DejaVu Sans' },
    layer: [
      {
        data: { values: points },
        mark: { type: 'point', shape: 'diamond', filled: true, size: 81, opacity: 0.5 },
        encoding: {
          x: { field: 'macs', type: 'quantitative', title: 'MACs', scale: { zero: false } },
          y: { field: 'accuracy', type: 'quantitative', title: 'top1_acc', scale: { zero: false } },
          color: {
            field: 'generation',
            type: 'quantitative',
            scale: { scheme: 'viridis' },
            title: 'generation',
            legend: { orient: 'bottom' },
          },
        },
      },
      {
        data: { values: [{ ...inputModel, label: 'Input Model' }] },
        mark: { type: 'square', filled: true, size: 150, color: 'blue' },
        encoding: { x: { field: 'macs', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: { values: [{ ...best, label: 'BootstrapNAS A' }] },
        mark: { type: 'circle', size: 150, color: 'gold', stroke: 'black', strokeWidth: 1 },
        encoding: { x: { field: 'macs', type: 'quantitative' }, y: { field: 'accuracy', type: 'quantitative' } },
      },
      {
        data: {
          values: [
            { ...inputModel, label: 'Input Model' },
            { ...best, label: 'BootstrapNAS A' },
          ],
        },
        mark: { type: 'text', align: 'left', dx: 9, dy: -9, fontSize: 11 },
        encoding: {
          x: { field: 'macs', type: 'quantitative' },
          y: { field: 'accuracy', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ],
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const fontFiles = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
  const png = new Resvg(svg, { font: { fontFiles, loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' } })
    .render()
    .asPng();
  return { svg, png };
}

/**
 * Text sizes of the statechart, in chart units, shared by the build-time layout (which sizes
 * boxes from them) and the SVG (which draws with them). At the dashboard's default zoom the chart
 * is scaled to its panel; the layout is chosen so that the smallest text stays ≥ 11 px on screen
 * at 1280×720 (see TARGET_BOX in layout.ts).
 */
export const METRICS = {
  stateFont: 14,
  titleFont: 14,
  edgeFont: 13,
  /** Line height of edge labels. */
  lineH: 16,
} as const;

/**
 * Advance widths (per 100 px of font size) of the printable ASCII characters, space to `~`, in
 * DejaVu Sans — the widest of the common UI sans-serifs (Debian's default; Segoe UI, Roboto and
 * San Francisco are narrower), so boxes sized from it hold the text in any of them.
 */
const REGULAR = [
  32, 40, 46, 84, 64, 95, 78, 28, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 78, 75, 30,
  30, 66, 56, 86, 75, 79, 60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63, 63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52,
  39, 63, 59, 82, 59, 59, 53, 64, 34, 64, 84,
];
/** The same for semibold (font-weight 600). */
const SEMIBOLD = [
  35, 46, 52, 84, 70, 100, 87, 31, 46, 46, 52, 84, 38, 42, 38, 37, 70, 70, 70, 70, 70, 70, 70, 70, 70, 70, 40, 40, 84, 84, 84, 58, 100, 77, 76, 73, 83, 68, 68, 82, 84, 37,
  37, 78, 64, 100, 84, 85, 73, 85, 77, 72, 68, 81, 77, 110, 77, 72, 73, 46, 37, 46, 84, 50, 50, 67, 72, 59, 72, 68, 44, 72, 71, 34, 34, 67, 34, 104, 71, 69, 72, 72, 49, 60,
  48, 71, 65, 92, 65, 65, 58, 71, 37, 71, 84,
];

/** Estimated width of `s` drawn at `font` px (build time has no font to measure with). */
export function textWidth(s: string, font: number, semibold = false): number {
  const table = semibold ? SEMIBOLD : REGULAR;
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w += c >= 32 && c < 127 ? table[c - 32]! : 100;
  }
  return Math.ceil((w * font) / 100);
}

/**
 * The laid-out statechart, computed from the machine definition while the dashboard is built
 * (scripts/chart-layout.ts) and embedded in the bundle by scripts/build-web.mjs. It exists only
 * in the bundle: Node code (tests, the build) calls layoutMachine() in src/web/layout.ts instead.
 */
declare module 'devteam:statechart' {
  const chart: import('./types.ts').LaidOutChart;
  export default chart;
}

/**
 * The laid-out statecharts (the project coordinator and the task actor), computed from the machine
 * definitions while the dashboard is built (scripts/chart-layout.ts) and embedded in the bundle by
 * scripts/build-web.mjs. It exists only in the bundle: Node code (tests, the build) calls
 * layoutCharts() in src/web/layout.ts instead.
 */
declare module 'devteam:statechart' {
  const charts: import('./types.ts').Charts;
  export default charts;
}

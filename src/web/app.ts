/**
 * The dashboard: REST for the initial statuses and the commands, the /ws/devteam stream for
 * everything live (both through the typed client in src/client), UI state in @xstate/store,
 * DOM updates batched per animation frame. Panels: the project chart, the lanes (tasks in flight,
 * merge queue), the task chart of one lane, context, commands, transitions, log.
 */
import { createClient, createStream, type DevTeamClient, type DevTeamStream } from '../client/index.ts';
import type { ProjectConfig } from '../domain/projectConfig.ts';
import type { Command } from '../domain/status.ts';
import charts from 'devteam:statechart';
import { projectChartView, shownLane, taskChartView } from './chartViews.ts';
import { createChartPanel } from './components/chart.ts';
import { createControls } from './components/controls.ts';
import { createDetails } from './components/details.ts';
import { createHeader } from './components/header.ts';
import { createInitForm } from './components/initForm.ts';
import { createLanes, type LaneCommand } from './components/lanes.ts';
import { createLogTail } from './components/logTail.ts';
import { createProjectList } from './components/projectList.ts';
import { createTimeline } from './components/timeline.ts';
import { h } from './dom.ts';
import { startRenderLoop, type RenderLoop } from './render.ts';
import { createUiStore, type UiStore } from './store.ts';

export interface App {
  store: UiStore;
  client: DevTeamClient;
  stream: DevTeamStream;
  loop: RenderLoop;
  chartReady: Promise<void>;
}

/** How often the whole list is re-read over REST (authoritative counts for every project). */
const REFRESH_MS = 15_000;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function startApp(root: HTMLElement, opts: { baseUrl: string; token?: string }): App {
  const store = createUiStore();
  const client = createClient({ baseUrl: opts.baseUrl, token: opts.token });
  const stream = createStream({ url: opts.baseUrl, token: opts.token });
  const subscribed = new Set<string>();
  let loop: RenderLoop | null = null;
  const invalidate = () => loop?.invalidate();

  const subscribeNew = () => {
    const fresh = store.getSnapshot().context.ids.filter((id) => !subscribed.has(id));
    for (const id of fresh) subscribed.add(id);
    for (let i = 0; i < fresh.length; i += 1000) stream.subscribe(fresh.slice(i, i + 1000));
  };

  const loadAll = async () => {
    const items = [];
    for await (const s of client.allProjects({ pageSize: 1000 })) items.push(s);
    store.trigger.statuses({ items });
    subscribeNew();
  };

  // The selected project gets its authoritative status shortly after each transition.
  let refreshTimer: ReturnType<typeof setTimeout> | null = null;
  const refreshSelected = () => {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      const id = store.getSnapshot().context.selectedId;
      if (id) client.status(id).then((s) => store.trigger.statuses({ items: [s] }), () => undefined);
    }, 250);
  };

  /** A project command, or RETRY / SKIP for one lane (`taskId` in the body). */
  const runCommand = async (projectId: string, cmd: Command, taskId?: string) => {
    store.trigger.busy({ busy: true });
    const what = taskId ? `${cmd} ${projectId} task ${taskId}` : `${cmd} ${projectId}`;
    try {
      const r = await client.command(projectId, cmd, taskId ? { taskId } : {});
      store.trigger.statuses({ items: [r.status] });
      store.trigger.notice({ notice: r.pending ? { kind: 'info', text: `${cmd} accepted; cleanup still running` } : null });
    } catch (err) {
      store.trigger.notice({ notice: { kind: 'error', text: `${what}: ${message(err)}` } });
    } finally {
      store.trigger.busy({ busy: false });
    }
  };

  const initialize = async (config: ProjectConfig): Promise<boolean> => {
    try {
      const r = await client.initialize(config);
      store.trigger.statuses({ items: [r.status] });
      store.trigger.select({ id: r.status.projectId });
      subscribeNew();
      store.trigger.notice({ notice: { kind: 'info', text: `${config.projectId}: ${r.created ? 'created' : (r.outcome ?? 'updated')}` } });
      return true;
    } catch (err) {
      store.trigger.notice({ notice: { kind: 'error', text: `initialize ${config.projectId}: ${message(err)}` } });
      return false;
    }
  };

  const header = createHeader({ onDismiss: () => store.trigger.notice({ notice: null }) });
  const list = createProjectList({ onSelect: (id) => store.trigger.select({ id }), invalidate });
  const form = createInitForm({ onSubmit: initialize });
  const chart = createChartPanel({ chart: charts.project, name: 'project', title: 'Statechart', empty: 'no project selected', view: projectChartView(charts.project), invalidate });
  const lanes = createLanes({ onCommand: (id, cmd, taskId) => void runCommand(id, cmd, taskId), onShow: (taskId) => store.trigger.selectLane({ taskId }), shownLane });
  const taskChart = createChartPanel({ chart: charts.task, name: 'task', title: 'Task statechart', empty: 'no task in flight', view: taskChartView(charts.task), invalidate });
  const details = createDetails();
  const controls = createControls({ onCommand: (id, cmd) => void runCommand(id, cmd) });
  const timeline = createTimeline();
  const logs = createLogTail();
  root.replaceChildren(
    header.el,
    h('div', { class: 'layout' }, h('aside', { class: 'side' }, form.el, list.el), h('main', { class: 'main' }, chart.el, lanes.el, taskChart.el, h('div', { class: 'grid' }, details.el, controls.el, timeline.el, logs.el))),
  );
  loop = startRenderLoop(store, [header.render, list.render, chart.render, lanes.render, taskChart.render, details.render, controls.render, timeline.render, logs.render]);

  stream.onState((state) => store.trigger.connection({ state }));
  stream.onEnvelope((e) => {
    store.trigger.envelope({ e });
    if (e.type === 'transition' && e.projectId === store.getSnapshot().context.selectedId) refreshSelected();
  });
  loadAll().catch((err) => store.trigger.notice({ notice: { kind: 'error', text: `loading projects: ${message(err)}` } }));
  const timer = setInterval(() => void loadAll().catch(() => undefined), REFRESH_MS);
  window.addEventListener('pagehide', () => {
    clearInterval(timer);
    stream.close();
  });
  return { store, client, stream, loop, chartReady: Promise.all([chart.ready, taskChart.ready]).then(() => undefined) };
}

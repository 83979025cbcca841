/**
 * MikroORM entities (no decorators: defineEntity). The schema itself is owned by the
 * migrations in migrations/; these definitions map the same tables for reads and audits.
 */
import { defineEntity, p } from '@mikro-orm/core';

export const ProjectEntity = defineEntity({
  name: 'Project',
  tableName: 'project',
  properties: {
    id: p.string().primary(),
    config: p.json<Record<string, unknown>>(),
    state: p.string(),
    substate: p.string().nullable(),
    currentTaskId: p.string().nullable(),
    currentTaskTitle: p.string().nullable(),
    attempt: p.integer().nullable(),
    lastError: p.text().nullable(),
    status: p.json<Record<string, unknown>>().nullable(),
    seq: p.bigint('number'),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});

export const ActorSnapshotEntity = defineEntity({
  name: 'ActorSnapshot',
  tableName: 'actor_snapshot',
  properties: {
    projectId: p.string().primary(),
    actorId: p.string().primary(),
    seq: p.bigint('number'),
    machineVersion: p.string(),
    snapshot: p.json<Record<string, unknown>>(),
    fence: p.bigint('number'),
    updatedAt: p.datetime(),
  },
});

export const TaskRunEntity = defineEntity({
  name: 'TaskRun',
  tableName: 'task_run',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    projectId: p.string(),
    taskId: p.string(),
    attempt: p.integer(),
    state: p.string(),
    startedAt: p.datetime(),
    finishedAt: p.datetime().nullable(),
    promptSha256: p.string().nullable(),
    branch: p.string().nullable(),
    verify: p.json<Record<string, unknown>>().nullable(),
    agent: p.json<Record<string, unknown>>().nullable(),
    artifacts: p.json<string[]>(),
    outcome: p.string().nullable(),
    deletedAt: p.datetime().nullable(),
  },
});

export const EventEntity = defineEntity({
  name: 'Event',
  tableName: 'event',
  properties: {
    id: p.string().primary(),
    type: p.string(),
    projectId: p.string(),
    correlationId: p.string(),
    payload: p.json<Record<string, unknown>>(),
    receivedAt: p.datetime(),
    processedAt: p.datetime().nullable(),
    status: p.string(),
    deliveries: p.integer(),
    deletedAt: p.datetime().nullable(),
  },
});

export const ProjectEventEntity = defineEntity({
  name: 'ProjectEvent',
  tableName: 'project_event',
  properties: {
    projectId: p.string().primary(),
    seq: p.bigint('number').primary(),
    n: p.integer().primary(),
    type: p.string(),
    ts: p.datetime(),
    payload: p.json<Record<string, unknown>>(),
  },
});

export const entities = [ProjectEntity, ActorSnapshotEntity, TaskRunEntity, EventEntity, ProjectEventEntity];

import { TASK_IDS, type TaskId } from '../env/types.js';
import { openDrawer } from './open_drawer/index.js';
import { pickCube } from './pick_cube/index.js';
import { pushPen } from './push_pen/index.js';
import { stackBlocks } from './stack_blocks/index.js';
import type { TaskDefinition } from './types.js';

const TASKS: Record<TaskId, TaskDefinition> = {
  pick_cube: pickCube,
  push_pen: pushPen,
  stack_blocks: stackBlocks,
  open_drawer: openDrawer,
};

export function getTask(id: TaskId): TaskDefinition {
  const t = (TASKS as Partial<Record<string, TaskDefinition>>)[id];
  if (!t) throw new Error(`unknown task id "${String(id)}"; expected one of ${TASK_IDS.join(', ')}`);
  return t;
}

export function allTasks(): TaskDefinition[] {
  return TASK_IDS.map(getTask);
}

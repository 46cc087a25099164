import type { Task } from './task';
import type { TaskConfig } from './task-config';
import { glueTask } from './glue-task';
import { llmTask } from './llm-task';
import { textTask } from './text-task';

/** The task a config names; a task object is its own. */
export function taskOf(config: TaskConfig | Task): Task {
  if (!('kind' in config)) return config;
  switch (config.kind) {
    case 'glue':
      return glueTask(config);
    case 'text':
      return textTask(config);
    default:
      return llmTask(config);
  }
}

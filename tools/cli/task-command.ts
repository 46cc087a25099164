import type { Command } from './command';
import { runExperimentCommand } from './run-experiment-command';
import type { Family } from './task-flags';
import { taskSettings } from './task-settings';
import { taskUsage } from './task-usage';

/** `lonas commonsense|math|glue`: LoNAS's run_<family>.py command lines, mapped to an experiment. */
export function taskCommand(family: Family): Command {
  return {
    name: family,
    summary: `LoNAS on ${family === 'glue' ? 'GLUE (BERT)' : family} tasks: --do_train, --do_test, --do_search`,
    usage: taskUsage(family),
    async run(args) {
      const { experiment, ignored, events, live } = taskSettings(family, args);
      if (ignored.length > 0) {
        process.stderr.write(
          `lonas ${family}: accepted and ignored: ${ignored.map(({ flag, why }) => `--${flag} (${why})`).join('; ')}\n`,
        );
      }
      return runExperimentCommand(family, experiment, {
        events,
        live,
        runInfo: {
          command: family,
          model: experiment.model,
          nncf_config: experiment.nncfConfig,
          output_dir: experiment.outputDir,
          task: 'kind' in experiment.task && experiment.task.kind === 'glue' ? experiment.task.taskName : undefined,
        },
      });
    },
  };
}

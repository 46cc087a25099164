import { commonsenseTask, mathTask } from '../../src/tasks/tasks';
import { liveFlagsUsage } from './live-flags';
import { loraFlagsUsage } from './lora-flags';
import { GLUE_TASK_LORA } from '../../src/tasks/glue-task';
import { LLM_TASK_LORA } from '../../src/tasks/llm-task';
import { IGNORED, IGNORED_BY_LLM_TASKS, type Family } from './task-flags';

/** The help text of `lonas commonsense|math|glue`, defaults included. */
export function taskUsage(family: Family): string {
  const data =
    family === 'glue'
      ? `  --task_name T                       rte, mrpc, stsb, cola, sst2, qnli, qqp or mnli
  --dataset_path DIR                  the task's GLUE folder (train.tsv, dev.tsv; MNLI: dev_matched.tsv
                                      and dev_mismatched.tsv)
  --max_seq_length N                  tokens per example (default 128)
  --do_eval                           evaluate the super-network and the minimum subnet on the dev set
  --evaluation_strategy no|epoch      with --do_eval, also after every epoch (default no)
  --max_test_samples N                the first N dev examples`
      : `  --dataset_path FILE                 LLM-Adapters training JSON (instruction, input, output, answer)
  --val_set_size N                    records held out (seed 42) for the search (default ${family === 'commonsense' ? 120 : 0})
  --datasets_dir DIR                  test sets as <dir>/<name>/test.json (default datasets/)
  --test_datasets A,B                 which of them (default: all of ${(family === 'math' ? mathTask : commonsenseTask).datasets.join(', ')} present)
  --max_test_samples N                the first N of each test set
  --cutoff_len N                      training tokens per example (default 256)
  --train_on_inputs [true|false]      learn the prompt too (default true)
  --num_beams N / --max_new_tokens N  generation (default 4 and ${family === 'math' ? 256 : 32})`;
  const lora = family === 'glue' ? GLUE_TASK_LORA : LLM_TASK_LORA;
  return `usage: lonas ${family} --model_name_or_path PATH --nncf_config FILE --output_dir DIR [--do_train]${family === 'glue' ? ' [--do_eval]' : ''} [--do_test] [--do_search] [options]

${family === 'glue' ? 'GLUE with BERT' : family === 'math' ? 'Math reasoning' : 'Commonsense reasoning'}, as LoNAS's run_${family}.py: train a super-adapter, test the heuristic subnet, search the Pareto front.
Boolean flags stand alone or take true/false (--do_train, --do_train True, --no_do_train).

  --model_name_or_path PATH           base model (Hugging Face folder or llama2.c .bin)
  --tokenizer PATH                    for checkpoints without one (llama2.c)
  --nncf_config FILE                  search space, stage schedule, search settings
  --output_dir DIR                    adapter, checkpoints, results, search outputs
  --lora_weights DIR                  a trained super-adapter to test or search without training (its
                                      adapter_config.json sets r, alpha, dropout and the targets)
${data}
  --max_train_samples N               use the first N training examples
  --per_device_train_batch_size N     (default 8)      --gradient_accumulation_steps N (default 1)
  --per_device_eval_batch_size N      examples evaluated together (default 8)
  --eval_workers N                    search with N evaluator workers, each with its own model
                                      (default: the config's lonas.eval_workers, else 1)
  --eval_queue URL                    search with 'lonas worker's on other machines, through this Redis
                                      (redis://[:password@]host[:port] or rediss://; the config's
                                      lonas.eval_queue; a URL without password uses $LONAS_REDIS_PASSWORD)
  --eval_queue_name NAME              the queue's name (default: lonas.eval_queue_name, else lonas-eval)
  --num_train_epochs N                (default 3)      --seed N (default 42)
  --weight_decay W                    AdamW's decoupled weight decay, not on biases (default 0)
  --optim adamw_hf|adamw_torch        transformers' or torch's AdamW (default adamw_hf)
  --save_strategy epoch|no  --save_total_limit N  --events  --backend NAME
  --resume                            continue the training run in --output_dir from its newest checkpoint
  --overwrite_output_dir              replace the training run in --output_dir (else it is refused)
  --plugin FILE                       a module defining search strategies or samplers (repeatable;
                                      also the config's lonas.plugins)
${liveFlagsUsage}
${loraFlagsUsage}
  (LoRA defaults: --target_modules ${lora.targetModules.join(',')} --lora_r ${lora.rank} --lora_alpha ${lora.alpha} --lora_dropout ${lora.dropout},
   under the config's lonas section)

Accepted and ignored (named on stderr): ${[
    ...Object.keys(IGNORED),
    ...(family === 'glue' ? [] : Object.keys(IGNORED_BY_LLM_TASKS)),
  ]
    .map((f) => `--${f}`)
    .join(', ')}.`;
}

/** LoNAS's commonsense or math task: LLM-Adapters JSON, generation, answer extraction. */
export interface LlmTaskConfig {
  kind: 'commonsense' | 'math';
  /** The training JSON (`instruction`, `input`, `output`, `answer`); needed to train or search. */
  datasetPath?: string;
  /** Training records held out (seeded shuffle) as the search's validation set. */
  valSetSize: number;
  /** Test sets as `<datasetsDir>/<name>/test.json`. */
  datasetsDir: string;
  /** Which test sets (default: the task's, those present). */
  testDatasets?: string[];
  maxTrainSamples?: number;
  maxTestSamples?: number;
  /** Training tokens per example. */
  cutoffLen: number;
  trainOnInputs: boolean;
  numBeams: number;
  maxNewTokens: number;
}

/** A GLUE task with BERT: the task's TSV folder. */
export interface GlueTaskConfig {
  kind: 'glue';
  /** rte, mrpc, stsb, cola, sst2, qnli, qqp or mnli. */
  taskName: string;
  /** The folder with train.tsv and dev.tsv (MNLI: dev_matched.tsv, dev_mismatched.tsv). */
  datasetPath: string;
  maxSeqLength: number;
  maxTrainSamples?: number;
  maxTestSamples?: number;
}

/** Plain training records (`lonas train`): strings or {text, text_pair, label}. */
export interface TextTaskConfig {
  kind: 'text';
  trainFile: string;
  maxSeqLength: number;
}

export type TaskConfig = LlmTaskConfig | GlueTaskConfig | TextTaskConfig;

/** An error in an experiment's settings or files, found before or while running it. */
export class ExperimentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentError';
  }
}

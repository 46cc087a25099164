/** What a training run did. */
export interface TrainResult {
  epochs: number;
  globalSteps: number;
  interrupted: boolean;
  losses: number[];
}

/**
 * Training: optimizers (Adam, SGD with momentum, Bop; latent-weight clip), learning-rate
 * schedules, evaluation, metrics and the training loop with checkpoints and resume.
 */
export {
  type DistillationConfig,
  modelHash,
  resolveDistillation,
  type TeacherRecord,
} from "./distill.js";
export { type EvalResult, evaluate } from "./evaluate.js";
export { countCorrect, flipRatio, signSnapshot } from "./metrics.js";
export { TrainingDivergedError } from "./numerics.js";
export { adam, bop, type Optimizer, type Param, sgd } from "./optimizers.js";
export { makeSchedule, type ScheduleKind, type ScheduleSpec, scheduleKinds } from "./schedules.js";
export {
  CHECKPOINT_FILE,
  type EpochRecord,
  type LossName,
  type TrainConfig,
  type TrainResult,
  type TrainRun,
  train,
} from "./trainer.js";

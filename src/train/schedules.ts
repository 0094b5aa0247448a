/**
 * Learning-rate schedules: the learning rate for epoch e (0-based), constant within an epoch.
 *
 *     const s = makeSchedule({ kind: "exponential", lr: 1e-3, decay: 0.9 });
 *     s(2); // 1e-3 * 0.9^2
 */
export type ScheduleKind = "constant" | "exponential" | "step" | "cosine";

/** A learning-rate schedule: its kind, initial rate and parameters. */
export interface ScheduleSpec {
  kind: ScheduleKind;
  /** Initial learning rate. */
  lr: number;
  /** exponential: lr * decay^e (default 0.9). step: lr * decay^floor(e / stepEpochs) (default 0.1). */
  decay?: number;
  /** step: epochs per decay step (default 10). */
  stepEpochs?: number;
  /** cosine: total epochs T; lr_e = minLr + (lr - minLr) * (1 + cos(pi * e / T)) / 2. */
  epochs?: number;
  /** cosine: the floor (default 0). */
  minLr?: number;
}

/** The learning-rate schedules `makeSchedule` knows. */
export const scheduleKinds: readonly ScheduleKind[] = ["constant", "exponential", "step", "cosine"];

/** Returns epoch -> learning rate. */
export function makeSchedule(spec: ScheduleSpec): (epoch: number) => number {
  const { lr } = spec;
  if (!(lr > 0)) throw new RangeError(`schedule: lr must be > 0, got ${lr}`);
  switch (spec.kind) {
    case "constant":
      return () => lr;
    case "exponential": {
      const decay = spec.decay ?? 0.9;
      return (e) => lr * decay ** e;
    }
    case "step": {
      const decay = spec.decay ?? 0.1;
      const every = spec.stepEpochs ?? 10;
      return (e) => lr * decay ** Math.floor(e / every);
    }
    case "cosine": {
      const total = spec.epochs ?? 1;
      const minLr = spec.minLr ?? 0;
      return (e) => minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * Math.min(e, total)) / total))) / 2;
    }
    default:
      throw new RangeError(`unknown schedule '${spec.kind}'; choose one of: ${scheduleKinds.join(", ")}`);
  }
}

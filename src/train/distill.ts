/**
 * Knowledge distillation for the trainer, the recipe that brought ReActNet (Liu et al. 2020)
 * its accuracy: a teacher (usually a float network) runs in eval mode, without a graph, on
 * each (augmented) training batch, and the student trains against
 *
 *   loss = weight * distillationLoss(student, teacher, temperature) + (1 - weight) * label loss
 *
 * (src/ops/distillation.ts; the label loss is the run's `loss`, cross-entropy by default).
 * weight 1, the default, is ReActNet's distributional loss alone; temperature 1 is theirs.
 *
 * The teacher is a checkpoint file or a live Model on the training Context. Checkpoints
 * record it as `{ file, name, hash }`: the hash (SHA-256 of the teacher's spec and tensors,
 * the same for a file and for the model built from it) lets resume refuse another teacher.
 *
 *     await train({ ctx, data, teacher: "runs/teacher/last.ckpt",
 *       config: { model: { builder: "bnn-cnn" }, epochs: 2, batchSize: 64, lr: 1e-3,
 *         distillation: { weight: 0.9, temperature: 1 } } });
 */
import { createHash } from "node:crypto";
import type { DataSplits } from "../data/index.js";
import { modelOfCheckpoint, readCheckpoint } from "../nn/checkpoint.js";
import type { ForwardMode } from "../nn/layer.js";
import type { Model } from "../nn/model.js";
import { resolveSpec } from "../nn/spec.js";
import { add, distillationLoss, mul } from "../ops/index.js";
import type { Context } from "../tensor/context.js";
import type { Tensor } from "../tensor/tensor.js";
import { Random } from "../util/random.js";

export interface DistillationConfig {
  /** alpha in [0, 1]: loss = alpha * KD + (1 - alpha) * label loss (default 1: KD alone). */
  weight?: number;
  /** Softmax temperature T > 0 of teacher and student, with T^2 scaling (default 1). */
  temperature?: number;
}

/** How a checkpoint names the teacher it was distilled from. */
export interface TeacherRecord {
  /** The checkpoint file it was loaded from (absent for a live Model). */
  file?: string;
  /** The teacher's model name. */
  name: string;
  /** SHA-256 (hex) of the teacher's spec and tensors. */
  hash: string;
}

/** The settings with their defaults, checked: weight in [0, 1], temperature > 0. */
export function resolveDistillation(d: DistillationConfig = {}): Required<DistillationConfig> {
  const weight = d.weight ?? 1;
  const temperature = d.temperature ?? 1;
  if (typeof weight !== "number" || !(weight >= 0 && weight <= 1)) {
    throw new RangeError(`distillation weight must be in [0, 1], got ${String(weight)}`);
  }
  if (typeof temperature !== "number" || !(Number.isFinite(temperature) && temperature > 0)) {
    throw new RangeError(`distillation temperature must be a positive number, got ${String(temperature)}`);
  }
  return { weight, temperature };
}

/** A teacher ready to run: its model (eval mode, no graph) and its record. */
export class Teacher {
  private readonly mode: ForwardMode;

  constructor(
    readonly model: Model,
    readonly record: TeacherRecord,
    /** Whether this Teacher built the model (and so disposes it). */
    private readonly owned: boolean,
    xnorForward?: boolean,
    /** The data set its checkpoint was trained on, if it says. */
    readonly trainedOn?: string,
  ) {
    this.mode = { training: false, rng: new Random(0), xnorForward };
  }

  /** The teacher's logits [n, classes] for a batch of n images, recording no graph. */
  logits(x: Float32Array, n: number): Tensor {
    const ctx = this.model.ctx;
    return ctx.noGrad(() => this.model.forward(ctx.fromArray(x, [n, ...this.model.inputShape]), this.mode));
  }

  dispose(): void {
    if (this.owned) this.model.dispose();
  }
}

/**
 * The teacher of a run: loads it (a checkpoint file) or takes it (a Model on `ctx`), checks
 * that it takes the data set's images and scores its classes, and, when resuming, that it is
 * the teacher the checkpoint was distilled from (none if none). Errors name the teacher's file.
 */
export async function prepareTeacher(
  ctx: Context,
  source: string | Model | undefined,
  data: DataSplits,
  resume?: { checkpoint: string; teacher?: TeacherRecord },
  xnorForward?: boolean,
): Promise<Teacher | undefined> {
  if (source === undefined) {
    if (resume?.teacher) {
      throw new Error(
        `${resume.checkpoint}: was distilled from the teacher ${describe(resume.teacher)}; pass the same teacher to resume it`,
      );
    }
    return undefined;
  }
  const teacher = await loadTeacher(ctx, source, xnorForward);
  try {
    checkTeacher(teacher, data);
    if (resume) checkResumeTeacher(resume.checkpoint, resume.teacher, teacher.record);
  } catch (e) {
    teacher.dispose();
    throw e;
  }
  return teacher;
}

async function loadTeacher(ctx: Context, source: string | Model, xnorForward?: boolean): Promise<Teacher> {
  if (typeof source !== "string") {
    if (source.ctx !== ctx) {
      throw new Error(`teacher model '${source.name}' lives on another Context than the training`);
    }
    return new Teacher(source, { name: source.name, hash: modelHash(source) }, false, xnorForward);
  }
  const ck = await readCheckpoint(source);
  const dataset = (ck.state as { dataset?: unknown }).dataset;
  const model = modelOfCheckpoint(ctx, ck, source);
  const record = { file: source, name: model.name, hash: modelHash(model) };
  return new Teacher(model, record, true, xnorForward, typeof dataset === "string" ? dataset : undefined);
}

/** The teacher must take the data set's images and output one score per class. */
function checkTeacher(teacher: Teacher, data: DataSplits): void {
  const who = teacher.record.file
    ? `${teacher.record.file}: the teacher ('${teacher.record.name}')`
    : `teacher model '${teacher.record.name}'`;
  const trainedOn = teacher.trainedOn;
  if (trainedOn !== undefined && trainedOn !== data.name) {
    throw new Error(`${who} was trained on '${trainedOn}', cannot teach on '${data.name}'`);
  }
  const model = teacher.model;
  const shape = [data.train.height, data.train.width, data.train.channels];
  const flat = shape[0]! * shape[1]! * shape[2]!;
  const input = model.inputShape;
  const fits =
    (input.length === 3 && input.every((d, i) => d === shape[i])) ||
    (input.length === 1 && input[0] === flat);
  if (!fits) {
    throw new Error(
      `${who} takes images [${input.join(", ")}], the ${data.name} data set has [${shape.join(", ")}]`,
    );
  }
  const outShape = resolveSpec(model.spec).shapes.get(model.spec.outputs[0]!)!;
  const outputs = outShape.reduce((a, b) => a * b, 1);
  if (outputs !== data.classes.length) {
    throw new Error(
      `${who} outputs ${outputs} values, the ${data.name} data set has ${data.classes.length} classes`,
    );
  }
}

/** A resumed run continues with the teacher it began with (the same content), or none. */
function checkResumeTeacher(
  checkpoint: string,
  saved: TeacherRecord | undefined,
  given: TeacherRecord,
): void {
  if (!saved) {
    throw new Error(
      `${checkpoint}: was trained without a teacher, cannot resume it distilled from ${describe(given)}`,
    );
  }
  if (saved.hash !== given.hash) {
    throw new Error(
      `${checkpoint}: was distilled from the teacher ${describe(saved)}; the teacher given, ${describe(given)}, differs: resume with the same teacher`,
    );
  }
}

function describe(r: TeacherRecord): string {
  const hash = `sha256 ${r.hash.slice(0, 12)}`;
  return r.file ? `${r.file} ('${r.name}', ${hash})` : `model '${r.name}' (${hash})`;
}

/** SHA-256 (hex) of a model's spec and its tensors (names, shapes and float32 values). */
export function modelHash(model: Model): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(model.spec));
  for (const [name, t] of model.namedTensors()) {
    h.update(`\n${name} [${t.shape.join(",")}]\n`);
    const d = t.data;
    h.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return h.digest("hex");
}

/**
 * The distilled objective: weight * KD + (1 - weight) * the label loss (computed only when
 * weight < 1).
 */
export function distilledLoss(
  logits: Tensor,
  teacherLogits: Tensor,
  labelLoss: () => Tensor,
  settings: Required<DistillationConfig>,
): Tensor {
  const kd = distillationLoss(logits, teacherLogits, { temperature: settings.temperature });
  if (settings.weight === 1) return kd;
  return add(mul(kd, settings.weight), mul(labelLoss(), 1 - settings.weight));
}

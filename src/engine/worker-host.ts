/**
 * The worker side of an EngineWorker: one synchronous Engine, fed by the messages of
 * worker-protocol.ts. Requests run one at a time in arrival order (a load is awaited
 * before the next request starts); a failure becomes an error reply and the host goes
 * on. Scores and classes go back in transferred buffers.
 */
import { Engine } from "./runtime.js";
import type { HostReply, HostRequest } from "./worker-protocol.js";
import { serializeError } from "./worker-protocol.js";

export type PostReply = (reply: HostReply, transfer: ArrayBuffer[]) => void;

/** Returns the function to call with each request message. */
export function engineHost(post: PostReply): (request: HostRequest) => void {
  let engine: Engine | undefined;
  let queue = Promise.resolve();
  const handle = async (request: HostRequest): Promise<void> => {
    try {
      if (request.type === "load") {
        if (engine) throw new Error("EngineWorker: the worker already holds an engine");
        const loaded = await Engine.load(request.source, request.options);
        engine = loaded;
        post(
          {
            id: request.id,
            type: "loaded",
            info: {
              modelName: loaded.model.name,
              classNames: [...loaded.classNames],
              inputShape: [...loaded.inputShape],
              imageSize: loaded.imageSize,
              maxBatch: loaded.maxBatch,
              backend: loaded.backend.name,
              threads: loaded.backend.threads ?? 1,
              threadNote: loaded.backend.threadNote,
            },
          },
          [],
        );
      } else if (request.type === "predict") {
        if (!engine) throw new Error("EngineWorker: no engine loaded");
        const p = engine.predict(request.images as Parameters<Engine["predict"]>[0]);
        post({ id: request.id, type: "prediction", ...p }, [
          p.scores.buffer as ArrayBuffer,
          p.classes.buffer as ArrayBuffer,
        ]);
      } else {
        throw new Error(`EngineWorker: unknown request ${(request as { type?: unknown }).type}`);
      }
    } catch (error) {
      post({ id: request.id, type: "error", error: serializeError(error) }, []);
    }
  };
  return (request) => {
    queue = queue.then(() => handle(request));
  };
}

import { type TObject, Type } from "typebox";
import type { JobKind, SubmitRoute } from "../queue/job-kind.js";
import { IdempotencyKeyField } from "./idempotency-key.js";
import { ChunkSize, Items, Parallel } from "./schemas.js";

/**
 * A kind's submit request: its items field, chunk_size and parallel (the kind's defaults), an idempotency key,
 * its options.
 */
export function submitBody(kind: JobKind, route: SubmitRoute): TObject {
  return Type.Object(
    {
      [route.itemsField]: Items(kind.item, route.itemsDescription),
      chunk_size: ChunkSize(route.chunkSize),
      parallel: Parallel(route.parallel),
      idempotency_key: IdempotencyKeyField,
      ...kind.options.properties,
    },
    { title: route.title },
  );
}

import { type TObject, Type } from "typebox";
import type { JobKind, SubmitRoute } from "../queue/job-kind.js";
import { ChunkSize, Items, Parallel } from "./schemas.js";
import { COMMON_SUBMIT_FIELDS } from "./submit-fields.js";

/**
 * A kind's submit request: its items field, chunk_size and parallel (the kind's defaults), the fields every
 * submit takes (COMMON_SUBMIT_FIELDS), its options. Any other field is a 422 that names it (a misspelt option
 * would otherwise run the job with a default).
 */
export function submitBody(kind: JobKind, route: SubmitRoute): TObject {
  return Type.Object(
    {
      [route.itemsField]: Items(kind.item, route.itemsDescription),
      chunk_size: ChunkSize(route.chunkSize),
      parallel: Parallel(route.parallel),
      ...COMMON_SUBMIT_FIELDS,
      ...kind.options.properties,
    },
    { title: route.title, additionalProperties: false },
  );
}

/** A JSON object as the API, the queue and the stores pass it around (payloads, options, metadata, results). */
export type JsonObject = Record<string, unknown>;

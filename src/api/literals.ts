import { type TLiteral, Type } from "typebox";

/** One literal per value, as a tuple (so a union of them keeps its static type). */
export const literals = <const T extends readonly string[]>(values: T) =>
  values.map((v) => Type.Literal(v)) as unknown as { -readonly [K in keyof T]: TLiteral<T[K]> };

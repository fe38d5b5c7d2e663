/**
 * A page of a job's items with the failed ones first (the dashboard's and `items --failed-first`'s view),
 * as both engines read it: the failed items in order (from the partial index on failed items), the others in
 * order (from the job's index), each read no further than the page's end, and only those rows sorted — never
 * the whole job, which a sort on `status = 'failed'` did on every page of a 100,000-item job.
 *
 * `clause` filters the job's items (its parameters are given twice, once per half); `window` is the
 * SQL parameter that holds offset + limit; `limit` and `offset` are the page's own parameters.
 */
export function failedFirstSql(clause: string, window: string, limit: string, offset: string): string {
  return `SELECT * FROM (SELECT *, 0 AS failed_first FROM items WHERE ${clause} AND status = 'failed'
      ORDER BY seq LIMIT ${window}) f
    UNION ALL
    SELECT * FROM (SELECT *, 1 AS failed_first FROM items WHERE ${clause} AND status <> 'failed'
      ORDER BY seq LIMIT ${window}) r
    ORDER BY failed_first, seq LIMIT ${limit} OFFSET ${offset}`;
}

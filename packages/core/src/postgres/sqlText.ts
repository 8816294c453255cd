/** Quoting for SQL that is put together from names read from the catalog. */

/** A double-quoted identifier (quote_ident's rule: double any double quote). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal; standard_conforming_strings (on since 9.1) makes backslashes plain. */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Which relations are "user tables", the one definition used everywhere (table counts at backup,
 * restore validation, row digests): ordinary and partitioned tables (relkind r, p) — each
 * partition counts as a table — in any schema except PostgreSQL's own (pg_catalog,
 * information_schema, pg_toast*, pg_temp_*) and TimescaleDB's (_timescaledb_*, timescaledb_*).
 * A hypertable is one user table; its chunks live in _timescaledb_internal and are not counted.
 * `c` is pg_class, `n` is pg_namespace.
 */
export const USER_TABLE_CONDITION = `c.relkind in ('r', 'p')
  and n.nspname not in ('pg_catalog', 'information_schema')
  and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
  and n.nspname !~ '^_?timescaledb_'`;

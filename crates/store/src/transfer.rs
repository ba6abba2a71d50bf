//! Moving an embedded deployment's state (SQLite, `datapact.db`) into PostgreSQL
//! (`datapact migrate --from-sqlite`): every table the server keeps, row for row, in one
//! transaction, then counted again on both sides.

use std::path::Path;

use rusqlite::types::Value;
use tokio_postgres::types::{ToSql, Type};

use crate::{PostgresStore, SqliteStore, StoreError};

/// The tables copied, parents before children (foreign keys). Leases are not: they name the
/// embedded server's own holder and expire within seconds.
pub const TABLES: &[&str] = &[
    "orgs",
    "tenants",
    "opt_outs",
    "ai_settings",
    "support_grants",
    "api_keys",
    "tenant_retention",
    "certificates",
    "jobs",
    "llm_usage",
    "meta",
    "quotas",
    "training_docs",
    "training_events",
];

/// Rows of one table, in the source and in the target after the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    /// The table.
    pub table: &'static str,
    /// Rows in `datapact.db`.
    pub source: u64,
    /// Rows in PostgreSQL after the copy.
    pub target: u64,
}

/// Whether the state in the database at `url` is empty (no organization, tenant, key, job or
/// certificate): the only target a migration writes to. Brings the schema up to date.
pub async fn postgres_is_empty(url: &str) -> Result<bool, StoreError> {
    let store = PostgresStore::connect(url).await?;
    let c = store.client().await?;
    let row = c
        .query_one(
            "SELECT NOT (EXISTS (SELECT 1 FROM orgs) OR EXISTS (SELECT 1 FROM tenants) OR EXISTS (SELECT 1 FROM api_keys)
                     OR EXISTS (SELECT 1 FROM jobs) OR EXISTS (SELECT 1 FROM certificates) OR EXISTS (SELECT 1 FROM llm_usage))",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// A value read from SQLite, bound as the PostgreSQL column's type.
#[derive(Debug)]
enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Int4(i32),
    Text(String),
    Bytes(Vec<u8>),
}

impl Cell {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Cell::Null => &None::<String>,
            Cell::Bool(v) => v,
            Cell::Int(v) => v,
            Cell::Int4(v) => v,
            Cell::Text(v) => v,
            Cell::Bytes(v) => v,
        }
    }
}

fn convert(table: &str, column: &str, ty: &Type, v: Value) -> Result<Cell, StoreError> {
    let wrong = |what: &str| StoreError::Corrupt(format!("{table}.{column}: {what} cannot become {ty}"));
    Ok(match (v, ty) {
        (Value::Null, _) => Cell::Null,
        (Value::Integer(i), t) if *t == Type::BOOL => Cell::Bool(i != 0),
        (Value::Integer(i), t) if *t == Type::INT8 => Cell::Int(i),
        (Value::Integer(i), t) if *t == Type::INT4 => {
            Cell::Int4(i32::try_from(i).map_err(|_| wrong("an integer past 32 bits"))?)
        }
        (Value::Text(s), t) if *t == Type::TEXT || *t == Type::VARCHAR => Cell::Text(s),
        (Value::Blob(b), t) if *t == Type::BYTEA => Cell::Bytes(b),
        (Value::Integer(_), _) => return Err(wrong("an integer")),
        (Value::Text(_), _) => return Err(wrong("text")),
        (Value::Blob(_), _) => return Err(wrong("a blob")),
        (Value::Real(_), _) => return Err(wrong("a real")),
    })
}

/// Copies the state of the embedded deployment in `dir` into the (empty) PostgreSQL database
/// at `url`, in one transaction: either every row is there or none is. The SQLite file is
/// only read (its schema is first brought up to date, as starting the server would).
pub async fn copy_sqlite_to_postgres(dir: &Path, url: &str) -> Result<Vec<TableCount>, StoreError> {
    let path = dir.join("datapact.db");
    if !path.exists() {
        return Err(StoreError::Config(format!(
            "{} does not exist: {} holds no embedded deployment",
            path.display(),
            dir.display()
        )));
    }
    drop(SqliteStore::open(dir)?);
    let src = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let store = PostgresStore::connect(url).await?;
    let mut c = store.client().await?;
    let tx = c.transaction().await?;
    let mut counts = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        // The target's columns and their types; the source has the same names.
        let columns: Vec<(String, Type)> = {
            let stmt = tx.prepare(&format!("SELECT * FROM {table} LIMIT 0")).await?;
            stmt.columns()
                .iter()
                .map(|c| (c.name().to_string(), c.type_().clone()))
                .collect()
        };
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let conflict = if *table == "meta" {
            // The target may have marked its own settings (the key hash format) when it was
            // created; the deployment's own values win.
            " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        } else {
            ""
        };
        let insert = tx
            .prepare(&format!(
                "INSERT INTO {table} ({}) VALUES ({}){conflict}",
                names.join(", "),
                placeholders.join(", ")
            ))
            .await?;
        let rows: Vec<Vec<Cell>> = {
            let mut stmt = src.prepare(&format!("SELECT {} FROM {table}", names.join(", ")))?;
            let mut out = Vec::new();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let mut cells = Vec::with_capacity(columns.len());
                for (i, (name, ty)) in columns.iter().enumerate() {
                    cells.push(convert(table, name, ty, row.get::<_, Value>(i)?)?);
                }
                out.push(cells);
            }
            out
        };
        for cells in &rows {
            let params: Vec<&(dyn ToSql + Sync)> = cells.iter().map(Cell::as_sql).collect();
            tx.execute(&insert, &params).await?;
        }
        counts.push(TableCount {
            table,
            source: rows.len() as u64,
            target: 0,
        });
    }
    tx.commit().await?;
    for count in &mut counts {
        let n: i64 = c
            .query_one(&format!("SELECT count(*) FROM {}", count.table), &[])
            .await?
            .get(0);
        count.target = u64::try_from(n).unwrap_or(0);
    }
    Ok(counts)
}

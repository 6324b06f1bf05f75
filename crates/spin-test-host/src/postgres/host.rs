#![allow(
    clippy::result_large_err,
    reason = "results carry the WIT interface's own error type, returned to the guest as is"
)]

//! The `connection` resource of `spin:postgres/postgres@4.0.0`
//! (`crates/factor-outbound-pg/src/host.rs`): open through the pool after the address check,
//! `query` and `execute` with Spin's conversions and errors.

use std::error::Error as _;

use wasmtime::component::Resource;

use super::allowed_hosts::check_address;
use super::client::PostgresConnection;
use super::types::{borrow, data_type, db_value, to_sql_params};
use crate::bindings::postgres::{
    Column, DbError, Error, HostConnection, ParameterValue, QueryError, RowSet,
};
use crate::control::{HostCall, SpinHazard};
use crate::instance::InstanceState;

impl crate::bindings::postgres::Host for InstanceState {}

pub(super) type Reply<T> = wasmtime::Result<Result<T, Error>>;

impl HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Reply<Resource<PostgresConnection>> {
        self.component.check_host_call(&HostCall::PostgresOpen)?;
        if let Err(error) = check_address(&self.component, &address) {
            return Ok(Err(error));
        }
        match self.component.postgres.take(&address).await {
            Ok(connection) => Ok(Ok(self.table.push(connection)?)),
            Err(error) => Ok(Err(Error::ConnectionFailed(error.to_string()))),
        }
    }

    async fn query(
        &mut self,
        connection: Resource<PostgresConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Reply<RowSet> {
        self.component
            .check_host_call(&HostCall::PostgresStatement(statement.clone()))?;
        let client = self.table.get(&connection)?.client();
        let params = match to_sql_params(params) {
            Ok(params) => params,
            Err(conversion) => return conversion.into_reply(Error::BadParameter),
        };
        let statement = match client.prepare(&statement).await {
            Ok(statement) => statement,
            Err(error) => return Ok(Err(query_failed(&error))),
        };
        // A store that discards writes answers a query as if it had made them (a function that
        // writes and reads back), then forgets them.
        let discards = self.component.discards_postgres_writes();
        if discards && let Err(error) = client.batch_execute("BEGIN").await {
            return Ok(Err(query_failed(&error)));
        }
        let queried = client.query(&statement, &borrow(&params)).await;
        if discards && let Err(error) = client.batch_execute("ROLLBACK").await {
            return Ok(Err(query_failed(&error)));
        }
        let rows = match queried {
            Ok(rows) if rows.is_empty() => {
                return Err(wasmtime::Error::new(SpinHazard::ZeroRowQuery));
            }
            Ok(rows) => rows,
            Err(error) => return Ok(Err(query_failed(&error))),
        };
        let columns = statement
            .columns()
            .iter()
            .map(|column| Column {
                name: column.name().to_owned(),
                data_type: data_type(column.type_()),
            })
            .collect();
        let rows = rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|index| db_value(row, index))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>();
        match rows {
            Ok(rows) => Ok(Ok(RowSet { columns, rows })),
            Err(conversion) => {
                conversion.into_reply(|message| Error::QueryFailed(QueryError::Text(message)))
            }
        }
    }

    async fn execute(
        &mut self,
        connection: Resource<PostgresConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> Reply<u64> {
        self.component
            .check_host_call(&HostCall::PostgresStatement(statement.clone()))?;
        let client = self.table.get(&connection)?.client();
        let params = match to_sql_params(params) {
            Ok(params) => params,
            Err(conversion) => return conversion.into_reply(Error::ValueConversionFailed),
        };
        if self.component.discards_postgres_writes() {
            return Ok(Ok(0));
        }
        Ok(client
            .execute(&statement, &borrow(&params))
            .await
            .map_err(|error| query_failed(&error)))
    }

    async fn drop(&mut self, connection: Resource<PostgresConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

pub(super) fn error_text(error: &tokio_postgres::Error) -> String {
    match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    }
}

fn query_failed(error: &tokio_postgres::Error) -> Error {
    let Some(db) = error.as_db_error() else {
        return Error::QueryFailed(QueryError::Text(error_text(error)));
    };
    Error::QueryFailed(QueryError::DbError(DbError {
        as_text: error_text(error),
        severity: db.severity().to_owned(),
        code: db.code().code().to_owned(),
        message: db.message().to_owned(),
        detail: db.detail().map(str::to_owned),
        extras: [
            ("hint", db.hint()),
            ("table", db.table()),
            ("column", db.column()),
            ("constraint", db.constraint()),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name.to_owned(), value?.to_owned())))
        .collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::postgres::DbValue;
    use crate::instance::test_support::{borrow, instance_allowing};
    use crate::postgres::test_support::{connected, db_error_code};
    use test_services::TestPostgres;

    #[tokio::test]
    async fn execute_reports_affected_rows_including_array_batch_upserts() {
        let (_postgres, mut host, connection) = connected().await;
        let c = || borrow(&connection);
        let create = "CREATE TABLE votes (id VARCHAR(255) NOT NULL UNIQUE, vote VARCHAR(255) NOT NULL, seq BIGINT NOT NULL)";
        assert_eq!(
            host.execute(c(), create.into(), vec![])
                .await
                .unwrap()
                .unwrap(),
            0
        );
        let upsert = "INSERT INTO votes (id, vote, seq) \
            SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::int8[]) \
            ON CONFLICT (id) DO UPDATE SET vote = EXCLUDED.vote, seq = EXCLUDED.seq \
            WHERE votes.seq < EXCLUDED.seq";
        let batch = |ids: &[&str], votes: &[&str], seqs: &[i64]| {
            vec![
                ParameterValue::ArrayStr(ids.iter().map(|id| Some(id.to_string())).collect()),
                ParameterValue::ArrayStr(votes.iter().map(|vote| Some(vote.to_string())).collect()),
                ParameterValue::ArrayInt64(seqs.iter().map(|seq| Some(*seq)).collect()),
            ]
        };
        let applied = host
            .execute(
                c(),
                upsert.into(),
                batch(&["v1", "v2"], &["a", "b"], &[1, 2]),
            )
            .await;
        assert_eq!(applied.unwrap().unwrap(), 2);
        let stale_and_newer = batch(&["v1", "v2"], &["b", "a"], &[0, 3]);
        assert_eq!(
            host.execute(c(), upsert.into(), stale_and_newer)
                .await
                .unwrap()
                .unwrap(),
            1
        );
        let tally = "SELECT vote, COUNT(id) AS count FROM votes GROUP BY vote ORDER BY vote";
        let rows = host
            .query(c(), tally.into(), vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rows.rows,
            [vec![DbValue::Str("a".into()), DbValue::Int64(2)]]
        );
    }

    #[tokio::test]
    async fn errors_carry_postgres_codes() {
        let (_postgres, mut host, connection) = connected().await;
        let c = || borrow(&connection);
        let syntax = host
            .query(c(), "SELEC 1".into(), vec![])
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(db_error_code(syntax), "42601");
        let missing = host
            .execute(c(), "DELETE FROM nowhere".into(), vec![])
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(db_error_code(missing), "42P01");
    }

    #[tokio::test]
    async fn a_bad_parameter_is_bad_parameter_in_query_and_value_conversion_failed_in_execute() {
        let (_postgres, mut host, connection) = connected().await;
        let c = || borrow(&connection);
        let not_a_uuid = || vec![ParameterValue::Uuid("nope".into())];
        let query = host
            .query(c(), "SELECT $1::uuid".into(), not_a_uuid())
            .await
            .unwrap();
        assert!(matches!(query, Err(Error::BadParameter(m)) if m.contains("invalid UUID")));
        let execute = host
            .execute(c(), "SELECT $1::uuid".into(), not_a_uuid())
            .await
            .unwrap();
        assert!(matches!(execute, Err(Error::ValueConversionFailed(_))));
        let decimal = vec![ParameterValue::Decimal("1.50".into())];
        let rows = host
            .query(c(), "SELECT $1::numeric".into(), decimal)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.rows, [vec![DbValue::Decimal("1.50".into())]]);
    }

    #[tokio::test]
    async fn open_refuses_hosts_not_allowed_and_reports_unreachable_servers() {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&["postgres://127.0.0.1:1"]);
        match host.open(postgres.address()).await.unwrap() {
            Err(Error::ConnectionFailed(message)) => {
                assert!(message.contains("not permitted"), "{message}")
            }
            other => panic!("expected connection-failed, got {:?}", other.map(|_| ())),
        }
        let unreachable = "postgres://postgres:postgres@127.0.0.1:1/postgres".to_owned();
        assert!(matches!(
            host.open(unreachable).await.unwrap(),
            Err(Error::ConnectionFailed(_))
        ));
    }

    #[tokio::test]
    async fn a_query_with_no_rows_traps_naming_the_spin_hazard() {
        let (_postgres, mut host, connection) = connected().await;
        let trap = host
            .query(borrow(&connection), "SELECT 1 WHERE false".into(), vec![])
            .await
            .unwrap_err();
        assert_eq!(
            trap.downcast_ref::<SpinHazard>(),
            Some(&SpinHazard::ZeroRowQuery)
        );
        let one = host
            .query(
                borrow(&connection),
                "SELECT count(*) WHERE false".into(),
                vec![],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.rows, [vec![DbValue::Int64(0)]]);
    }
}

//! `spin:postgres/postgres@4.0.0`, backed by a real PostgreSQL server.
//!
//! As in Spin (`crates/factor-outbound-pg/src/client.rs`): each component has its own pool per
//! address, of at most [`POOL_SIZE`] connections, and a full pool waits; a connection goes back
//! to the pool when the guest drops it or its instance ends (a trap included), and is cleaned
//! before reuse; a closed one (after a server restart) is replaced by a fresh one; an address
//! outside `allowed_outbound_hosts` fails with `connection-failed`. Parameters and columns of
//! the types below convert both ways; a parameter of any other type is a `bad-parameter` error
//! naming it, and a column of any other type comes back as `unsupported` with its raw bytes.
//!
//! A `query` whose result has no rows traps with [`SpinHazard`]: under Spin 4.0 to at least
//! 4.1 that call never returns (spinframework/spin#3671), and a test must not pass on it.

#![allow(
    clippy::result_large_err,
    reason = "results carry the WIT interface's own error type, returned to the guest as is"
)]

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};

use bytes::BytesMut;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use wasmtime::component::Resource;

use crate::bindings::postgres::{
    Column, DbDataType, DbError, DbValue, Error, HostConnection, Interval, ParameterValue,
    QueryError, RowSet,
};
use crate::instance::{ComponentContext, HostCall, InstanceState, SpinHazard};

/// Connections per component and address (Spin's `CONNECTION_POOL_SIZE`).
pub const POOL_SIZE: usize = 64;

/// What deadpool-postgres runs on a pooled connection before reusing it (Spin pools with
/// `RecyclingMethod::Clean`), so no session state leaks from one instance to the next.
const CLEAN_SESSION: &str = "CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; \
    UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;";

/// One component's connections, by address.
#[derive(Default)]
pub struct PostgresPool {
    addresses: Mutex<HashMap<String, AddressPool>>,
}

struct AddressPool {
    slots: Arc<Semaphore>,
    idle: Vec<tokio_postgres::Client>,
}

impl Default for AddressPool {
    fn default() -> Self {
        AddressPool {
            slots: Arc::new(Semaphore::new(POOL_SIZE)),
            idle: Vec::new(),
        }
    }
}

impl PostgresPool {
    /// A connection to `address`: an idle one, cleaned, or a new one; waits while the
    /// component already holds [`POOL_SIZE`] connections to that address.
    async fn take(self: &Arc<Self>, address: &str) -> Result<PostgresConnection, ConnectError> {
        let slots = self.address_pool(address, |pool| pool.slots.clone());
        let permit = slots
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        while let Some(client) = self.address_pool(address, |pool| pool.idle.pop()) {
            if !client.is_closed() && client.batch_execute(CLEAN_SESSION).await.is_ok() {
                return Ok(self.lend(address, client, permit));
            }
        }
        Ok(self.lend(address, connect(address).await?, permit))
    }

    fn lend(
        self: &Arc<Self>,
        address: &str,
        client: tokio_postgres::Client,
        permit: OwnedSemaphorePermit,
    ) -> PostgresConnection {
        PostgresConnection {
            address: address.to_owned(),
            client: Some(client),
            pool: self.clone(),
            _slot: permit,
        }
    }

    fn address_pool<T>(&self, address: &str, f: impl FnOnce(&mut AddressPool) -> T) -> T {
        f(self
            .addresses
            .lock()
            .unwrap()
            .entry(address.to_owned())
            .or_default())
    }
}

/// Connects as Spin does: without TLS only for `sslmode=disable`, otherwise through
/// native-tls with the system's root certificates, so with the default `prefer` a server
/// that offers TLS with a certificate those roots do not trust is refused.
async fn connect(address: &str) -> Result<tokio_postgres::Client, ConnectError> {
    let config: tokio_postgres::Config = address.parse()?;
    let client = if config.get_ssl_mode() == tokio_postgres::config::SslMode::Disable {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client
    } else {
        let tls = postgres_native_tls::MakeTlsConnector::new(native_tls::TlsConnector::new()?);
        let (client, connection) = config.connect(tls).await?;
        tokio::spawn(connection);
        client
    };
    Ok(client)
}

/// Why a connection could not be made; its text is what the guest sees, with every cause.
#[derive(Debug)]
enum ConnectError {
    Postgres(tokio_postgres::Error),
    Tls(native_tls::Error),
}

impl From<tokio_postgres::Error> for ConnectError {
    fn from(error: tokio_postgres::Error) -> Self {
        ConnectError::Postgres(error)
    }
}

impl From<native_tls::Error> for ConnectError {
    fn from(error: native_tls::Error) -> Self {
        ConnectError::Tls(error)
    }
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Postgres(error) => f.write_str(&error_text(error)),
            ConnectError::Tls(error) => write!(f, "creating the TLS connector: {error}"),
        }
    }
}

/// The host side of a guest's `connection` resource: a pooled connection, returned to the
/// pool when the guest drops it or its instance is dropped.
pub struct PostgresConnection {
    address: String,
    client: Option<tokio_postgres::Client>,
    pool: Arc<PostgresPool>,
    _slot: OwnedSemaphorePermit,
}

impl PostgresConnection {
    fn client(&self) -> &tokio_postgres::Client {
        self.client
            .as_ref()
            .expect("a connection has its client until it is dropped")
    }
}

impl Drop for PostgresConnection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|client| !client.is_closed()) {
            self.pool
                .address_pool(&self.address, |pool| pool.idle.push(client));
        }
    }
}

impl crate::bindings::postgres::Host for InstanceState {}

type Reply<T> = wasmtime::Result<Result<T, Error>>;

impl HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Reply<Resource<PostgresConnection>> {
        self.component.check_fault(&HostCall::PostgresOpen)?;
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
            .check_fault(&HostCall::PostgresStatement(statement.clone()))?;
        let client = self.table.get(&connection)?.client();
        let params = match to_sql_params(params) {
            Ok(params) => params,
            Err(conversion) => return conversion.into_reply(Error::BadParameter),
        };
        let statement = match client.prepare(&statement).await {
            Ok(statement) => statement,
            Err(error) => return Ok(Err(query_failed(&error))),
        };
        let rows = match client.query(&statement, &borrow(&params)).await {
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
            .check_fault(&HostCall::PostgresStatement(statement.clone()))?;
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

/// Spin's check of an address against `allowed_outbound_hosts`
/// (`crates/factor-outbound-pg/src/allowed_hosts.rs`): the address is parsed as libpq does
/// (URL or `key=value`), and every host it names must be allowed. Messages name the host,
/// never the credentials.
fn check_address(component: &ComponentContext, address: &str) -> Result<(), Error> {
    let config: tokio_postgres::Config = address
        .parse()
        .map_err(|error: tokio_postgres::Error| Error::ConnectionFailed(error.to_string()))?;
    let ports = config.get_ports();
    for (index, host) in config.get_hosts().iter().enumerate() {
        let tokio_postgres::config::Host::Tcp(host) = host else {
            return Err(Error::ConnectionFailed(
                "Unix sockets are not supported on WebAssembly".to_owned(),
            ));
        };
        let port = ports.get(index).or(if ports.len() == 1 {
            ports.first()
        } else {
            None
        });
        let url = match port {
            Some(port) => format!("postgres://{host}:{port}"),
            None => format!("postgres://{host}"),
        };
        if !component.is_allowed(&url, "postgres") {
            return Err(Error::ConnectionFailed(format!(
                "address {url} is not permitted"
            )));
        }
    }
    Ok(())
}

fn error_text(error: &tokio_postgres::Error) -> String {
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

type SqlParam = Box<dyn ToSql + Sync + Send>;

/// Why a value could not be converted between the guest and PostgreSQL.
enum Conversion {
    /// As in Spin: the guest gets an error (which one depends on the call).
    Invalid(String),
    /// Spin converts it, but this host does not model how: the call traps.
    NotModelled(&'static str),
}

impl Conversion {
    /// The guest's error built by `error`, or a trap for what this host does not model.
    fn into_reply<T>(self, error: impl FnOnce(String) -> Error) -> Reply<T> {
        match self {
            Conversion::Invalid(message) => Ok(Err(error(message))),
            Conversion::NotModelled(what) => {
                Err(wasmtime::Error::new(SpinHazard::NotModelled(what)))
            }
        }
    }
}

fn invalid(message: impl std::fmt::Display) -> Conversion {
    Conversion::Invalid(message.to_string())
}

fn borrow(params: &[SqlParam]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn to_sql_params(params: Vec<ParameterValue>) -> Result<Vec<SqlParam>, Conversion> {
    params.into_iter().map(to_sql).collect()
}

/// A parameter as Spin binds it (`crates/factor-outbound-pg/src/types.rs`, `to_sql_parameter`).
fn to_sql(value: ParameterValue) -> Result<SqlParam, Conversion> {
    use ParameterValue as P;
    Ok(match value {
        P::Boolean(value) => Box::new(value),
        P::Int8(value) => Box::new(value),
        P::Int16(value) => Box::new(value),
        P::Int32(value) => Box::new(value),
        P::Int64(value) => Box::new(value),
        P::Floating32(value) => Box::new(value),
        P::Floating64(value) => Box::new(value),
        P::Str(value) => Box::new(value),
        P::Binary(value) => Box::new(value),
        P::Date((year, month, day)) => Box::new(date(year, month, day)?),
        P::Time((hour, minute, second, nanos)) => Box::new(time(hour, minute, second, nanos)?),
        P::Datetime((year, month, day, hour, minute, second, nanos)) => Box::new(
            NaiveDateTime::new(date(year, month, day)?, time(hour, minute, second, nanos)?),
        ),
        P::Timestamp(seconds) => Box::new(
            chrono::DateTime::from_timestamp(seconds, 0)
                .ok_or_else(|| invalid(format!("invalid epoch timestamp {seconds}")))?,
        ),
        P::Uuid(text) => Box::new(
            uuid::Uuid::parse_str(&text).map_err(|_| invalid(format!("invalid UUID {text}")))?,
        ),
        P::Jsonb(bytes) => Box::new(
            serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|_| {
                invalid(format!("invalid JSON {}", String::from_utf8_lossy(&bytes)))
            })?,
        ),
        P::Decimal(text) => Box::new(decimal(&text)?),
        P::ArrayDecimal(values) => Box::new(
            values
                .iter()
                .map(|value| value.as_deref().map(decimal).transpose())
                .collect::<Result<Vec<_>, _>>()?,
        ),
        P::ArrayInt32(values) => Box::new(values),
        P::ArrayInt64(values) => Box::new(values),
        P::ArrayStr(values) => Box::new(values),
        P::Interval(interval) => Box::new(IntervalValue(interval)),
        P::DbNull => Box::new(Null),
        P::RangeInt32(_) | P::RangeInt64(_) | P::RangeDecimal(_) => {
            return Err(Conversion::NotModelled("range parameters"));
        }
    })
}

fn decimal(text: &str) -> Result<rust_decimal::Decimal, Conversion> {
    rust_decimal::Decimal::from_str_exact(text)
        .map_err(|_| invalid(format!("invalid decimal {text}")))
}

fn date(year: i32, month: u8, day: u8) -> Result<NaiveDate, Conversion> {
    NaiveDate::from_ymd_opt(year, month.into(), day.into())
        .ok_or_else(|| invalid(format!("invalid date y={year}, m={month}, d={day}")))
}

fn time(hour: u8, minute: u8, second: u8, nanos: u32) -> Result<NaiveTime, Conversion> {
    NaiveTime::from_hms_nano_opt(hour.into(), minute.into(), second.into(), nanos)
        .ok_or_else(|| invalid(format!("invalid time {hour}:{minute}:{second}:{nanos}")))
}

/// A column's type as Spin reports it (`convert_data_type`).
fn data_type(ty: &Type) -> DbDataType {
    match *ty {
        Type::BOOL => DbDataType::Boolean,
        Type::BYTEA => DbDataType::Binary,
        Type::FLOAT4 => DbDataType::Floating32,
        Type::FLOAT8 => DbDataType::Floating64,
        Type::INT2 => DbDataType::Int16,
        Type::INT4 => DbDataType::Int32,
        Type::INT8 => DbDataType::Int64,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => DbDataType::Str,
        Type::TIMESTAMP | Type::TIMESTAMPTZ => DbDataType::Datetime,
        Type::DATE => DbDataType::Date,
        Type::TIME => DbDataType::Time,
        Type::UUID => DbDataType::Uuid,
        Type::JSONB => DbDataType::Jsonb,
        Type::NUMERIC => DbDataType::Decimal,
        Type::INT4_RANGE => DbDataType::RangeInt32,
        Type::INT8_RANGE => DbDataType::RangeInt64,
        Type::NUM_RANGE => DbDataType::RangeDecimal,
        Type::INT4_ARRAY => DbDataType::ArrayInt32,
        Type::INT8_ARRAY => DbDataType::ArrayInt64,
        Type::NUMERIC_ARRAY => DbDataType::ArrayDecimal,
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => DbDataType::ArrayStr,
        Type::INTERVAL => DbDataType::Interval,
        _ => DbDataType::Other(ty.name().to_owned()),
    }
}

/// A column's value as Spin converts it (`convert_entry`). Where Spin's conversion fails
/// (a `timestamptz`, a `numeric` NaN or Infinity), so does the query.
fn db_value(row: &tokio_postgres::Row, index: usize) -> Result<DbValue, Conversion> {
    fn get<'a, T: FromSql<'a>>(
        row: &'a tokio_postgres::Row,
        index: usize,
    ) -> Result<Option<T>, Conversion> {
        row.try_get(index)
            .map_err(|error| invalid(format!("{error:?}")))
    }
    fn value<T>(value: Option<T>, wrap: impl FnOnce(T) -> DbValue) -> DbValue {
        value.map_or(DbValue::DbNull, wrap)
    }
    let ty = row.columns()[index].type_().clone();
    Ok(match ty {
        Type::BOOL => value(get(row, index)?, DbValue::Boolean),
        Type::BYTEA => value(get(row, index)?, DbValue::Binary),
        Type::FLOAT4 => value(get(row, index)?, DbValue::Floating32),
        Type::FLOAT8 => value(get(row, index)?, DbValue::Floating64),
        Type::INT2 => value(get(row, index)?, DbValue::Int16),
        Type::INT4 => value(get(row, index)?, DbValue::Int32),
        Type::INT8 => value(get(row, index)?, DbValue::Int64),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR => value(get(row, index)?, DbValue::Str),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => value(get::<NaiveDateTime>(row, index)?, datetime),
        Type::DATE => value(get::<NaiveDate>(row, index)?, |date| {
            DbValue::Date((date.year(), date.month() as u8, date.day() as u8))
        }),
        Type::TIME => value(get::<NaiveTime>(row, index)?, |time| {
            DbValue::Time((
                time.hour() as u8,
                time.minute() as u8,
                time.second() as u8,
                time.nanosecond(),
            ))
        }),
        Type::UUID => value(get::<uuid::Uuid>(row, index)?, |uuid| {
            DbValue::Uuid(uuid.to_string())
        }),
        Type::JSONB => match get::<serde_json::Value>(row, index)? {
            Some(json) => DbValue::Jsonb(serde_json::to_vec(&json).map_err(invalid)?),
            None => DbValue::DbNull,
        },
        Type::NUMERIC => value(get::<rust_decimal::Decimal>(row, index)?, |number| {
            DbValue::Decimal(number.to_string())
        }),
        Type::NUMERIC_ARRAY => value(
            get::<Vec<Option<rust_decimal::Decimal>>>(row, index)?,
            |numbers| {
                DbValue::ArrayDecimal(
                    numbers
                        .iter()
                        .map(|number| number.map(|n| n.to_string()))
                        .collect(),
                )
            },
        ),
        Type::INT4_ARRAY => value(get(row, index)?, DbValue::ArrayInt32),
        Type::INT8_ARRAY => value(get(row, index)?, DbValue::ArrayInt64),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY => {
            value(get(row, index)?, DbValue::ArrayStr)
        }
        Type::INTERVAL => value(get::<IntervalValue>(row, index)?, |interval| {
            DbValue::Interval(interval.0)
        }),
        Type::INT4_RANGE | Type::INT8_RANGE | Type::NUM_RANGE => {
            return Err(Conversion::NotModelled("range columns"));
        }
        _ => value(get::<Raw>(row, index)?, |raw| DbValue::Unsupported(raw.0)),
    })
}

fn datetime(value: NaiveDateTime) -> DbValue {
    DbValue::Datetime((
        value.year(),
        value.month() as u8,
        value.day() as u8,
        value.hour() as u8,
        value.minute() as u8,
        value.second() as u8,
        value.nanosecond(),
    ))
}

type SqlResult<T> = Result<T, Box<dyn std::error::Error + Sync + Send>>;

/// A typed SQL NULL that binds to a parameter of any type.
#[derive(Debug)]
struct Null;

impl ToSql for Null {
    fn to_sql(&self, _: &Type, _: &mut BytesMut) -> SqlResult<IsNull> {
        Ok(IsNull::Yes)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// `interval` in PostgreSQL's binary format: microseconds, days, months.
#[derive(Debug)]
struct IntervalValue(Interval);

impl ToSql for IntervalValue {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> SqlResult<IsNull> {
        out.extend_from_slice(&self.0.micros.to_be_bytes());
        out.extend_from_slice(&self.0.days.to_be_bytes());
        out.extend_from_slice(&self.0.months.to_be_bytes());
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
    to_sql_checked!();
}

impl<'a> FromSql<'a> for IntervalValue {
    fn from_sql(_: &Type, raw: &'a [u8]) -> SqlResult<Self> {
        let raw: [u8; 16] = raw.try_into()?;
        Ok(IntervalValue(Interval {
            micros: i64::from_be_bytes(raw[0..8].try_into()?),
            days: i32::from_be_bytes(raw[8..12].try_into()?),
            months: i32::from_be_bytes(raw[12..16].try_into()?),
        }))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

/// The raw binary value of a column of any other type, pseudo types included, as Spin's
/// `Other` returns it.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> SqlResult<Self> {
        Ok(Raw(raw.to_vec()))
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;
    use crate::instance::test_support::{borrow, instance_allowing};
    use crate::services::TestPostgres;

    async fn connected() -> (TestPostgres, InstanceState, Resource<PostgresConnection>) {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&[&format!("postgres://{}", postgres.host)]);
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        (postgres, host, connection)
    }

    fn db_error_code(error: Error) -> String {
        match error {
            Error::QueryFailed(QueryError::DbError(db)) => db.code,
            other => panic!("expected a database error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn parameters_and_columns_of_each_supported_type_round_trip() {
        let (_postgres, mut host, connection) = connected().await;
        let interval = Interval {
            micros: 1_500_000,
            days: 2,
            months: 3,
        };
        // (parameter, SQL type it is cast to, the column type and value that come back)
        let cases = [
            (
                ParameterValue::Boolean(true),
                "bool",
                DbDataType::Boolean,
                DbValue::Boolean(true),
            ),
            (
                ParameterValue::Int16(-2),
                "int2",
                DbDataType::Int16,
                DbValue::Int16(-2),
            ),
            (
                ParameterValue::Int32(70_000),
                "int4",
                DbDataType::Int32,
                DbValue::Int32(70_000),
            ),
            (
                ParameterValue::Int64(1 << 40),
                "int8",
                DbDataType::Int64,
                DbValue::Int64(1 << 40),
            ),
            (
                ParameterValue::Floating32(1.5),
                "float4",
                DbDataType::Floating32,
                DbValue::Floating32(1.5),
            ),
            (
                ParameterValue::Floating64(-2.25),
                "float8",
                DbDataType::Floating64,
                DbValue::Floating64(-2.25),
            ),
            (
                ParameterValue::Str("héllo".into()),
                "text",
                DbDataType::Str,
                DbValue::Str("héllo".into()),
            ),
            (
                ParameterValue::Binary(vec![0, 255]),
                "bytea",
                DbDataType::Binary,
                DbValue::Binary(vec![0, 255]),
            ),
            (
                ParameterValue::Date((2024, 2, 29)),
                "date",
                DbDataType::Date,
                DbValue::Date((2024, 2, 29)),
            ),
            (
                ParameterValue::Time((23, 59, 58, 1000)),
                "time",
                DbDataType::Time,
                DbValue::Time((23, 59, 58, 1000)),
            ),
            (
                ParameterValue::Datetime((2024, 1, 2, 3, 4, 5, 0)),
                "timestamp",
                DbDataType::Datetime,
                DbValue::Datetime((2024, 1, 2, 3, 4, 5, 0)),
            ),
            (
                ParameterValue::Uuid("67e55044-10b1-426f-9247-bb680e5fe0c8".into()),
                "uuid",
                DbDataType::Uuid,
                DbValue::Uuid("67e55044-10b1-426f-9247-bb680e5fe0c8".into()),
            ),
            (
                ParameterValue::Jsonb(br#"{"a": 1}"#.to_vec()),
                "jsonb",
                DbDataType::Jsonb,
                DbValue::Jsonb(br#"{"a":1}"#.to_vec()),
            ),
            (
                ParameterValue::ArrayInt32(vec![Some(1), None]),
                "int4[]",
                DbDataType::ArrayInt32,
                DbValue::ArrayInt32(vec![Some(1), None]),
            ),
            (
                ParameterValue::ArrayInt64(vec![Some(5)]),
                "int8[]",
                DbDataType::ArrayInt64,
                DbValue::ArrayInt64(vec![Some(5)]),
            ),
            (
                ParameterValue::ArrayStr(vec![Some("x".into()), None]),
                "text[]",
                DbDataType::ArrayStr,
                DbValue::ArrayStr(vec![Some("x".into()), None]),
            ),
            (
                ParameterValue::Interval(interval),
                "interval",
                DbDataType::Interval,
                DbValue::Interval(interval),
            ),
            (
                ParameterValue::DbNull,
                "text",
                DbDataType::Str,
                DbValue::DbNull,
            ),
        ];
        let casts: Vec<String> = cases
            .iter()
            .enumerate()
            .map(|(index, (_, sql_type, _, _))| format!("${}::{sql_type}", index + 1))
            .collect();
        let statement = format!("SELECT {}", casts.join(", "));
        let params = cases.iter().map(|case| case.0.clone()).collect();
        let rows = host
            .query(borrow(&connection), statement, params)
            .await
            .unwrap()
            .unwrap();
        for (index, (parameter, _, data_type, value)) in cases.into_iter().enumerate() {
            assert_eq!(rows.columns[index].data_type, data_type, "{parameter:?}");
            assert_eq!(rows.rows[0][index], value, "{parameter:?}");
        }
    }

    #[tokio::test]
    async fn numeric_columns_come_back_as_decimal_text_and_unknown_types_as_raw_bytes() {
        let (_postgres, mut host, connection) = connected().await;
        let statement = "SELECT 12345.678::numeric, 0.05::numeric, -10000::numeric, 0::numeric, \
            (SELECT COUNT(*) FROM generate_series(1, 3)), '1.2.3.4'::inet";
        let rows = host
            .query(borrow(&connection), statement.into(), vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            rows.rows[0][..5],
            [
                DbValue::Decimal("12345.678".into()),
                DbValue::Decimal("0.05".into()),
                DbValue::Decimal("-10000".into()),
                DbValue::Decimal("0".into()),
                DbValue::Int64(3),
            ]
        );
        assert!(matches!(rows.rows[0][5], DbValue::Unsupported(_)));
        assert_eq!(rows.columns[5].data_type, DbDataType::Other("inet".into()));
    }

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
    async fn columns_spin_does_not_convert_come_back_as_spin_returns_them() {
        let (_postgres, mut host, connection) = connected().await;
        let c = || borrow(&connection);
        let statement = "SELECT 'n'::name, 'x'::\"char\", '{\"a\": 1}'::json, pg_sleep(0)";
        let rows = host
            .query(c(), statement.into(), vec![])
            .await
            .unwrap()
            .unwrap();
        let types: Vec<DbDataType> = rows.columns.iter().map(|c| c.data_type.clone()).collect();
        assert_eq!(
            types,
            ["name", "char", "json", "void"].map(|name| DbDataType::Other(name.into()))
        );
        assert_eq!(
            rows.rows[0],
            [
                DbValue::Unsupported(b"n".to_vec()),
                DbValue::Unsupported(b"x".to_vec()),
                DbValue::Unsupported(br#"{"a": 1}"#.to_vec()),
                DbValue::Unsupported(vec![]),
            ]
        );
    }

    #[tokio::test]
    async fn values_spin_cannot_convert_fail_the_query() {
        let (_postgres, mut host, connection) = connected().await;
        for statement in [
            "SELECT now()",
            "SELECT 'NaN'::numeric",
            "SELECT 'Infinity'::numeric",
        ] {
            match host
                .query(borrow(&connection), statement.into(), vec![])
                .await
                .unwrap()
            {
                Err(Error::QueryFailed(QueryError::Text(_))) => {}
                other => panic!("{statement}: expected query-failed, got {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn ranges_are_not_modelled_and_trap_loudly() {
        let (_postgres, mut host, connection) = connected().await;
        let c = || borrow(&connection);
        let column = host
            .query(c(), "SELECT int4range(1, 5)".into(), vec![])
            .await
            .unwrap_err();
        let parameter = host
            .query(
                c(),
                "SELECT $1::int4range".into(),
                vec![ParameterValue::RangeInt32((None, None))],
            )
            .await
            .unwrap_err();
        for trap in [column, parameter] {
            assert!(matches!(
                trap.downcast_ref::<SpinHazard>(),
                Some(SpinHazard::NotModelled(_))
            ));
        }
    }

    #[tokio::test]
    async fn every_host_of_an_address_is_checked_and_no_message_shows_the_password() {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&[&format!("postgres://{}", postgres.host)]);
        let refused = [
            format!("postgres://u:s3cret@{},10.0.0.9:5432/db", postgres.host),
            "postgres://u:s3cret@127.0.0.1:1/db".to_owned(),
            "host=/tmp user=u password=s3cret".to_owned(),
            "mysql://u:s3cret@127.0.0.1:3306/db".to_owned(),
        ];
        for address in refused {
            match host.open(address.clone()).await.unwrap() {
                Err(Error::ConnectionFailed(message)) => {
                    assert!(!message.contains("s3cret"), "{address}: {message}")
                }
                other => panic!(
                    "{address}: expected connection-failed, got {:?}",
                    other.is_ok()
                ),
            }
        }
        match host
            .open(format!(
                "postgres://u:s3cret@{},10.0.0.9:5432/db",
                postgres.host
            ))
            .await
            .unwrap()
        {
            Err(Error::ConnectionFailed(message)) => {
                assert_eq!(message, "address postgres://10.0.0.9:5432 is not permitted")
            }
            other => panic!("expected connection-failed, got {:?}", other.is_ok()),
        }
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

    #[tokio::test]
    async fn a_full_pool_waits_until_a_connection_is_returned() {
        let postgres = TestPostgres::start().await.unwrap();
        let pool = Arc::new(PostgresPool::default());
        let address = postgres.address();
        let mut held = Vec::new();
        for _ in 0..POOL_SIZE {
            held.push(pool.take(&address).await.unwrap());
        }
        let mut waiting = Box::pin(pool.take(&address));
        assert!((&mut waiting).now_or_never().is_none(), "the pool is full");
        held.pop();
        let reused = waiting.await.unwrap();
        assert!(!reused.client().is_closed());
    }

    #[tokio::test]
    async fn a_connection_returns_clean_when_its_instance_ends_even_after_a_trap() {
        let postgres = TestPostgres::start().await.unwrap();
        let mut host = instance_allowing(&[&format!("postgres://{}", postgres.host)]);
        let pool = host.component.postgres.clone();
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        let session = "SET application_name = 'leaked'; SELECT pg_advisory_lock(42)";
        host.table
            .get(&connection)
            .unwrap()
            .client()
            .batch_execute(session)
            .await
            .unwrap();
        // The instance ends without dropping its connection, as when the guest traps.
        drop(host);
        let reused = pool.take(&postgres.address()).await.unwrap();
        let row = reused
            .client()
            .query_one(
                "SELECT current_setting('application_name'), \
                 (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')",
                &[],
            )
            .await
            .unwrap();
        assert_eq!(row.get::<_, String>(0), "");
        assert_eq!(row.get::<_, i64>(1), 0);
    }

    #[tokio::test]
    async fn pooled_connections_recover_after_a_server_restart() {
        let (mut postgres, mut host, connection) = connected().await;
        host.drop(connection).await.unwrap();
        postgres.stop().unwrap();
        postgres.restart().await.unwrap();
        let connection = host.open(postgres.address()).await.unwrap().unwrap();
        let rows = host
            .query(borrow(&connection), "SELECT 1::int4".into(), vec![])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(rows.rows, [vec![DbValue::Int32(1)]]);
    }
}

#![allow(
    clippy::result_large_err,
    reason = "results carry the WIT interface's own error type, returned to the guest as is"
)]

//! Values between the guest and PostgreSQL, converted as Spin converts them
//! (`crates/factor-outbound-pg/src/types.rs`): parameters bound by type, columns reported and
//! read by type; what Spin refuses fails as in Spin, what this host does not model traps.

use bytes::BytesMut;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

use super::host::Reply;
use crate::bindings::postgres::{DbDataType, DbValue, Error, Interval, ParameterValue};
use crate::control::SpinHazard;

type SqlParam = Box<dyn ToSql + Sync + Send>;

/// Why a value could not be converted between the guest and PostgreSQL.
pub(super) enum Conversion {
    /// As in Spin: the guest gets an error (which one depends on the call).
    Invalid(String),
    /// Spin converts it, but this host does not model how: the call traps.
    NotModelled(&'static str),
}

impl Conversion {
    /// The guest's error built by `error`, or a trap for what this host does not model.
    pub(super) fn into_reply<T>(self, error: impl FnOnce(String) -> Error) -> Reply<T> {
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

pub(super) fn borrow(params: &[SqlParam]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| param.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

pub(super) fn to_sql_params(params: Vec<ParameterValue>) -> Result<Vec<SqlParam>, Conversion> {
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
pub(super) fn data_type(ty: &Type) -> DbDataType {
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
pub(super) fn db_value(row: &tokio_postgres::Row, index: usize) -> Result<DbValue, Conversion> {
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
    use super::*;
    use crate::bindings::postgres::{HostConnection, QueryError};
    use crate::instance::test_support::borrow;
    use crate::postgres::test_support::connected;

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
}

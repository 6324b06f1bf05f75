//! `fermyon:spin/redis@2.0.0`, backed by a real Redis server.
//!
//! As in Spin: every `open` is a new TCP connection (no pooling), an address outside the
//! component's `allowed_outbound_hosts` is refused with `invalid-address`, and `execute`
//! flattens array replies into one list and fails on replies Spin cannot convert.

use redis::AsyncCommands;
use wasmtime::component::Resource;

use crate::bindings::redis::{Error, HostConnection, Payload, RedisParameter, RedisResult};
use crate::control::HostCall;
use crate::instance::InstanceState;

/// The host side of a guest's `connection` resource.
pub struct RedisConnection {
    connection: redis::aio::MultiplexedConnection,
}

impl crate::bindings::redis::Host for InstanceState {}
impl crate::bindings::redis_types::Host for InstanceState {}

type Reply<T> = wasmtime::Result<Result<T, Error>>;

impl InstanceState {
    fn redis(
        &mut self,
        connection: &Resource<RedisConnection>,
    ) -> wasmtime::Result<redis::aio::MultiplexedConnection> {
        Ok(self.table.get(connection)?.connection.clone())
    }
}

impl HostConnection for InstanceState {
    async fn open(&mut self, address: String) -> Reply<Resource<RedisConnection>> {
        self.component.check_host_call(&HostCall::RedisOpen)?;
        if !self.component.is_allowed(&address, "redis") {
            return Ok(Err(Error::InvalidAddress));
        }
        let Ok(client) = redis::Client::open(address.as_str()) else {
            return Ok(Err(Error::InvalidAddress));
        };
        match client.get_multiplexed_async_connection().await {
            Ok(connection) => Ok(Ok(self.table.push(RedisConnection { connection })?)),
            Err(error) => Ok(Err(other(error))),
        }
    }

    async fn publish(
        &mut self,
        connection: Resource<RedisConnection>,
        channel: String,
        payload: Payload,
    ) -> Reply<()> {
        let mut redis = self.redis(&connection)?;
        Ok(redis
            .publish::<_, _, ()>(channel, payload)
            .await
            .map_err(other))
    }

    async fn get(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> Reply<Option<Payload>> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.get(key).await.map_err(other))
    }

    async fn set(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        value: Payload,
    ) -> Reply<()> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.set(key, value).await.map_err(other))
    }

    async fn incr(&mut self, connection: Resource<RedisConnection>, key: String) -> Reply<i64> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.incr(key, 1).await.map_err(other))
    }

    async fn del(
        &mut self,
        connection: Resource<RedisConnection>,
        keys: Vec<String>,
    ) -> Reply<u32> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.del(keys).await.map_err(other))
    }

    async fn sadd(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Reply<u32> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.sadd(key, values).await.map_err(other))
    }

    async fn smembers(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
    ) -> Reply<Vec<String>> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.smembers(key).await.map_err(other))
    }

    async fn srem(
        &mut self,
        connection: Resource<RedisConnection>,
        key: String,
        values: Vec<String>,
    ) -> Reply<u32> {
        let mut redis = self.redis(&connection)?;
        Ok(redis.srem(key, values).await.map_err(other))
    }

    async fn execute(
        &mut self,
        connection: Resource<RedisConnection>,
        command: String,
        arguments: Vec<RedisParameter>,
    ) -> Reply<Vec<RedisResult>> {
        self.component.check_host_call(&HostCall::RedisExecute {
            command: command.clone(),
            arguments: arguments
                .iter()
                .map(|argument| match argument {
                    RedisParameter::Int64(value) => value.to_string().into_bytes(),
                    RedisParameter::Binary(bytes) => bytes.clone(),
                })
                .collect(),
        })?;
        let mut redis = self.redis(&connection)?;
        let mut cmd = redis::cmd(&command);
        for argument in arguments {
            match argument {
                RedisParameter::Int64(value) => cmd.arg(value),
                RedisParameter::Binary(bytes) => cmd.arg(bytes),
            };
        }
        match cmd.query_async::<redis::Value>(&mut redis).await {
            Ok(value) => {
                let mut results = Vec::new();
                Ok(flatten(value, &mut results).map(|()| results))
            }
            Err(error) => Ok(Err(other(error))),
        }
    }

    async fn drop(&mut self, connection: Resource<RedisConnection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        Ok(())
    }
}

fn other(error: redis::RedisError) -> Error {
    Error::Other(error.to_string())
}

/// Spin's conversion of a reply (`crates/factor-outbound-redis/src/host.rs`,
/// `impl FromRedisValue for RedisResults`), with its error texts: nested arrays and sets
/// become one flat list, status replies (`OK` included) become `status`, doubles and big
/// numbers their text; maps, attributes, verbatim strings, pushes and errors anywhere in the
/// reply fail the whole call.
fn flatten(value: redis::Value, results: &mut Vec<RedisResult>) -> Result<(), Error> {
    use redis::{ErrorKind, RedisError, Value};
    let refused = |what: &str| {
        let error = RedisError::from((
            ErrorKind::TypeError,
            "Could not convert Redis response",
            format!("Redis {what} is not supported"),
        ));
        Err(other(error))
    };
    match value {
        Value::Nil => results.push(RedisResult::Nil),
        Value::Int(value) => results.push(RedisResult::Int64(value)),
        Value::BulkString(bytes) => results.push(RedisResult::Binary(bytes)),
        Value::SimpleString(status) => results.push(RedisResult::Status(status)),
        Value::Okay => results.push(RedisResult::Status("OK".to_owned())),
        Value::Array(values) | Value::Set(values) => {
            for value in values {
                flatten(value, results)?;
            }
        }
        Value::Boolean(value) => results.push(RedisResult::Int64(value.into())),
        Value::Double(value) => results.push(RedisResult::Binary(value.to_string().into_bytes())),
        Value::BigNumber(number) => {
            results.push(RedisResult::Binary(number.to_string().into_bytes()))
        }
        Value::Map(_) => return refused("Map type"),
        Value::Attribute { .. } => return refused("Attribute type"),
        Value::VerbatimString { .. } => return refused("string with format attribute"),
        Value::Push { .. } => return refused("Pub/Sub types"),
        Value::ServerError(error) => {
            let error = RedisError::from((
                ErrorKind::ResponseError,
                "Server error",
                format!("{error:?}"),
            ));
            return Err(other(error));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instance::test_support::{borrow, instance_allowing};
    use test_services::TestRedis;

    fn binary(text: &str) -> RedisResult {
        RedisResult::Binary(text.as_bytes().to_vec())
    }

    #[tokio::test]
    async fn typed_operations_round_trip_through_a_real_redis() {
        let redis = TestRedis::start().await.unwrap();
        let mut host = instance_allowing(&[&redis.url()]);
        let connection = host.open(redis.url()).await.unwrap().unwrap();
        let c = || borrow(&connection);

        assert_eq!(host.get(c(), "k".into()).await.unwrap().unwrap(), None);
        host.set(c(), "k".into(), b"v\x00\xff".to_vec())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            host.get(c(), "k".into()).await.unwrap().unwrap(),
            Some(b"v\x00\xff".to_vec())
        );
        assert_eq!(host.incr(c(), "n".into()).await.unwrap().unwrap(), 1);
        assert_eq!(host.incr(c(), "n".into()).await.unwrap().unwrap(), 2);
        assert!(matches!(
            host.incr(c(), "k".into()).await.unwrap(),
            Err(Error::Other(_))
        ));
        assert_eq!(
            host.del(c(), vec!["k".into(), "n".into(), "absent".into()])
                .await
                .unwrap()
                .unwrap(),
            2
        );
        assert_eq!(
            host.sadd(c(), "s".into(), vec!["a".into(), "b".into(), "a".into()])
                .await
                .unwrap()
                .unwrap(),
            2
        );
        let mut members = host.smembers(c(), "s".into()).await.unwrap().unwrap();
        members.sort();
        assert_eq!(members, ["a", "b"]);
        assert_eq!(
            host.srem(c(), "s".into(), vec!["a".into(), "z".into()])
                .await
                .unwrap()
                .unwrap(),
            1
        );
        host.publish(c(), "channel".into(), b"hi".to_vec())
            .await
            .unwrap()
            .unwrap();
        host.drop(connection).await.unwrap();
    }

    #[tokio::test]
    async fn execute_flattens_replies_and_reports_errors() {
        let redis = TestRedis::start().await.unwrap();
        let mut host = instance_allowing(&[&redis.url()]);
        let connection = host.open(redis.url()).await.unwrap().unwrap();
        let c = || borrow(&connection);
        let script = "return {1, 'two', {3, 'four'}}";
        let results = host
            .execute(
                c(),
                "EVAL".into(),
                vec![
                    RedisParameter::Binary(script.into()),
                    RedisParameter::Int64(0),
                ],
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            results,
            [
                RedisResult::Int64(1),
                binary("two"),
                RedisResult::Int64(3),
                binary("four")
            ]
        );
        let set = vec![
            RedisParameter::Binary(b"k".to_vec()),
            RedisParameter::Int64(7),
        ];
        assert_eq!(
            host.execute(c(), "SET".into(), set).await.unwrap().unwrap(),
            [RedisResult::Status("OK".into())]
        );
        let get = vec![RedisParameter::Binary(b"k".to_vec())];
        assert_eq!(
            host.execute(c(), "GET".into(), get).await.unwrap().unwrap(),
            [binary("7")]
        );
        let missing = vec![RedisParameter::Binary(b"missing".to_vec())];
        assert_eq!(
            host.execute(c(), "GET".into(), missing)
                .await
                .unwrap()
                .unwrap(),
            [RedisResult::Nil]
        );
        assert!(matches!(
            host.execute(c(), "NOSUCHCOMMAND".into(), vec![])
                .await
                .unwrap(),
            Err(Error::Other(_))
        ));
        let nested_error = vec![
            RedisParameter::Binary(b"return {1, redis.error_reply('boom')}".to_vec()),
            RedisParameter::Int64(0),
        ];
        match host
            .execute(c(), "EVAL".into(), nested_error)
            .await
            .unwrap()
        {
            Err(Error::Other(message)) => assert!(message.contains("boom"), "{message}"),
            other => panic!("a nested error must fail the call, got {other:?}"),
        }
    }

    #[test]
    fn replies_spin_cannot_convert_fail_instead_of_being_flattened() {
        use redis::{PushKind, Value};
        let refused = [
            Value::Map(vec![(Value::Int(1), Value::Int(2))]),
            Value::Array(vec![Value::Int(1), Value::Map(vec![])]),
            Value::Push {
                kind: PushKind::Message,
                data: vec![Value::Int(1)],
            },
            Value::Attribute {
                data: Box::new(Value::Int(1)),
                attributes: vec![],
            },
        ];
        for value in refused {
            assert!(
                flatten(value.clone(), &mut Vec::new()).is_err(),
                "{value:?}"
            );
        }
        let mut results = Vec::new();
        flatten(
            Value::Set(vec![Value::Boolean(true), Value::Double(1.5)]),
            &mut results,
        )
        .unwrap();
        assert_eq!(results, [RedisResult::Int64(1), binary("1.5")]);
    }

    #[tokio::test]
    async fn open_refuses_hosts_not_allowed_and_reports_unreachable_ones() {
        let redis = TestRedis::start().await.unwrap();
        let mut host = instance_allowing(&["redis://127.0.0.1:1"]);
        assert!(matches!(
            host.open(redis.url()).await.unwrap(),
            Err(Error::InvalidAddress)
        ));
        assert!(matches!(
            host.open("redis://127.0.0.1:1".into()).await.unwrap(),
            Err(Error::Other(_))
        ));
    }
}

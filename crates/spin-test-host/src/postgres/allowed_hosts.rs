#![allow(
    clippy::result_large_err,
    reason = "results carry the WIT interface's own error type, returned to the guest as is"
)]

//! Which PostgreSQL addresses a component may open (`crates/factor-outbound-pg/src/allowed_hosts.rs`).

use crate::bindings::postgres::Error;
use crate::instance::ComponentContext;

/// Spin's check of an address against `allowed_outbound_hosts`
/// (`crates/factor-outbound-pg/src/allowed_hosts.rs`): the address is parsed as libpq does
/// (URL or `key=value`), and every host it names must be allowed. Messages name the host,
/// never the credentials.
pub(super) fn check_address(component: &ComponentContext, address: &str) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use crate::bindings::postgres::{Error, HostConnection};
    use crate::instance::test_support::instance_allowing;
    use test_services::TestPostgres;

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
}

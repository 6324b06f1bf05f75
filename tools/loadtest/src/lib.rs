//! A load and chaos tool for a running voting app (`spin up`, SpinKube, a cloud host): seeds
//! votes and measures the app, has voters change their votes, fills a room with phones that
//! poll the results, and injects the faults an operator meets while checking that no accepted
//! vote is lost. It talks only to the
//! addresses it is given, and every run ends by itself.

pub mod changes;
pub mod chaos;
pub mod faults;
pub mod ledger;
pub mod load;
mod progress;
pub mod room;
pub mod seed;
pub mod split;
pub mod stats;
pub mod stores;
pub mod target;
pub mod wait;

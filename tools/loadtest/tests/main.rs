//! The load tool's tests, in one binary: the tool against the app under the test host
//! (`tool`), and `scripts/chaos` against `scripts/up --detach` (`scripts`).

mod scripts;
mod tool;

//! Where the server binaries are. `redis-server` is on `PATH` wherever it is packaged, but
//! PostgreSQL's `initdb` and `postgres` often are not: Debian and Ubuntu put them in
//! `/usr/lib/postgresql/<version>/bin`, Homebrew in `<prefix>/opt/postgresql@<version>/bin`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What to install when PostgreSQL's server binaries are nowhere to be found.
pub const POSTGRES_INSTALL_HINT: &str = "install the PostgreSQL server (Debian/Ubuntu: \
     apt-get install postgresql; macOS: brew install postgresql), or set DATABASE_URL";

/// The directory holding PostgreSQL's `initdb` and `postgres`, looked up from this process's
/// `PATH` (see [`find_postgres_bin_dir`]).
pub fn postgres_bin_dir() -> Option<PathBuf> {
    find_postgres_bin_dir(&std::env::var_os("PATH").unwrap_or_default())
}

/// The directory holding PostgreSQL's `initdb` and `postgres`: the first directory on `path`
/// that has both, else `pg_config --bindir` (`pg_config` looked up on `path`), else the
/// newest version where Debian, Ubuntu and Homebrew install them.
pub fn find_postgres_bin_dir(path: &OsStr) -> Option<PathBuf> {
    let on_path: Vec<PathBuf> = std::env::split_paths(path).collect();
    let pg_config = on_path
        .iter()
        .map(|dir| dir.join("pg_config"))
        .find(|candidate| candidate.is_file())
        .and_then(|pg_config| pg_config_bindir(&pg_config));
    let packaged = newest_first(Path::new("/usr/lib/postgresql"), |_| true);
    let homebrew = ["/opt/homebrew/opt", "/usr/local/opt"]
        .into_iter()
        .flat_map(|prefix| newest_first(Path::new(prefix), |name| name.starts_with("postgresql")));
    on_path
        .into_iter()
        .chain(pg_config)
        .chain(
            packaged
                .into_iter()
                .chain(homebrew)
                .map(|dir| dir.join("bin")),
        )
        .find(|dir| has_server_binaries(dir))
}

fn has_server_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

fn pg_config_bindir(pg_config: &Path) -> Option<PathBuf> {
    let output = Command::new(pg_config)
        .arg("--bindir")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| PathBuf::from(dir.trim()))
}

/// The entries of `parent` whose names `wanted` accepts, highest version number first
/// (`15`, `postgresql@16`; a name without a number counts as version 0).
fn newest_first(parent: &Path, wanted: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut versions: Vec<(u32, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            wanted(&name).then(|| (version_of(&name), entry.path()))
        })
        .collect();
    versions.sort_by(|a, b| b.cmp(a));
    versions.into_iter().map(|(_, path)| path).collect()
}

fn version_of(name: &str) -> u32 {
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_packaged_and_homebrew_names() {
        assert_eq!(version_of("15"), 15);
        assert_eq!(version_of("postgresql@16"), 16);
        assert_eq!(version_of("postgresql"), 0);
    }

    /// What a fresh Debian or Ubuntu machine with `apt-get install postgresql` has: the server
    /// binaries only under `/usr/lib/postgresql/<version>/bin`, not on `PATH`.
    #[test]
    fn the_server_binaries_are_found_without_them_on_path() {
        let empty = tempfile::tempdir().unwrap();
        let dir = find_postgres_bin_dir(empty.path().as_os_str()).unwrap_or_else(|| {
            panic!("no PostgreSQL server binaries found: {POSTGRES_INSTALL_HINT}")
        });
        assert!(has_server_binaries(&dir), "{}", dir.display());
        if cfg!(target_os = "linux") {
            assert!(
                dir.starts_with("/usr/lib/postgresql"),
                "Debian's place: {}",
                dir.display()
            );
        }
    }

    #[test]
    fn a_directory_on_path_comes_first() {
        let dir = tempfile::tempdir().unwrap();
        for binary in ["initdb", "postgres"] {
            std::fs::write(dir.path().join(binary), "").unwrap();
        }
        let path = std::env::join_paths([Path::new("/nonexistent"), dir.path()]).unwrap();
        assert_eq!(find_postgres_bin_dir(&path).as_deref(), Some(dir.path()));
    }
}

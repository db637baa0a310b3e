#!/usr/bin/env bash
# Starts (idempotently) lighttpd on 127.0.0.1 serving `git http-backend` for the devops-git tests:
#   <base>/basic/<org>/<project>/_git/<repo>   basic auth (user + password, like a PAT)
#   <base>/bearer/<org>/<project>/_git/<repo>  `Authorization: Bearer <token>` required
# Repositories are bare repos under $AZFLUX_GIT_HTTP_REPOS/<org>/<project>/_git/<repo>; the tests
# create them. Prints `export NAME=value` lines on stdout; logs go to stderr.
# Needs: apt-get install -y lighttpd git
# Env: AZFLUX_GIT_SERVERS_DIR (default /tmp/azflux-git-servers), AZFLUX_GIT_HTTP_PORT (default 18417).
set -euo pipefail

base_dir=${AZFLUX_GIT_SERVERS_DIR:-/tmp/azflux-git-servers}
dir="$base_dir/http"
port=${AZFLUX_GIT_HTTP_PORT:-18417}
mkdir -p "$dir/repos" "$dir/www"
chmod 700 "$dir"

command -v lighttpd >/dev/null || { echo "lighttpd is not installed: apt-get install -y lighttpd" >&2; exit 1; }
git_exec=$(git --exec-path)
backend="$git_exec/git-http-backend"
[ -x "$backend" ] || { echo "git http-backend not found at $backend" >&2; exit 1; }

# Credentials: generated once, kept in the state directory (0600).
if [ ! -s "$dir/secrets.env" ]; then
  umask 077
  pw=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  tok=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)
  printf 'user=azflux\npassword=%s\ntoken=%s\n' "$pw" "$tok" > "$dir/secrets.env"
fi
user=$(sed -n 's/^user=//p' "$dir/secrets.env")
password=$(sed -n 's/^password=//p' "$dir/secrets.env")
token=$(sed -n 's/^token=//p' "$dir/secrets.env")
( umask 077; printf '%s:%s\n' "$user" "$password" > "$dir/users" )

running=false
if [ -s "$dir/lighttpd.pid" ] && kill -0 "$(cat "$dir/lighttpd.pid")" 2>/dev/null; then
  running=true
fi

if ! $running; then
  cat > "$dir/lighttpd.conf" <<CONF
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = $port
server.pid-file = "$dir/lighttpd.pid"
server.errorlog = "$dir/error.log"
# Without this, pushes larger than 1 MiB get 411 (chunked request bodies to CGI).
server.stream-request-body = 0
server.modules += ("mod_alias", "mod_setenv", "mod_access", "mod_auth", "mod_authn_file", "mod_cgi")
auth.backend = "plain"
auth.backend.plain.userfile = "$dir/users"
setenv.add-environment = (
  "GIT_PROJECT_ROOT" => "$dir/repos",
  "GIT_HTTP_EXPORT_ALL" => "1",
  "GIT_CONFIG_COUNT" => "2",
  "GIT_CONFIG_KEY_0" => "http.receivepack",
  "GIT_CONFIG_VALUE_0" => "true",
  "GIT_CONFIG_KEY_1" => "receive.denyNonFastForwards",
  "GIT_CONFIG_VALUE_1" => "true",
)
\$HTTP["url"] =~ "^/basic/" {
  alias.url = ("/basic" => "$backend")
  cgi.assign = ("" => "")
  auth.require = ("" => ("method" => "basic", "realm" => "azflux-git", "require" => "valid-user"))
}
\$HTTP["url"] =~ "^/bearer/" {
  alias.url = ("/bearer" => "$backend")
  cgi.assign = ("" => "")
  \$REQUEST_HEADER["Authorization"] != "Bearer $token" {
    url.access-deny = ("")
  }
}
CONF
  chmod 600 "$dir/lighttpd.conf"
  lighttpd -tt -f "$dir/lighttpd.conf" >&2
  lighttpd -f "$dir/lighttpd.conf"
  for _ in $(seq 1 50); do
    if [ -s "$dir/lighttpd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      break
    fi
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "lighttpd did not start; see $dir/error.log" >&2; exit 1; }
  echo "git http server started on 127.0.0.1:$port" >&2
else
  echo "git http server already running on 127.0.0.1:$port" >&2
fi

cat <<OUT
export AZFLUX_GIT_HTTP_URL=http://127.0.0.1:$port/basic
export AZFLUX_GIT_HTTP_BEARER_URL=http://127.0.0.1:$port/bearer
export AZFLUX_GIT_HTTP_USER=$user
export AZFLUX_GIT_HTTP_PASSWORD=$password
export AZFLUX_GIT_HTTP_BEARER_TOKEN=$token
export AZFLUX_GIT_HTTP_REPOS=$dir/repos
OUT

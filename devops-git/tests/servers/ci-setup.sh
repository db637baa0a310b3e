# Sourced by .ci/run: installs and starts the real git servers devops-git's tests push to
# (git http-backend behind lighttpd with basic auth, and sshd with a forced git command), and exports
# the AZFLUX_GIT_HTTP_* / AZFLUX_SSHD_* variables the tests read.
_azflux_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_azflux_need=()
for p in libssl-dev pkg-config lighttpd openssh-server openssh-client git; do
  dpkg -s "$p" >/dev/null 2>&1 || _azflux_need+=("$p")
done
if [ ${#_azflux_need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${_azflux_need[@]}" >/dev/null
fi
eval "$(bash "$_azflux_here/start-git-http.sh")"
eval "$(bash "$_azflux_here/start-sshd.sh")"
unset _azflux_here _azflux_need

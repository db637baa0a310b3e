#!/usr/bin/env bash
# Starts (idempotently) OpenSSH sshd on 127.0.0.1 for the devops-git tests, shaped like Azure
# DevOps SSH: user `git`, public-key auth only with RSA-SHA2 (rsa-sha2-512/256; no SHA-1 ssh-rsa
# signatures) or ECDSA/ed25519 keys, an RSA host key, and a forced command mapping
# `git-upload-pack '/v3/<org>/<project>/<repo>'` to the bare repository
# $AZFLUX_SSHD_REPOS/<org>/<project>/<repo>.git (created by the tests, owned by `git`).
# Tests add their generated public keys to $AZFLUX_SSHD_AUTHORIZED_KEYS.
# Prints `export NAME=value` lines on stdout; logs go to stderr. Must run as root.
# Needs: apt-get install -y openssh-server git
# Env: AZFLUX_GIT_SERVERS_DIR (default /tmp/azflux-git-servers), AZFLUX_SSHD_PORT (default 18422).
set -euo pipefail

base_dir=${AZFLUX_GIT_SERVERS_DIR:-/tmp/azflux-git-servers}
dir="$base_dir/sshd"
port=${AZFLUX_SSHD_PORT:-18422}
sshd_bin=$(command -v sshd || echo /usr/sbin/sshd)
[ -x "$sshd_bin" ] || { echo "sshd is not installed: apt-get install -y openssh-server" >&2; exit 1; }
git_bin=$(command -v git) || { echo "git is not installed" >&2; exit 1; }

# The `git` user: a real shell (ForceCommand runs through it) and an unlocked password field
# (sshd refuses locked accounts even for key auth).
if ! id git >/dev/null 2>&1; then
  useradd --system --create-home --home-dir /var/lib/azflux-git --shell /bin/sh git
fi
usermod -p '*' git
mkdir -p /run/sshd "$dir/repos"
chmod 755 "$base_dir" "$dir"
chown git:git "$dir/repos"
touch "$dir/authorized_keys"
chown git:git "$dir/authorized_keys"
chmod 644 "$dir/authorized_keys"
[ -s "$dir/ssh_host_rsa_key" ] || ssh-keygen -q -t rsa -b 3072 -N '' -f "$dir/ssh_host_rsa_key"

cat > "$dir/git-forced-command.sh" <<CMD
#!/bin/sh
# Maps Azure DevOps SSH paths /v3/<org>/<project>/<repo> to bare repositories.
err() { msg="ERR \$1"; printf '%04x%s' \$((\${#msg} + 4)) "\$msg"; exit 1; }
cmd=\${SSH_ORIGINAL_COMMAND:-}
verb=\${cmd%% *}
arg=\${cmd#* }
arg=\$(printf '%s' "\$arg" | sed "s/^'//; s/'\$//")
case "\$verb" in
  git-upload-pack|git-receive-pack|git-upload-archive) ;;
  *) echo "remote: Shell access is not supported." >&2; exit 1 ;;
esac
path=\${arg#/}
case "\$path" in
  *..*) err "invalid repository path" ;;
  v3/*/*/*) ;;
  *) err "repository not found: expected /v3/<org>/<project>/<repo>" ;;
esac
rest=\${path#v3/}
case "\$rest" in */*/*/*) err "repository not found: expected /v3/<org>/<project>/<repo>" ;; esac
repo="$dir/repos/\$rest.git"
[ -d "\$repo" ] || err "repository not found: /\$path"
exec "$git_bin" -c receive.denyNonFastForwards=true "\${verb#git-}" "\$repo"
CMD
chmod 755 "$dir/git-forced-command.sh"

running=false
if [ -s "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
  running=true
fi
if ! $running; then
  cat > "$dir/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $dir/ssh_host_rsa_key
HostKeyAlgorithms rsa-sha2-512,rsa-sha2-256
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PubkeyAcceptedAlgorithms rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ssh-ed25519
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers git
StrictModes no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PermitUserEnvironment no
ForceCommand $dir/git-forced-command.sh
LogLevel VERBOSE
CONF
  "$sshd_bin" -t -f "$dir/sshd_config"
  "$sshd_bin" -f "$dir/sshd_config" -E "$dir/sshd.log"
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "sshd did not start; see $dir/sshd.log" >&2; exit 1; }
  echo "sshd started on 127.0.0.1:$port" >&2
else
  echo "sshd already running on 127.0.0.1:$port" >&2
fi

# known_hosts line for the non-22 port, as fluxcd/pkg writes it.
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/ssh_host_rsa_key.pub")" > "$dir/known_hosts"

cat <<OUT
export AZFLUX_SSHD_HOST=127.0.0.1
export AZFLUX_SSHD_PORT=$port
export AZFLUX_SSHD_REPOS=$dir/repos
export AZFLUX_SSHD_AUTHORIZED_KEYS=$dir/authorized_keys
export AZFLUX_SSHD_KNOWN_HOSTS=$dir/known_hosts
export AZFLUX_SSHD_GIT_USER=git
OUT

# Sourced by .ci/run: installs the real servers and clients acr-oci's tests drive, and exports where they are.
# The tests start docker-registry themselves (bound to 127.0.0.1, on a free port, with `auth: token` whose
# rootcertbundle is the certificate of the fake ACR token service each test starts), so nothing runs here.
#   AZFLUX_DOCKER_REGISTRY  the docker-registry binary (distribution 2.8.x)
#   AZFLUX_SKOPEO           the skopeo binary (benchmark peer)
#   AZFLUX_HELM_PYTHON      a python with `helm-python-sdk` (Helm v4 behind ctypes) importable
#   AZFLUX_ORAS_PYTHON      a python with `oras` (oras-py, pinned) importable: the Flux artifact peer
# Idempotent: installs only what is missing.
_azflux_acr_need=()
for p in docker-registry skopeo; do
  dpkg -s "$p" >/dev/null 2>&1 || _azflux_acr_need+=("$p")
done
if [ ${#_azflux_acr_need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${_azflux_acr_need[@]}" >/dev/null
fi
# Debian enables the packaged registry service; the tests run their own, so keep the default one off :5000.
if command -v systemctl >/dev/null 2>&1; then systemctl stop docker-registry >/dev/null 2>&1 || true; fi
_azflux_acr_venv="${AZFLUX_HELM_VENV:-/opt/azflux/helm-venv}"
if [ ! -x "$_azflux_acr_venv/bin/python" ] || ! "$_azflux_acr_venv/bin/python" -c 'import helm_python' >/dev/null 2>&1; then
  if ! python3 -m venv "$_azflux_acr_venv" >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv python3-pip >/dev/null
    python3 -m venv "$_azflux_acr_venv"
  fi
  "$_azflux_acr_venv/bin/pip" install -q helm-python-sdk
fi
_azflux_oras_venv="${AZFLUX_ORAS_VENV:-/opt/azflux/oras-venv}"
if [ ! -x "$_azflux_oras_venv/bin/python" ] || ! "$_azflux_oras_venv/bin/python" -c 'import oras.provider' >/dev/null 2>&1; then
  python3 -m venv "$_azflux_oras_venv"
  "$_azflux_oras_venv/bin/pip" install -q 'oras==0.2.43'
fi
export AZFLUX_ORAS_PYTHON="$_azflux_oras_venv/bin/python"
export AZFLUX_DOCKER_REGISTRY="$(command -v docker-registry || echo /usr/bin/docker-registry)"
export AZFLUX_SKOPEO="$(command -v skopeo || echo /usr/bin/skopeo)"
export AZFLUX_HELM_PYTHON="$_azflux_acr_venv/bin/python"
unset _azflux_acr_need _azflux_acr_venv _azflux_oras_venv

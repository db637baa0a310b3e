# Sourced by .ci/run: creates (once) the Python virtualenv with the official Azure SDK clients that
# aks-cluster's `python_sdk` test drives against the fake cloud, and exports AZFLUX_PY_VENV.
# Idempotent: an existing venv that already imports the packages is reused.
_azflux_aks_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export AZFLUX_PY_VENV="${AZFLUX_PY_VENV:-$_azflux_aks_root/target/aks-cluster-pyvenv}"
if ! "$AZFLUX_PY_VENV/bin/python" -c 'import azure.mgmt.containerservice, azure.mgmt.msi, azure.identity' >/dev/null 2>&1; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  python3 -m venv "$AZFLUX_PY_VENV"
  "$AZFLUX_PY_VENV/bin/python" -m pip install -q --disable-pip-version-check \
    azure-mgmt-containerservice azure-mgmt-msi azure-identity
fi
unset _azflux_aks_root

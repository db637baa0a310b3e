# Sourced by .ci/run: creates (once) the virtualenvs of the foreign clients the fake cloud is tested with —
# the az CLI and the official Python SDKs, at pinned PyPI versions — and exports AZFLUX_FOREIGN_VENV.
#   $AZFLUX_FOREIGN_VENV/az   azure-cli (it pins its own SDK versions, which conflict with the newest ones)
#   $AZFLUX_FOREIGN_VENV/sdk  the management/data-plane SDKs, azure-identity and azure-devops
# Idempotent: a venv whose stamp matches the pins is reused. Cold install measured at ~110 s (az ~90 s,
# sdk ~19 s) on the 2-core build machine.
_azflux_x_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export AZFLUX_FOREIGN_VENV="${AZFLUX_FOREIGN_VENV:-$_azflux_x_root/target/foreign-venv}"
_azflux_az_pins="azure-cli==2.91.0"
_azflux_sdk_pins="azure-mgmt-resource==26.0.0 azure-mgmt-containerservice==41.9.0 azure-mgmt-msi==7.1.0 \
azure-mgmt-authorization==4.0.0 azure-mgmt-containerregistry==15.0.0 azure-mgmt-keyvault==14.1.0 \
azure-mgmt-eventhub==12.0.0 azure-keyvault-keys==4.11.3 azure-identity==1.27.0 azure-devops==7.1.0b4"
_azflux_venv() { # name pins...
  local dir="$AZFLUX_FOREIGN_VENV/$1"; shift
  if [ "$(cat "$dir/.azflux-pins" 2>/dev/null)" = "$*" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  fi
  rm -rf "$dir"
  python3 -m venv "$dir"
  # shellcheck disable=SC2068
  "$dir/bin/python" -m pip install -q --disable-pip-version-check $@ && echo "$*" > "$dir/.azflux-pins"
}
_azflux_start=$SECONDS
_azflux_venv az $_azflux_az_pins
_azflux_venv sdk $_azflux_sdk_pins
echo "foreign-client venvs ready in $((SECONDS - _azflux_start)) s: $AZFLUX_FOREIGN_VENV"
unset _azflux_x_root _azflux_az_pins _azflux_sdk_pins _azflux_start
unset -f _azflux_venv

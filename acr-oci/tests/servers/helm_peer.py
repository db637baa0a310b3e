"""Real Helm v4 (the Go SDK behind ctypes, PyPI `helm-python-sdk`) as a peer for acr-oci's tests.

helm-python-sdk loads `helm_python/lib/libhelm_c.so` shipped inside the wheel (or the file/directory named by
HELM_C_LIB), so no `helm` binary is needed. Commands (credentials from HELM_PEER_{HOST,USER,PASSWORD,CREDS}):
  package NAME VERSION WORKDIR      helm create + helm package; prints the .tgz path
  push TGZ oci://HOST/PATH          helm registry login + helm push; prints the result JSON
  pull oci://HOST/PATH/NAME VERSION DEST   helm pull --version; prints the result JSON
"""
import json
import os
import sys

from helm_python import chart as hchart
from helm_python.registry import RegistryClient


def client():
    c = RegistryClient(plain_http=True, credentials_file=os.environ["HELM_PEER_CREDS"])
    c.login(os.environ["HELM_PEER_HOST"], os.environ["HELM_PEER_USER"],
            os.environ["HELM_PEER_PASSWORD"], plain_http=True)
    return c


def main(argv):
    cmd = argv[1]
    if cmd == "package":
        name, version, work = argv[2:5]
        hchart.Chart.create(name, work)
        print(hchart.package(os.path.join(work, name), destination=work, version=version))
    elif cmd == "push":
        with client() as c:
            print(json.dumps(c.push(argv[2], argv[3], plain_http=True)))
    elif cmd == "pull":
        with client() as c:
            print(json.dumps(c.pull(argv[2], version=argv[3], destination=argv[4], plain_http=True)))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv)
